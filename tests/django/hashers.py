#!/usr/bin/env python3
"""Django's side of the password-hasher interop test.

Reads one JSON object on stdin and prints one on stdout:

    {"make":  [{"algorithm": "argon2", "password": "...", "cost": "low" | "default"}],
     "check": [{"password": "...", "encoded": "..."}]}

    {"django": "5.2.19",
     "missing": ["argon2-cffi", ...],        # libraries Django's hashers need but lack
     "made":    [{"encoded": "..."} | {"error": "..."}],
     "checked": [{"valid": bool, "must_update": bool} | {"error": "..."}]}

`make` uses Django's own hasher classes. With "cost": "low" it uses subclasses that
only lower the work factors (the encoded format is Django's, unchanged), to keep the
test fast. `check` runs `django.contrib.auth.hashers.check_password` with every
hasher installed, and reports the hasher's `must_update` for Django's default costs.
"""
import importlib.util
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
    settings.configure(PASSWORD_HASHERS=HASHERS, USE_TZ=True)
    django.setup()
    from django.contrib.auth import hashers as h

    class LowPBKDF2(h.PBKDF2PasswordHasher):
        iterations = 1000

    class LowPBKDF2SHA1(h.PBKDF2SHA1PasswordHasher):
        iterations = 1000

    class LowArgon2(h.Argon2PasswordHasher):
        time_cost = 1
        memory_cost = 1024
        parallelism = 2

    class LowBCryptSHA256(h.BCryptSHA256PasswordHasher):
        rounds = 4

    class LowBCrypt(h.BCryptPasswordHasher):
        rounds = 4

    class LowScrypt(h.ScryptPasswordHasher):
        work_factor = 2**10
        parallelism = 1

    hashers = {
        "default": {cls().algorithm: cls() for cls in (
            h.PBKDF2PasswordHasher, h.PBKDF2SHA1PasswordHasher, h.Argon2PasswordHasher,
            h.BCryptSHA256PasswordHasher, h.BCryptPasswordHasher, h.ScryptPasswordHasher,
            h.MD5PasswordHasher,
        )},
        "low": {cls().algorithm: cls() for cls in (
            LowPBKDF2, LowPBKDF2SHA1, LowArgon2, LowBCryptSHA256, LowBCrypt, LowScrypt,
            h.MD5PasswordHasher,
        )},
    }

    request = json.load(sys.stdin)
    made = []
    for item in request.get("make", []):
        hasher = hashers[item.get("cost", "low")][item["algorithm"]]
        try:
            made.append({"encoded": h.make_password(item["password"], hasher=hasher)})
        except Exception as e:  # noqa: BLE001 - reported to the Rust side
            made.append({"error": f"{type(e).__name__}: {e}"})

    checked = []
    for item in request.get("check", []):
        try:
            valid = h.check_password(item["password"], item["encoded"])
            must_update = h.identify_hasher(item["encoded"]).must_update(item["encoded"])
            checked.append({"valid": valid, "must_update": must_update})
        except Exception as e:  # noqa: BLE001
            checked.append({"error": f"{type(e).__name__}: {e}"})

    missing = [
        package
        for module, package in (("argon2", "argon2-cffi"), ("bcrypt", "bcrypt"))
        if importlib.util.find_spec(module) is None
    ]
    json.dump(
        {"django": django.get_version(), "missing": missing, "made": made, "checked": checked},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
