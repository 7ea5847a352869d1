#!/usr/bin/env python3
"""Regenerate tests/data/django_blog.json with Django's own `dumpdata`.

Builds a fresh temporary SQLite DB, migrates it, inserts a small fixed data
set covering awkward values (non-ASCII, emoji, quotes/HTML, tabs and newlines,
NULL and boundary decimals, max i32, non-contiguous pks), then dumps the
`blog` app. Run from any cwd:
    $HOME/.cache/batteries/venv/bin/python tests/django/make_fixture.py
"""
import datetime
import io
import os
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "data" / "django_blog.json"


def utc(*args):
    return datetime.datetime(*args, tzinfo=datetime.timezone.utc)


def insert_data():
    from blog.models import Author, Post

    zoe = Author.objects.create(pk=1, name="Zoë Ångström", email="zoe@example.com")
    ann = Author.objects.create(pk=2, name="Ann Onymous", email="")
    obrien = Author.objects.create(pk=3, name="Conan O'Brien", email="conan@example.org")

    # Post pks are deliberately non-contiguous so we can see they are kept.
    # Note: Django's JSON encoder truncates microseconds to milliseconds
    # (post 2: .123456 is written as .123). Avoid values like .000999 that
    # truncate to .000: reloaded they would dump as whole seconds.
    Post.objects.create(
        pk=1, author=zoe, title="Héllo wörld — ünïcode", slug="hello-world",
        body="Plain body.", published=True,
        created=utc(2024, 1, 2, 3, 4, 5), rating=Decimal("4.50"), views=0,
    )
    Post.objects.create(
        pk=2, author=zoe, title="Emoji 🦀🐍 post", slug="emoji-post",
        body="Crab 🦀 and snake 🐍.", published=False,
        created=utc(2024, 1, 2, 3, 4, 5, 123456), rating=None, views=1,
    )
    Post.objects.create(
        pk=3, author=obrien,
        title='He said "hi" & it\'s <script>alert(1)</script>', slug="xss-quotes",
        body="Line one\nLine two\tafter a tab\r\nLine three \\ backslash",
        published=True,
        created=utc(2023, 12, 31, 23, 59, 59, 500000), rating=Decimal("0.00"),
        views=2147483647,
    )
    Post.objects.create(
        pk=5, author=ann, title="Max rating", slug="max-rating",
        body="", published=False,
        created=utc(2000, 2, 29, 12, 0, 0), rating=Decimal("999.99"), views=2,
    )
    Post.objects.create(
        pk=8, author=ann, title="Negative rating", slug="negative-rating-8",
        body="Ratings may be negative.", published=True,
        created=utc(1999, 12, 31, 0, 0, 0, 1000), rating=Decimal("-12.34"), views=42,
    )
    Post.objects.create(
        pk=13, author=obrien, title="Ünïcödé title ✓", slug="post-13",
        body="Multi\nline\n\twith tab", published=False,
        created=utc(2024, 6, 30, 18, 30, 0), rating=None, views=0,
    )


def main():
    sys.path.insert(0, str(HERE))
    os.environ["DJANGO_SETTINGS_MODULE"] = "djangoproj.settings"
    with tempfile.TemporaryDirectory(prefix="batteries-django-") as tmp:
        os.environ["BATTERIES_DJANGO_DB"] = os.path.join(tmp, "db.sqlite3")
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        insert_data()
        out = io.StringIO()
        call_command("dumpdata", "blog", indent=2, stdout=out)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = out.getvalue()
    if not text.endswith("\n"):
        text += "\n"
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
