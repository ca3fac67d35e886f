"""Task functions: plain functions that use the Django ORM (imported after ``setup:``)."""

from __future__ import annotations

from notes.models import Visit


def record_visit(source: str) -> int:
    """Write one row; return its id."""
    return int(Visit.objects.create(source=source).pk)


def count_visits() -> int:
    return int(Visit.objects.count())
