"""The loading pipeline: read -> interpolate -> validate -> resolve (-> import check)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jobrunner.config._describe import describe_value
from jobrunner.config._hooks import references as hook_references
from jobrunner.config._hooks import setup_callbacks
from jobrunner.config._imports import add_search_path, check_references
from jobrunner.config._interpolate import interpolate
from jobrunner.config._resolve import resolve
from jobrunner.config._reuse import Reuse, to_check, unchanged
from jobrunner.config._schema import validate_schema
from jobrunner.config._secrets import redact, secrets_of
from jobrunner.config._setup import run_setup
from jobrunner.config._splice import Source, read
from jobrunner.config._yaml import Path_, dotted
from jobrunner.config.model import Config
from jobrunner.errors import ConfigError, Issue


class Loaded:
    """A loaded config and the warnings found on the way (errors raise instead).

    ``reuse`` is what a later load of the same file may take over (``previous=``).
    """

    def __init__(
        self,
        config: Config,
        warnings: list[Issue],
        reuse: Reuse | None = None,
        source: Source | None = None,
    ) -> None:
        self.config = config
        self.warnings = warnings
        self.reuse = reuse
        self.source = source


def load_config(
    path: str | os.PathLike[str],
    *,
    check_imports: bool = True,
    environ: Mapping[str, str] | None = None,
    previous: Loaded | None = None,
    reloadable: bool = False,
) -> Loaded:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem.

    ``check_imports`` also runs the ``setup`` functions, then imports each ``function``,
    ``storage_class``, hook and handler; a producer (``jobrunner.load``) skips that so
    it never imports task modules. ``previous``, an earlier load of the same file (a hot
    reload), lets the definitions that did not change keep their objects (``_reuse.py``)
    and their values without reading their YAML again (``_splice.py``); ``reloadable``
    keeps what a first load needs for that.
    """
    file = os.fspath(path)
    text = _read(file)
    doc, issues, source = read(text, file, previous.source if previous else None, reloadable)
    if doc.data is None:
        if not issues:
            issues.append(_empty(text, file))
        raise ConfigError(issues, omitted=doc.omitted)
    if not isinstance(doc.data, dict):
        line, column = doc.where(())
        raise ConfigError(
            [
                Issue(
                    file,
                    line,
                    column,
                    "",
                    f"expected a mapping at the top level, got {describe_value(doc.data)}",
                    _START,
                )
            ]
        )
    # Each later stage checks values an earlier stage may already have reported (an
    # unset variable leaves "" where a port goes); keep the earliest report only.
    broken = {dotted(path) for path in doc.broken}
    unreadable = [issue for issue in issues if issue.path in broken]
    values = interpolate(doc, os.environ if environ is None else environ)
    found = unchanged(previous.reuse if previous else None, doc.data, Path(file))
    checked = to_check(doc.data, found)
    values += _uncovered(validate_schema(doc, checked), unreadable + values)
    config, later, reuse = resolve(doc, Path(file), found)
    folder = Path(file).resolve().parent
    add_search_path(folder)
    if check_imports:
        # Frameworks first (django.setup()): task modules may not import without them.
        failed_setup = run_setup(setup_callbacks(doc))
        later += failed_setup
        if not failed_setup:
            later += check_references(doc, {**_references(doc.data), **hook_references(doc.data)})
    issues += values + _uncovered(later, unreadable + values)
    if issues:  # the walk for secret values costs a tenth of a 20,000-definition reload
        issues = redact(issues, secrets_of(doc))
    errors = [i for i in issues if i.severity == "error"]
    if errors or config is None:
        raise ConfigError(sorted(errors, key=lambda i: (i.line, i.column)), omitted=doc.omitted)
    return Loaded(config, [i for i in issues if i.severity != "error"], reuse, source)


_START = "start with `version: 1`, then instances:, tasks: and schedules:"


def _empty(text: str, file: str) -> Issue:
    if text.strip():
        return Issue(file, 0, 0, "", "the file has only comments, no settings", _START)
    return Issue(file, 0, 0, "", "the file is empty", _START)


def _uncovered(issues: Iterable[Issue], earlier: list[Issue]) -> list[Issue]:
    """``issues`` but those an earlier stage reported: the same value or one containing it.

    Compared through a set of paths, so a file with a hundred thousand errors per stage
    is not compared pair by pair.
    """
    paths = {other.path for other in earlier}
    return [issue for issue in issues if not _within(issue.path, paths)]


def _within(path: str, paths: set[str]) -> bool:
    if path in paths:
        return True
    # Each enclosing path of `a.b[0].c`: `a.b[0]`, `a.b`, `a`.
    while True:
        cut = max(path.rfind("."), path.rfind("["))
        if cut <= 0:
            return False
        path = path[:cut]
        if path in paths:
            return True


MAX_BYTES = 8 * 1024 * 1024
"""The largest jobs file read; a larger one is refused before it is parsed."""


def _read(file: str) -> str:
    try:
        with open(file, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError.single(
            file, "no such file", hint="pass the path of your jobs.yaml"
        ) from None
    except IsADirectoryError:
        raise ConfigError.single(
            file, "is a folder, not a file", hint="pass the path of your jobs.yaml"
        ) from None
    except OSError as exc:
        raise ConfigError.single(file, f"cannot read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError.single(
            file,
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; refused",
            hint="a jobs file this large is not one a person wrote: check what produced it, "
            "or split it",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        raise ConfigError.single(
            file,
            f"not UTF-8 text: byte 0x{raw[exc.start]:02x} ({exc.reason})",
            line=line,
            column=column,
            hint="save the file as UTF-8",
        ) from None


def _references(data: dict[str, Any]) -> dict[Path_, str]:
    refs: dict[Path_, str] = {}
    for section, key in (
        ("tasks", "function"),
        ("schedules", "function"),
        ("instances", "storage_class"),
    ):
        entries = data.get(section)
        if not isinstance(entries, dict):
            continue
        for name, raw in entries.items():
            if isinstance(raw, dict) and isinstance(raw.get(key), str) and ":" in raw[key]:
                refs[(section, name, key)] = raw[key]
    return refs
