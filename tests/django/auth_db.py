#!/usr/bin/env python3
"""Django's side of the auth interop test: a database that Django's own `migrate`
created, users Django made, and logins Django checks.

Usage (one JSON object on stdout):
    auth_db.py setup URL    migrate contrib.auth on URL, create users, group, permissions
    auth_db.py check URL USERNAME PASSWORD
                            authenticate through Django; list the user's permissions

URL is sqlite:///abs/path.sqlite3, postgres://user@host:port/db or mysql://user@host:port/db.
"""
import json
import sys
from urllib.parse import urlparse


def database_settings(url):
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": parsed.path}
    common = {
        "NAME": parsed.path.lstrip("/"),
        "USER": parsed.username or "",
        "PASSWORD": parsed.password or "",
        "HOST": parsed.hostname or "127.0.0.1",
        "PORT": str(parsed.port or ""),
    }
    if parsed.scheme in ("postgres", "postgresql"):
        return {"ENGINE": "django.db.backends.postgresql", **common}
    if parsed.scheme in ("mysql", "mariadb"):
        # PyMySQL stands in for mysqlclient (no C toolchain needed).
        import pymysql

        pymysql.install_as_MySQLdb()
        import MySQLdb

        MySQLdb.version_info = (2, 2, 7, "final", 0)
        return {"ENGINE": "django.db.backends.mysql", "OPTIONS": {"charset": "utf8mb4"}, **common}
    raise SystemExit(f"unsupported URL scheme {parsed.scheme!r}")


def configure(url):
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": database_settings(url)},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        SECRET_KEY="batteries-interop-test-key",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()


def setup():
    from django.contrib.auth.models import Group, Permission, User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    alice = User.objects.create_user("alice", "alice@example.com", "alice-secret-1")
    editors = Group.objects.create(name="editors")
    editors.permissions.add(Permission.objects.get(codename="view_user"))
    alice.groups.add(editors)
    alice.user_permissions.add(Permission.objects.get(codename="add_group"))
    User.objects.create_user("carol", "carol@example.com", "carol-secret-1", is_active=False)
    User.objects.create_superuser("root", "root@example.com", "root-secret-1")
    return {"alice_hash_algorithm": alice.password.split("$", 1)[0]}


def check(username, password):
    from django.contrib.auth import authenticate
    from django.contrib.auth.models import User

    # The algorithm as stored before Django's login, which re-hashes with Django's
    # preferred hasher.
    algorithm = User.objects.get(username=username).password.split("$", 1)[0]
    user = authenticate(username=username, password=password)
    stored = User.objects.get(username=username)
    return {
        "authenticated": user is not None,
        "permissions": sorted(stored.get_all_permissions()),
        "algorithm": algorithm,
    }


def main(argv):
    if len(argv) < 3 or argv[1] not in ("setup", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    configure(argv[2])
    try:
        result = setup() if argv[1] == "setup" else check(argv[3], argv[4])
    except Exception as exc:  # one readable line for the Rust test
        print(f"auth_db: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
