#!/usr/bin/env python3
"""Django's command-line utility for the batteries interop test project."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    # Work from any cwd: make djangoproj/ and blog/ importable.
    sys.path.insert(0, HERE)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangoproj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
