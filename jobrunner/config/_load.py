"""The loading pipeline: read -> interpolate -> validate -> resolve (-> import check)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jobrunner.config._imports import add_search_path, check_references
from jobrunner.config._interpolate import interpolate
from jobrunner.config._resolve import resolve
from jobrunner.config._schema import validate_schema
from jobrunner.config._yaml import read_yaml
from jobrunner.config.model import Config
from jobrunner.errors import ConfigError, Issue


class Loaded:
    """A loaded config and the warnings found on the way (errors raise instead)."""

    def __init__(self, config: Config, warnings: list[Issue]) -> None:
        self.config = config
        self.warnings = warnings


def load_config(
    path: str | os.PathLike[str],
    *,
    check_imports: bool = True,
    environ: Mapping[str, str] | None = None,
) -> Loaded:
    """Read and validate ``path``; raise :class:`ConfigError` listing every problem.

    ``check_imports`` also imports each ``function`` and ``storage_class``; a
    producer (``jobrunner.load``) skips that so it never imports task modules.
    """
    file = os.fspath(path)
    text = _read(file)
    doc, issues = read_yaml(text, file)
    if doc.data is None and not issues:
        issues.append(
            Issue(
                file,
                0,
                0,
                "",
                "the file is empty",
                "start with `version: 1`, then instances:, tasks: and schedules:",
            )
        )
    if issues:
        raise ConfigError(issues)
    if not isinstance(doc.data, dict):
        found = "a list" if isinstance(doc.data, list) else f"{type(doc.data).__name__}"
        line, column = doc.where(())
        raise ConfigError(
            [
                Issue(
                    file,
                    line,
                    column,
                    "",
                    f"expected a mapping at the top level, got {found}",
                    "start with `version: 1`, then instances:, tasks: and schedules:",
                )
            ]
        )
    issues += interpolate(doc, os.environ if environ is None else environ)
    issues += validate_schema(doc)
    config, semantic = resolve(doc, Path(file))
    issues += semantic
    folder = Path(file).resolve().parent
    add_search_path(folder)
    if check_imports and isinstance(doc.data, dict):
        issues += check_references(doc, _references(doc.data))
    errors = [i for i in issues if i.severity == "error"]
    if errors or config is None:
        raise ConfigError(sorted(errors, key=lambda i: (i.line, i.column)))
    return Loaded(config, [i for i in issues if i.severity != "error"])


def _read(file: str) -> str:
    try:
        with open(file, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ConfigError.single(
            file, "no such file", hint="pass the path of your jobs.yaml"
        ) from None
    except IsADirectoryError:
        raise ConfigError.single(
            file, "is a folder, not a file", hint="pass the path of your jobs.yaml"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError.single(
            file,
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            hint="save the file as UTF-8",
        ) from None
    except OSError as exc:
        raise ConfigError.single(file, f"cannot read: {exc.strerror}") from None


def _references(data: dict[str, Any]) -> dict[tuple[str, ...], str]:
    refs: dict[tuple[str, ...], str] = {}
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
