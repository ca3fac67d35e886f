"""The one exception tree of jobrunner.

Every error jobrunner raises on purpose derives from :class:`JobRunnerError`; the
CLI maps the tree to exit codes in one place (``jobrunner.cli._exit``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One problem found in a configuration file, with where it is.

    ``path`` is the dotted config path (``tasks.count_beans.retries``); ``line`` and
    ``column`` are 1-based and 0 when unknown (an empty file, a missing file).
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = None
    severity: str = "error"

    def format(self) -> str:
        """The ``file:line:col: path: message`` form, with the hint on its own line."""
        where = self.file
        if self.line:
            where = f"{where}:{self.line}:{self.column}"
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        body = f"{self.path}: {self.message}" if self.path else self.message
        text = f"{where}: {prefix}{body}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
        }


MAX_SHOWN = 100
"""Problems printed for one file; a count says how many more there are."""


def format_issues(issues: Sequence[Issue], total: int | None = None) -> list[str]:
    """The formatted lines of the first :data:`MAX_SHOWN` issues, then a count of the rest."""
    lines = [issue.format() for issue in issues[:MAX_SHOWN]]
    hidden = (len(issues) if total is None else total) - len(lines)
    if hidden > 0:
        lines.append(f"... and {hidden:,} more problem{'s' if hidden != 1 else ''} not shown")
    return lines


class JobRunnerError(Exception):
    """Base class of every error jobrunner raises on purpose."""


class ConfigError(JobRunnerError):
    """A configuration file is missing, unreadable or invalid.

    ``issues`` holds every problem found, not only the first one.
    """

    def __init__(self, issues: Sequence[Issue], *, omitted: int = 0) -> None:
        self.issues = tuple(issues)
        # Problems found but not kept (a file of a million repeated keys): counted only.
        self.omitted = omitted
        super().__init__(self.format())

    @property
    def count(self) -> int:
        """How many problems were found, shown or not."""
        return len(self.issues) + self.omitted

    def format(self) -> str:
        """The first :data:`MAX_SHOWN` problems, then how many more there are."""
        return "\n".join(format_issues(self.issues, self.count))

    @classmethod
    def single(
        cls,
        file: str,
        message: str,
        *,
        path: str = "",
        line: int = 0,
        column: int = 0,
        hint: str | None = None,
    ) -> ConfigError:
        return cls([Issue(file, line, column, path, message, hint)])


class UnknownNameError(JobRunnerError, LookupError):
    """A task, schedule or instance name that the configuration does not define."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.known = sorted(known)
        listed = ", ".join(self.known) or "none"
        close = difflib.get_close_matches(name, self.known, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        super().__init__(
            f"no {kind} named {name!r} in the configuration; {guess}known {kind}s: {listed}"
        )


class RunnerError(JobRunnerError):
    """The runner could not start or keep running its consumers."""


class StorageError(JobRunnerError):
    """An instance's storage cannot be reached, opened or does not exist (an unwritable
    folder, a full disk); the message holds no secret."""


class StorageMissingError(StorageError):
    """A storage that no consumer or producer has created yet (a SQLite file, a queue
    folder or huey's PostgreSQL tables), met by a command that only reads and so must not
    create it."""


class BulkEnqueueError(JobRunnerError):
    """A bulk enqueue (``.map()``) stopped part-way: the first ``enqueued`` tasks are enqueued.

    ``results`` holds their results, in order; ``pending`` the tasks that are not enqueued
    (each keeps its id), to send again with ``app.huey(...).enqueue`` or a new ``.map()`` of
    the remaining items. A batch whose answer was lost is sent once more, which writes it at
    most once and tells whether it was; only when that second attempt fails too are its
    ``uncertain`` tasks (the first of ``pending``) of unknown fate.
    """

    def __init__(
        self,
        enqueued: int,
        total: int,
        results: Sequence[object],
        pending: Sequence[object],
        cause: BaseException,
        uncertain: int = 0,
    ) -> None:
        self.enqueued = enqueued
        self.uncertain = uncertain
        self.total = total
        self.results = list(results)
        self.pending = list(pending)
        super().__init__(
            f"bulk enqueue stopped after {enqueued} of {total} task(s): "
            f"{type(cause).__name__}: {cause}; the first {enqueued} are enqueued, "
            + (
                f"the next {uncertain} may or may not be (the storage did not answer), "
                f"the other {total - enqueued - uncertain} are not"
                if uncertain
                else f"the other {total - enqueued} are not"
            )
        )


__all__ = [
    "BulkEnqueueError",
    "ConfigError",
    "Issue",
    "JobRunnerError",
    "RunnerError",
    "StorageError",
    "UnknownNameError",
]
