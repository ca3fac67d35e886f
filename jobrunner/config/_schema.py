"""Validate a document against ``schemas/jobs.schema.json`` and explain each error.

jsonschema's messages are kept where they already read well ("-1 is less than
the minimum of 0"); the ones that do not (unknown keys, ``oneOf``) are rewritten
into what was expected and a hint.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from jobrunner.config._yaml import Document, Path_
from jobrunner.errors import Issue

_HERE = Path(__file__).resolve().parent
# Installed wheels carry the schema inside the package; a source checkout has it
# only at the repository root, where editors and docs point.
_CANDIDATES = (
    _HERE.parent / "_data" / "jobs.schema.json",
    _HERE.parent.parent / "schemas" / "jobs.schema.json",
)

_KIND = {"tasks": "task", "schedules": "schedule", "instances": "instance"}


def schema_path() -> Path:
    """Where the JSON Schema of ``jobs.yaml`` is on this installation."""
    for candidate in _CANDIDATES:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("jobs.schema.json is missing from this jobrunner installation")


@cache
def load_schema() -> dict[str, Any]:
    """The JSON Schema of ``jobs.yaml``, parsed."""
    with schema_path().open(encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema())


def validate_schema(doc: Document) -> list[Issue]:
    """Every schema error of ``doc``, each with its position and a hint where one helps."""
    issues: list[Issue] = []
    for error in _validator().iter_errors(doc.data):
        issues.extend(_explain(error, doc))
    # One bad value can break several branches of the schema; report it once.
    unique: dict[tuple[int, int, str, str], Issue] = {}
    for issue in issues:
        unique.setdefault((issue.line, issue.column, issue.path, issue.message), issue)
    return list(unique.values())


def _explain(raw: ValidationError, doc: Document) -> list[Issue]:
    # jsonschema types these attributes as "maybe unset"; here they are always set.
    error = _Error(raw)
    path: Path_ = tuple(error.absolute_path)
    validator = error.validator
    schema_path = list(error.schema_path)

    if validator == "additionalProperties":
        return _unknown_keys(error, path, doc)
    if "propertyNames" in schema_path:
        return [_bad_name(error, path, doc, schema_path)]
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        hint = "add `version: 1` at the top of the file" if missing == "version" else None
        return [doc.issue(path, f"missing required key {missing!r}", hint)]
    if validator == "oneOf":
        return [_one_of(error, path, doc)]
    if validator == "enum":
        return [_enum(error, path, doc)]
    if validator == "const" and path == ("version",):
        return [
            doc.issue(
                path,
                f"unsupported version {error.instance!r}; expected 1",
                "this jobrunner reads version 1 files",
            )
        ]
    if validator == "type":
        expected = error.validator_value
        return [doc.issue(path, f"expected {_article(expected)}, got {_describe(error.instance)}")]
    if validator == "pattern" and path and path[-1] in ("function", "storage_class"):
        return [
            doc.issue(
                path,
                f"{error.instance!r} is not an import path",
                "write module.path:name, e.g. examples.tasks:count_beans",
            )
        ]
    return [doc.issue(path, error.message)]


class _Error:
    """A ValidationError seen through ``Any`` (its attributes are typed as maybe-unset)."""

    def __init__(self, error: ValidationError) -> None:
        self.absolute_path: Any = error.absolute_path
        self.validator: Any = error.validator
        self.schema_path: Any = error.schema_path
        self.schema: Any = error.schema
        self.instance: Any = error.instance
        self.validator_value: Any = error.validator_value
        self.message: str = error.message
        self.context: Any = error.context


def _unknown_keys(error: _Error, path: Path_, doc: Document) -> list[Issue]:
    allowed = sorted(error.schema.get("properties", {}))
    issues = []
    for key in error.instance:
        if key in allowed:
            continue
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = (
            f"did you mean {close[0]!r}?" if close else f"allowed keys here: {', '.join(allowed)}"
        )
        issues.append(doc.issue((*path, key), f"unknown key {key!r}", hint, key=True))
    return issues


def _bad_name(error: _Error, path: Path_, doc: Document, schema_path: list[Any]) -> Issue:
    key = error.instance
    if "allOf" in schema_path:
        # A per-backend list of allowed options (see the instance `allOf` in the schema).
        backend = doc.data
        for part in path:
            backend = backend[part]
        name = backend.get("backend", "sqlite") if isinstance(backend, dict) else "sqlite"
        allowed = sorted(error.validator_value)
        close = difflib.get_close_matches(str(key), allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        hint += f"options of backend {name!r}: {', '.join(allowed)}"
        return doc.issue(
            (*path, key), f"{key!r} is not an option of backend {name!r}", hint, key=True
        )
    kind = _KIND.get(str(path[-1]) if path else "", "name")
    return doc.issue(
        (*path, key),
        f"{kind} name {key!r} is not valid",
        "use letters, digits and _ (it must be a Python identifier); it may not start with a digit",
        key=True,
    )


def _one_of(error: _Error, path: Path_, doc: Document) -> Issue:
    branches = error.validator_value
    if all(set(b) == {"required"} for b in branches):
        keys = [b["required"][0] for b in branches]
        present = [k for k in keys if isinstance(error.instance, dict) and k in error.instance]
        if present:
            return doc.issue(
                path,
                f"give either {keys[0]!r} or {keys[1]!r}, not both",
                "a schedule runs a task by name (task:) or a function (function:)",
            )
        return doc.issue(
            path,
            f"missing {keys[0]!r} or {keys[1]!r}",
            "name the task to run (task: NAME) or a function (function: module:name)",
        )
    if any("pattern" in b and "ms|s|m|h" in b["pattern"] for b in branches):
        return doc.issue(
            path,
            f"{error.instance!r} is not a duration",
            "give seconds (a number) or a string such as '30s', '5m', '1h30m', '2d'",
        )
    if (path and path[-1] == "cron") or (len(path) >= 2 and path[-2] == "cron"):
        if isinstance(error.instance, dict):
            sub = min(error.context, key=lambda e: len(e.absolute_path), default=None)
            if sub is not None:
                return _explain(sub, doc)[0]
        return doc.issue(
            path,
            f"expected a crontab string or a mapping, got {_describe(error.instance)}",
            'e.g. cron: "*/5 * * * *" or cron: {minute: "0", hour: "3"}',
        )
    return doc.issue(path, error.message)


def _enum(error: _Error, path: Path_, doc: Document) -> Issue:
    choices = [str(c) for c in error.validator_value]
    close = difflib.get_close_matches(str(error.instance), choices, n=1)
    hint = f"did you mean {close[0]!r}?" if close else None
    return doc.issue(path, f"{error.instance!r} is not one of {', '.join(choices)}", hint)


def _article(expected: Any) -> str:
    names = {
        "object": "a mapping",
        "array": "a list",
        "string": "a string",
        "integer": "an integer",
        "number": "a number",
        "boolean": "true or false",
        "null": "null",
    }
    if isinstance(expected, list):
        return " or ".join(str(names.get(e, e)) for e in expected)
    return str(names.get(expected, expected))


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{type(value).__name__} {value!r}"
