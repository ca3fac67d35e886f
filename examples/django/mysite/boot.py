"""What jobs.yaml's ``setup:`` and hooks call: Django set up before any model is imported."""

from __future__ import annotations

import os
from typing import Any


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    import django

    django.setup()


def close_connections(*args: Any) -> None:
    """As Django does around each request: drop connections that are broken or too old.

    A pre_execute hook gets the task, a post_execute hook the task, its value and its
    exception; neither matters here.
    """
    from django.db import close_old_connections

    close_old_connections()
