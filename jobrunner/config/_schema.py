"""Validate a document against ``schemas/jobs.schema.json`` and explain each error.

jsonschema's messages are kept where they already read well ("-1 is less than
the minimum of 0"); the ones that do not (unknown keys, ``oneOf``) are rewritten
into what was expected and a hint.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fastjsonschema
import yaml

if TYPE_CHECKING:
    # jsonschema explains errors only: a valid file never needs it, and importing it
    # costs a tenth of a second at every start (docs/performance.md).
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from jobrunner.config._describe import article, describe_value, fits
from jobrunner.config._limits import quote
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
    from jsonschema import Draft202012Validator

    # Resolving a `$ref` costs more than checking what it points to, and it runs
    # once per task and schedule: validate against a copy with the refs inlined
    # (the schema has no recursive refs, so the copy is equivalent).
    schema = load_schema()
    return Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {key: _inline_refs(value, defs) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_refs(value, defs) for value in node]
    return node


@cache
def _quick_check() -> Callable[[Any], Any]:
    # fastjsonschema compiles the schema to Python (every keyword it uses is draft 7's, with
    # the same `re` patterns): about 9x faster than jsonschema on a valid file of 10,000 tasks
    # and 10,000 schedules. It only answers "valid"; errors are found and explained by
    # jsonschema below, so they read the same (docs/performance.md).
    check: Callable[[Any], Any] = fastjsonschema.compile(load_schema())
    return check


def validate_schema(doc: Document, checked: Any = None) -> list[Issue]:
    """Every schema error of ``doc``, each with its position and a hint where one helps.

    ``checked``: the part of ``doc.data`` that may hold errors (a reload leaves out the
    definitions it checked before); on any error the whole document is explained.
    """
    try:
        _quick_check()(doc.data if checked is None else checked)
    except fastjsonschema.JsonSchemaException:
        pass
    else:
        return []
    issues: list[Issue] = []
    for error in _validator().iter_errors(doc.data):
        issues.extend(_explain(error, doc))
    # One bad value can break several branches of the schema; report it once.
    unique: dict[tuple[int, int, str, str], Issue] = {}
    for issue in issues:
        unique.setdefault((issue.line, issue.column, issue.path, issue.message), issue)
    return list(unique.values())


@cache
def backend_options() -> dict[str, frozenset[str]]:
    """The keys each backend allows, read from the instance ``allOf`` of the schema."""
    options: dict[str, frozenset[str]] = {}
    for rule in load_schema()["$defs"]["instance"].get("allOf", []):
        backend = rule["if"]["properties"]["backend"]["const"]
        options[backend] = frozenset(rule["then"]["propertyNames"]["enum"])
    return options


def _common_options() -> frozenset[str]:
    return frozenset.intersection(*backend_options().values())


def _explain(raw: ValidationError, doc: Document) -> list[Issue]:
    # jsonschema types these attributes as "maybe unset"; here they are always set.
    error = _Error(raw)
    path: Path_ = tuple(error.absolute_path)
    validator = error.validator
    schema_path = list(error.schema_path)

    if validator == "additionalProperties":
        return _unknown_keys(error, path, doc)
    if "propertyNames" in schema_path:
        return _bad_name(error, path, doc, schema_path)
    if validator == "required":
        return [_missing(error, path, doc)]
    if validator == "oneOf":
        return _one_of(error, path, doc)
    if validator == "enum":
        return [_enum(error, path, doc)]
    if validator == "const" and path == ("version",):
        hint = "this jobrunner reads version 1 files"
        if error.instance == "1":
            hint = "write `version: 1` without quotes (a number, not a string)"
        return [doc.issue(path, f"unsupported version {quote(error.instance)}; expected 1", hint)]
    if validator == "type" and path and path[-1] == "cron":
        return [
            doc.issue(
                path,
                f"expected a crontab string or a mapping, got {describe_value(error.instance)}",
                'e.g. cron: "*/5 * * * *" or cron: {minute: "0", hour: "3"}',
            )
        ]
    if validator == "type":
        return [_wrong_type(error, path, doc)]
    if validator == "pattern":
        return [_bad_pattern(error, path, doc)]
    if validator in ("minLength", "minProperties"):
        return [doc.issue(path, "must not be empty")]
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


def _backend_of(path: Path_, doc: Document) -> str | None:
    """The backend of the instance at ``path`` (``instances.NAME``), when it is a valid one."""
    if len(path) != 2 or path[0] != "instances":
        return None
    raw = _at(doc, path)
    backend = raw.get("backend", "sqlite") if isinstance(raw, dict) else None
    return backend if isinstance(backend, str) and backend in backend_options() else None


def _at(doc: Document, path: Path_) -> Any:
    value = doc.data
    for part in path:
        value = value[part]
    return value


def _unknown_keys(error: _Error, path: Path_, doc: Document) -> list[Issue]:
    known = set(error.schema.get("properties", {}))
    backend = _backend_of(path, doc)
    # On an instance, suggest only the keys its backend takes (not `filename` on redis).
    allowed = sorted(backend_options()[backend] if backend else known)
    issues = []
    for key in error.instance:
        if key in known:
            continue
        close = difflib.get_close_matches(key, allowed, n=1)
        if close:
            hint = f"did you mean {close[0]!r}?"
        elif backend:
            hint = _backend_listing(backend)
        else:
            hint = f"allowed keys here: {', '.join(allowed)}"
        issues.append(doc.issue((*path, key), f"unknown key {quote(key)}", hint, key=True))
    return issues


def _backend_listing(backend: str) -> str:
    specific = sorted(backend_options()[backend] - _common_options())
    own = ", ".join(specific) if specific else "none"
    return f"options of backend {backend!r}: {own} (plus the keys every instance takes)"


def _bad_name(error: _Error, path: Path_, doc: Document, schema_path: list[Any]) -> list[Issue]:
    key = str(error.instance)
    if "allOf" in schema_path:
        # A per-backend list of allowed options (see the instance `allOf` in the schema).
        instance_keys = load_schema()["$defs"]["instance"]["properties"]
        if key not in instance_keys:
            return []  # Unknown to every backend: reported once, as an unknown key.
        backend = _backend_of(path, doc) or "sqlite"
        owners = sorted(b for b, keys in backend_options().items() if key in keys)
        hint = f"{quote(key)} belongs to backend {' / '.join(owners)}"
        raw = _at(doc, path)
        if isinstance(raw, dict) and "backend" not in raw:
            hint += " (this instance has no `backend:`, so it is sqlite)"
        hint += "; " + _backend_listing(backend)
        return [
            doc.issue(
                (*path, key),
                f"{quote(key)} is not an option of backend {backend!r}",
                hint,
                key=True,
            )
        ]
    section = str(path[-1]) if path else ""
    kind = _KIND.get(section, "name")
    rule = "letters, digits and _, not starting with a digit (a Python identifier)"
    if section == "instances":
        rule = "letters, digits, _ and -, not starting with a digit or -"
    suggestion = re.sub(r"[^A-Za-z0-9_]", "_", key)
    if suggestion[:1].isdigit():
        suggestion = "_" + suggestion
    return [
        doc.issue(
            (*path, key),
            f"{kind} name {quote(key)} is not valid",
            f"use {rule}, e.g. {quote(suggestion)}",
            key=True,
        )
    ]


_REQUIRED_HINTS = {
    "version": "add `version: 1` at the top of the file",
    "function": "name the function to run: `function: module.path:function_name`",
    "cron": 'say when it runs: `cron: "0 3 * * *"` or `cron: {minute: 0, hour: 3}`',
    "path": "backend file keeps its queue in a folder: add `path: FOLDER`",
    "storage_class": "backend custom needs `storage_class: module.path:ClassName` "
    "(a huey BaseStorage subclass)",
}


def _missing(error: _Error, path: Path_, doc: Document) -> Issue:
    match = re.match(r"^'(.+)' is a required property$", error.message)
    missing = match.group(1) if match else error.message
    # Point at the definition's own key (`count_beans:`), where the key is to be added.
    return doc.issue(
        path, f"missing required key {missing!r}", _REQUIRED_HINTS.get(missing), key=True
    )


def _one_of(error: _Error, path: Path_, doc: Document) -> list[Issue]:
    branches = error.validator_value
    if all(set(b) == {"required"} for b in branches):
        return [_task_or_function(error, path, doc, [b["required"][0] for b in branches])]
    # A value of the right type that breaks that branch's rule (-5 for a duration,
    # an unknown cron field): explain the rule it broke, not "matches no branch".
    for index, branch in enumerate(branches):
        if fits(error.instance, branch):
            subs = [e for e in error.context if list(e.schema_path)[:1] == [index]]
            if subs:
                issues = [issue for sub in subs for issue in _explain(sub, doc)]
                if issues:
                    return issues
    expected = " or ".join(article(b["type"]) for b in branches if "type" in b)
    if expected:
        return [doc.issue(path, f"expected {expected}, got {describe_value(error.instance)}")]
    return [doc.issue(path, error.message)]


def _task_or_function(error: _Error, path: Path_, doc: Document, keys: list[str]) -> Issue:
    present = [k for k in keys if isinstance(error.instance, dict) and k in error.instance]
    if len(present) > 1:
        # Point at whichever of the two keys comes second: that is the one to drop.
        last = max(present, key=lambda k: doc.where((*path, k), key=True))
        return doc.issue(
            (*path, last),
            f"give either {keys[0]!r} or {keys[1]!r}, not both",
            "a schedule runs a task by name (task:) or a function (function:); remove one",
            key=True,
        )
    return doc.issue(
        path,
        f"missing {keys[0]!r} or {keys[1]!r}",
        "name what to run: `task: NAME` (a task above) or `function: module.path:function`",
        key=True,
    )


def _enum(error: _Error, path: Path_, doc: Document) -> Issue:
    choices = [str(c) for c in error.validator_value]
    close = difflib.get_close_matches(str(error.instance), choices, n=1)
    hint = f"did you mean {close[0]!r}?" if close else None
    return doc.issue(path, f"{quote(error.instance)} is not one of {', '.join(choices)}", hint)


def _wrong_type(error: _Error, path: Path_, doc: Document) -> Issue:
    expected = error.validator_value
    value = error.instance
    message = f"expected {article(expected)}, got {describe_value(value)}"
    hint = None
    wanted = set(expected) if isinstance(expected, list) else {expected}
    if isinstance(value, str) and wanted & {"integer", "number", "boolean"}:
        parsed = _scalar(value)
        if parsed is not None and fits(parsed, {"type": sorted(wanted)[0]}):
            hint = f"remove the quotes: `{path[-1]}: {value}`" if path else None
    elif value is None and "object" in wanted:
        hint = "give it keys, or remove it"
    elif isinstance(value, list) and path in (("instances",), ("tasks",), ("schedules",)):
        kind = _KIND[str(path[0])]
        hint = f"write one `NAME:` entry per {kind} (a mapping), not a list"
    elif isinstance(value, str) and len(path) == 2 and path[0] == "tasks" and ":" in value:
        hint = f"write `{path[1]}: {{function: {value}}}`"
    # A missing value (`key:` with nothing after it) is best shown at the key.
    return doc.issue(path, message, hint, key=value is None)


def _scalar(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def _bad_pattern(error: _Error, path: Path_, doc: Document) -> Issue:
    last = path[-1] if path else ""
    if "ms|s|m|h" in str(error.validator_value):
        return doc.issue(
            path,
            f"{quote(error.instance)} is not a duration",
            "give seconds (a number) or a string such as '30s', '5m', '1h30m', '2d'",
        )
    if last in ("function", "storage_class"):
        example = "examples.tasks:count_beans" if last == "function" else "mypkg.storage:MyStorage"
        return doc.issue(
            path,
            f"{quote(error.instance)} is not an import path",
            f"write module.path:name with a colon before the name, e.g. {example}",
        )
    if last in ("task", "instance"):
        return doc.issue(
            path,
            f"{quote(error.instance)} is not a valid {last} name",
            f"name one of the {last}s defined in this file",
        )
    return doc.issue(path, error.message)
