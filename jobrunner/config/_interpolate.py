"""Expand ``${VAR}`` and ``${VAR:-default}`` in the string values of a document.

``${VAR:-default}`` uses the default when VAR is unset or empty, as the shell does.
``$$`` stands for a literal ``$``. When a whole plain (unquoted) scalar is one
reference, the expanded text is read again as a YAML scalar, so
``port: ${REDIS_PORT:-6379}`` is the integer 6379, as the user meant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from jobrunner.config._yaml import Document, Path_, dotted
from jobrunner.errors import Issue

_REFERENCE = re.compile(r"\$(?:\$|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})")
_MALFORMED = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})[^}]*\}?")


def interpolate(doc: Document, environ: Mapping[str, str]) -> list[Issue]:
    """Expand references in place; return one issue per unset or malformed reference."""
    issues: list[Issue] = []
    doc.data = _walk(doc.data, (), doc, environ, issues)
    return issues


def _walk(
    value: Any, path: Path_, doc: Document, environ: Mapping[str, str], issues: list[Issue]
) -> Any:
    # In place, and a child's path is built only where a reference can be: most
    # values of a large file have none (docs/performance.md, config load).
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)) or (isinstance(v, str) and "$" in v):
                value[k] = _walk(v, (*path, k), doc, environ, issues)
        return value
    if isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, (dict, list)) or (isinstance(v, str) and "$" in v):
                value[i] = _walk(v, (*path, i), doc, environ, issues)
        return value
    if isinstance(value, str) and "$" in value:
        return _expand(value, path, doc, environ, issues)
    return value


def _expand(
    text: str, path: Path_, doc: Document, environ: Mapping[str, str], issues: list[Issue]
) -> Any:
    bad = _MALFORMED.search(text)
    if bad:
        doc.broken.add(path)
        issues.append(
            _at(
                doc,
                path,
                bad.start(),
                f"malformed variable reference {bad.group(0)!r}",
                "write ${NAME} or ${NAME:-default}; use $$ for a literal $",
            )
        )
        return text

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name is None:
            return "$"
        value = environ.get(name)
        default = match.group("default")
        # As in the shell, ":-" also replaces a variable that is set but empty.
        if value or (value is not None and default is None):
            doc.secrets.add(value)
            return value
        if default is not None:
            return default
        doc.broken.add(path)
        issues.append(
            _at(
                doc,
                path,
                match.start(),
                f"environment variable {name} is not set",
                f"export {name}=..., or give a default with ${{{name}:-value}}",
            )
        )
        return ""

    expanded = _REFERENCE.sub(replace, text)
    whole = _REFERENCE.fullmatch(text)
    if whole and whole.group("name") and doc.is_plain(path):
        try:
            typed = yaml.safe_load(expanded)
        except yaml.YAMLError:
            return expanded
        if isinstance(typed, (str, int, float, bool)):
            return typed
    return expanded


def _at(doc: Document, path: Path_, offset: int, message: str, hint: str) -> Issue:
    """An issue pointing at character ``offset`` of the string at ``path`` (the ``${``)."""
    line, column = doc.column_in(path, offset)
    return Issue(doc.file, line, column, dotted(path), message, hint)
