"""Why a message cannot run: read it the way huey does, in two guarded steps.

huey's ``deserialize_task`` is ``serializer.deserialize`` then
``registry.create_task``. Doing the two steps apart tells the three reasons for a
dead letter apart: a bad signature (refused before anything is unpickled), data
that cannot be deserialized, and a task this consumer does not know (the message
was readable, so its task name is kept to show and to requeue it later). The enqueue
time ahead of the message (``jobrunner/_enqueue_stamp.py``) goes on the task as
``enqueued_at``, as the huey object's ``deserialize_task`` does it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import huey
from huey.api import Task
from huey.exceptions import HueyException
from huey.registry import Message
from huey.serializer import SignedSerializer

from jobrunner._enqueue_stamp import split

BAD_SIGNATURE = "bad signature: not signed with this instance's secret (refused unread)"
UNKNOWN_TASK = "unknown task"
UNREADABLE = "cannot be deserialized"

_MAX_DETAIL = 200


@dataclass(frozen=True)
class Opened:
    """A message read: its task, or why it is a dead letter (and its task name if known)."""

    task: Task | None
    name: str | None = None
    reason: str | None = None


def open_message(app_huey: huey.Huey, data: bytes) -> Opened:
    """The task in ``data``, or the reason it must go to the dead letters."""
    serializer = app_huey.serializer
    try:
        enqueued_at, data = split(data)
        message: Any = serializer.deserialize(data)
    except Exception as exc:
        return Opened(None, None, _unreadable(serializer, exc))
    if not isinstance(message, Message):
        return Opened(None, None, f"{UNREADABLE}: not a huey message ({type(message).__name__})")
    name = message.name if isinstance(message.name, str) else None
    try:
        task: Task = app_huey._registry.create_task(message)
    except HueyException as exc:
        missing = str(exc).removesuffix(" not found in TaskRegistry")
        return Opened(None, name, f"{UNKNOWN_TASK} {missing}")
    except Exception as exc:
        return Opened(None, name, f"{UNREADABLE}: {_detail(exc)}")
    task.enqueued_at = enqueued_at
    return Opened(task)


def _unreadable(serializer: Any, exc: Exception) -> str:
    # SignedSerializer checks the HMAC before unpickling and raises ValueError
    # ("Separator ... not found" / "Signature ... mismatch!") when it fails.
    if (
        isinstance(serializer, SignedSerializer)
        and isinstance(exc, ValueError)
        and str(exc).startswith(("Separator", "Signature"))
    ):
        return BAD_SIGNATURE
    return f"{UNREADABLE}: {_detail(exc)}"


def _detail(exc: Exception) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 3] + "..."


def short_task_name(name: str | None) -> str:
    """``jobrunner.tasks.send_report`` -> ``send_report`` (the YAML key); ``-`` when unknown."""
    if not name:
        return "-"
    from jobrunner.factory import TASK_PREFIX

    return name.removeprefix(TASK_PREFIX + ".")
