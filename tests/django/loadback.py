#!/usr/bin/env python3
"""Load a fixture into a fresh Django DB and print `dumpdata blog` to stdout.

Usage: loadback.py FIXTURE_PATH   (the path must end in .json)

Used by the Rust interop test: Rust dumps tests/data/django_blog.json, this
script loads that dump with Django's `loaddata`, and the Rust test compares
our JSON stdout with the original file. Exit 0 on success; on any failure a
one-line error goes to stderr and the exit status is 1.
"""
import io
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(fixture):
    sys.path.insert(0, str(HERE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "djangoproj.settings"
    with tempfile.TemporaryDirectory(prefix="batteries-django-") as tmp:
        os.environ["BATTERIES_DJANGO_DB"] = os.path.join(tmp, "db.sqlite3")
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("loaddata", fixture, verbosity=0)
        out = io.StringIO()
        call_command("dumpdata", "blog", stdout=out)
        return out.getvalue()


def main():
    if len(sys.argv) != 2:
        print("usage: loadback.py FIXTURE_PATH", file=sys.stderr)
        return 1
    fixture = os.path.abspath(sys.argv[1])
    try:
        dumped = run(fixture)
    except Exception as exc:  # report anything as one readable line
        msg = str(exc)
        cause = exc.__cause__ or exc.__context__
        if cause is not None and str(cause) not in msg:
            msg += f" ({type(cause).__name__}: {cause})"
        msg = " ".join(msg.split()) or repr(exc)
        print(f"loadback: {type(exc).__name__}: {msg}", file=sys.stderr)
        return 1
    sys.stdout.write(dumped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
