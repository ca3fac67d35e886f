"""Arguments given on the command line: parsed, and checked against the task's signature."""

from __future__ import annotations

import contextlib
import difflib
import inspect
import json
from collections.abc import Callable, Sequence
from typing import Any

import yaml

from jobrunner.config._imports import explain_import_error, import_callable
from jobrunner.errors import JobRunnerError


def parse_args(texts: Sequence[str]) -> tuple[Any, ...]:
    """Each argument as a YAML value (JSON is YAML): ``5`` an int, ``eu`` a string."""
    return tuple(_value(text, f"argument {i}") for i, text in enumerate(texts, 1))


def parse_kwargs(text: str | None) -> dict[str, Any]:
    """``--kwargs``: a JSON (or YAML flow) object."""
    if text is None:
        return {}
    value = _value(text, "--kwargs")
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise JobRunnerError(
            f'--kwargs must be an object with string keys, such as \'{{"region": "eu"}}\'; '
            f"got {text!r}"
        )
    return value


def _value(text: str, what: str) -> Any:
    try:
        return yaml.safe_load(text) if text.strip() else text
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not valid"
        raise JobRunnerError(
            f"{what}: {text!r} is not a JSON or YAML value ({problem}); quote it to pass a string"
        ) from None


def check_arguments(
    name: str, reference: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> str | None:
    """Raise :class:`JobRunnerError` when the call does not fit the function's signature.

    Returns a note instead when the function cannot be imported here (only the consumer
    may have its dependencies): then nothing is checked.
    """
    try:
        func: Callable[..., Any] = import_callable(reference)
        signature = inspect.signature(func)
    except (Exception, SystemExit) as exc:
        message, _ = explain_import_error(reference, exc)
        return f"arguments not checked: {message}"
    # Postponed annotations read better evaluated (`a: int`, not `a: 'int'`); names
    # imported only for type checkers cannot be, and then the text above serves.
    with contextlib.suppress(Exception):
        signature = inspect.signature(func, eval_str=True)
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        hint = _did_you_mean(signature, kwargs)
        raise JobRunnerError(
            f"task {name!r} ({reference}{signature}): {exc}{hint}; nothing was enqueued"
        ) from None
    return None


def _did_you_mean(signature: inspect.Signature, kwargs: dict[str, Any]) -> str:
    names = [
        p.name
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    guesses = []
    for key in kwargs:
        if key not in signature.parameters:
            close = difflib.get_close_matches(key, names, n=1)
            if close:
                guesses.append(f"{key!r}: did you mean {close[0]!r}?")
    return f" ({'; '.join(guesses)})" if guesses else ""


def show(value: Any) -> str:
    """A result for the terminal: JSON where it can be, else its repr."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
