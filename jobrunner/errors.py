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


class JobRunnerError(Exception):
    """Base class of every error jobrunner raises on purpose."""


class ConfigError(JobRunnerError):
    """A configuration file is missing, unreadable or invalid.

    ``issues`` holds every problem found, not only the first one.
    """

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = tuple(issues)
        super().__init__(self.format())

    def format(self) -> str:
        return "\n".join(issue.format() for issue in self.issues)

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
    """An instance's storage cannot be opened (an unwritable folder, a full disk)."""


__all__ = [
    "ConfigError",
    "Issue",
    "JobRunnerError",
    "RunnerError",
    "StorageError",
    "UnknownNameError",
]
