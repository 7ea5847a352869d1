#!/usr/bin/env python3
"""Django's side of the password reset token interop test.

Usage: tokens.py CONFIG_JSON
    CONFIG_JSON: {"secret_key": str, "fallbacks": [str], "timeout": int seconds}
                 (fallbacks and timeout optional: [] and Django's default)

Then one JSON request a line on stdin, one JSON answer a line on stdout:
    {"op": "make", "user": USER, "now": NOW?}           -> {"token": str}
    {"op": "check", "user": USER, "token": str, "now": NOW?} -> {"valid": bool}
    {"op": "uid", "pk": str}                            -> {"uidb64": str}
USER is {"pk": int|str, "password": str, "last_login": ISO 8601 with offset | null,
"email": str}, an unsaved django.contrib.auth User (no database is needed). NOW is a
naive ISO 8601 UTC time; without it Django's own clock is used, through
`default_token_generator`. A request that fails gets {"error": str}.

The process clock is set to UTC (Django's generator reads `datetime.now()`, local
time), as batteries' timestamps are UTC.
"""
import json
import os
import sys
import time
from datetime import datetime


def configure(config):
    os.environ["TZ"] = "UTC"
    time.tzset()
    import django
    from django.conf import settings

    options = {
        "SECRET_KEY": config["secret_key"],
        "SECRET_KEY_FALLBACKS": config.get("fallbacks", []),
        "USE_TZ": True,
        "TIME_ZONE": "UTC",
        "INSTALLED_APPS": ["django.contrib.auth", "django.contrib.contenttypes"],
    }
    if "timeout" in config:
        options["PASSWORD_RESET_TIMEOUT"] = config["timeout"]
    settings.configure(**options)
    django.setup()


def answer(request):
    from django.contrib.auth.models import User
    from django.contrib.auth.tokens import (
        PasswordResetTokenGenerator,
        default_token_generator,
    )
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    op = request["op"]
    if op == "uid":
        return {"uidb64": urlsafe_base64_encode(force_bytes(request["pk"]))}

    fields = request["user"]
    last_login = fields.get("last_login")
    user = User(
        pk=fields["pk"],
        password=fields["password"],
        last_login=datetime.fromisoformat(last_login) if last_login else None,
        email=fields.get("email", ""),
    )
    generator = default_token_generator
    if request.get("now"):
        now = datetime.fromisoformat(request["now"])

        class At(PasswordResetTokenGenerator):
            def _now(self):
                return now

        generator = At()
    if op == "make":
        return {"token": generator.make_token(user)}
    if op == "check":
        return {"valid": generator.check_token(user, request["token"])}
    raise ValueError(f"unknown op {op!r}")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    configure(json.loads(sys.argv[1]))
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = answer(json.loads(line))
        except Exception as e:  # the Rust side shows it
            reply = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
