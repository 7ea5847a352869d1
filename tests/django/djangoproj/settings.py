"""Minimal Django settings for the batteries fixture-interop test.

Only the ORM is used (no HTTP). The SQLite file comes from the
BATTERIES_DJANGO_DB environment variable; the helper scripts set it to a
fresh temporary file on every run.
"""
import os
import tempfile

# Fixed dummy key: this project never serves requests.
SECRET_KEY = "batteries-fixture-interop-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = []

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "blog",
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "BATTERIES_DJANGO_DB",
            os.path.join(tempfile.gettempdir(), "batteries_django.sqlite3"),
        ),
    }
}

USE_TZ = True
TIME_ZONE = "UTC"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
