"""How ``jobrunner run`` writes its log: readable text lines, or one JSON object per line.

The JSON form is for log collectors: ``time`` (ISO 8601, UTC), ``level``, ``logger``,
``message``, ``exception`` when there is a traceback, and ``instance``, ``task``,
``id`` and ``schedule`` where the record has one. Those come from a record's
``extra`` fields, or from the huey ``Task`` its message is about (huey logs
"Executing %s" with the task itself): work done only when a JSON line is written,
so the text format costs the worker nothing more.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_CONTEXT = ("instance", "task", "id", "schedule")
_TASK_PREFIX = "jobrunner.tasks."
_SCHEDULE_PREFIX = "jobrunner.schedules."


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in a message are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_context(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _context(record: logging.LogRecord) -> dict[str, Any]:
    found = {key: getattr(record, key) for key in _CONTEXT if hasattr(record, key)}
    args = record.args if isinstance(record.args, tuple) else ()
    for arg in args:
        name = getattr(arg, "name", None)
        task_id = getattr(arg, "id", None)
        if not isinstance(name, str) or task_id is None:
            continue  # not a huey Task
        found.setdefault("id", task_id)
        if name.startswith(_SCHEDULE_PREFIX):
            found.setdefault("schedule", name.removeprefix(_SCHEDULE_PREFIX))
        else:
            found.setdefault("task", name.removeprefix(_TASK_PREFIX))
        config = getattr(arg, "task_config", None) or getattr(arg, "schedule_config", None)
        instance = getattr(config, "instance", None)
        if isinstance(instance, str):
            found.setdefault("instance", instance)
        break
    message = record.msg if isinstance(record.msg, str) else ""
    if "id" not in found and message.startswith("Task %s") and args:
        found["id"] = args[0]  # huey's "Task %s ..." lines name the task by its id alone
    # jobrunner's own lines start with what they are about: "schedule %s: ...".
    subject = message.partition(" %s")[0]
    if subject in ("instance", "schedule", "task") and args and subject not in found:
        found[subject] = args[0]
    return found


_HANDLER_NAME = "jobrunner"


def configure_logging(format: str = "text", level: str = "info") -> None:
    """Log to standard error in ``format`` (text or json) from ``level`` on.

    Called again once the file's ``logging:`` is known: the one handler it installed
    is changed, not doubled.
    """
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if format == "json" else logging.Formatter(TEXT_FORMAT))
    root.setLevel(level.upper())
    # Python's warnings would otherwise be written to standard error as they are, not as
    # JSON lines.
    logging.captureWarnings(format == "json")
