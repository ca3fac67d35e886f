"""How schema errors name types and values: "a mapping", "the string 'x'", "an integer"."""

from __future__ import annotations

from typing import Any

from jobrunner.config._limits import quote

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


def fits(value: Any, branch: dict[str, Any]) -> bool:
    """Whether ``value`` has the JSON type a ``oneOf`` branch asks for."""
    wanted: str | None = branch.get("type")
    if wanted is None:
        return False
    if isinstance(value, bool):
        return wanted == "boolean"
    return isinstance(value, _JSON_TYPES.get(wanted, ()))


def article(expected: Any) -> str:
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


def describe_value(value: Any) -> str:
    """``value`` as a user reads it in an error message ("the string 'x'", "a list")."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {quote(value)}"
    if isinstance(value, int | float):
        return f"the number {quote(value)}"
    return f"{type(value).__name__} {quote(value)}"
