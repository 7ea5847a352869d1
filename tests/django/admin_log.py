#!/usr/bin/env python3
"""Django's side of the admin history interop test: Django's `LogEntry` reading the
`django_admin_log` rows batteries wrote, and writing rows for batteries to read.

The database is never migrated by Django here: batteries' migrations made the tables.

Usage (one JSON value on stdout):
    admin_log.py texts             read a JSON list of stored change messages on stdin;
                                   print LogEntry.get_change_message() of each
    admin_log.py read URL CT OBJ   the history of object OBJ of content type id CT, in
                                   the order of Django's history page (action_time)
    admin_log.py write URL USER    log, through LogEntry.objects.log_actions, a change of
                                   user USER, then the deletion of every user (one bulk
                                   insert); print the content type id and USER's id

URL is sqlite:///abs/path.sqlite3, postgres://user@host:port/db or mysql://user@host:port/db.
"""
import json
import sys

from auth_db import database_settings


def configure(url):
    import django
    from django.conf import settings

    settings.configure(
        DATABASES={"default": database_settings(url)},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.admin",
        ],
        USE_TZ=True,
        TIME_ZONE="UTC",
        LANGUAGE_CODE="en-us",
        SECRET_KEY="batteries-interop-test-key",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()


def texts(stored):
    from django.contrib.admin.models import LogEntry

    out = []
    for message in stored:
        try:
            out.append(LogEntry(change_message=message).get_change_message())
        except Exception as exc:  # Django raises on malformed JSON messages
            out.append({"error": type(exc).__name__})
    return out


def read(content_type_id, object_id):
    from django.contrib.admin.models import LogEntry

    # As ModelAdmin.history_view queries it.
    entries = (
        LogEntry.objects.filter(object_id=object_id, content_type_id=content_type_id)
        .select_related()
        .order_by("action_time")
    )
    return [
        {
            "action_time": entry.action_time.isoformat(),
            "username": entry.user.username,
            "action_flag": entry.action_flag,
            "object_repr": entry.object_repr,
            "change_message": entry.change_message,
            "text": entry.get_change_message(),
        }
        for entry in entries
    ]


def write(username):
    from django.contrib.admin.models import CHANGE, DELETION, LogEntry
    from django.contrib.auth.models import User
    from django.contrib.contenttypes.models import ContentType

    user = User.objects.get(username=username)
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=User.objects.filter(pk=user.pk),
        action_flag=CHANGE,
        change_message=[
            {"changed": {"fields": ["Email address", "Staff status"]}},
            {"added": {"name": "group", "object": "editors"}},
        ],
    )
    # More than one object: one bulk_create, and Django's empty deletion message.
    LogEntry.objects.log_actions(
        user_id=user.pk,
        queryset=User.objects.order_by("pk"),
        action_flag=DELETION,
    )
    return {
        "content_type_id": ContentType.objects.get_for_model(User).pk,
        "object_id": str(user.pk),
    }


def main(argv):
    if len(argv) < 2 or argv[1] not in ("texts", "read", "write"):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if argv[1] == "texts":
            configure("sqlite:///:memory:")
            result = texts(json.load(sys.stdin))
        elif argv[1] == "read":
            configure(argv[2])
            result = read(int(argv[3]), argv[4])
        else:
            configure(argv[2])
            result = write(argv[3])
    except Exception as exc:  # one readable line for the Rust test
        print(f"admin_log: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
