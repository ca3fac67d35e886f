"""The example's model: one row per visit recorded by a task."""

from __future__ import annotations

from django.db import models


class Visit(models.Model):
    source = models.CharField(max_length=100)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.source} at {self.created:%Y-%m-%d %H:%M:%S}"
