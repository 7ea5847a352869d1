#!/usr/bin/env python3
"""Django's side of the user admin's password summary check.

Reads a JSON list of encoded password hashes on stdin and prints, for each, what
Django's `ReadOnlyPasswordHashWidget` (the password field of `UserChangeForm`) shows:

    [{"summary": [[label, value or null], ...], "button": "Reset password"}, ...]
"""
import json
import sys

import django
from django.conf import settings

HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.BCryptPasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
]


def main():
    settings.configure(
        PASSWORD_HASHERS=HASHERS,
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    )
    django.setup()
    from django.contrib.auth.forms import ReadOnlyPasswordHashWidget

    widget = ReadOnlyPasswordHashWidget()
    out = []
    for encoded in json.load(sys.stdin):
        context = widget.get_context("password", encoded, {})
        out.append(
            {
                "summary": [
                    [str(e["label"]), str(e["value"]) if "value" in e else None]
                    for e in context["summary"]
                ],
                "button": str(context.get("button_label", "")),
            }
        )
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
