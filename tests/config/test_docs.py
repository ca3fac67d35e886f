"""docs/configuration.md documents exactly the keys of the schema, each in its section.

The key tables (header ``| Key | ...``) of each section are compared with the schema
both ways: a key added to the schema needs a row, a row needs a key in the schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"
SCHEMA = json.loads((ROOT / "schemas" / "jobs.schema.json").read_text(encoding="utf-8"))

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


def sections() -> dict[str, list[str]]:
    """Each heading's own lines (up to the next heading of any level)."""
    result: dict[str, list[str]] = {}
    current: list[str] = []
    in_code = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else _HEADING.match(line)
        if heading:
            current = result.setdefault(heading.group(2), [])
        else:
            current.append(line)
    return result


def table_rows(section: str) -> dict[str, list[str]]:
    """Rows of the key tables of ``section``: key -> the other cells."""
    lines = sections()[section]
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in lines:
        if line.startswith("| Key |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        match = _ROW.match(line)
        if in_table and match:
            assert match.group(1) not in rows, f"{match.group(1)} twice in {section}"
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def props(node: dict[str, Any]) -> set[str]:
    return set(node["properties"])


DEFS = SCHEMA["$defs"]
OPTIONS = props(SCHEMA["properties"]["defaults"])
INSTANCE = DEFS["instance"]
BACKENDS = {
    rule["if"]["properties"]["backend"]["const"]: set(rule["then"]["propertyNames"]["enum"])
    for rule in INSTANCE["allOf"]
}
COMMON = set.intersection(*BACKENDS.values())
CRON_MAPPING = DEFS["schedule"]["properties"]["cron"]
EVENTS = INSTANCE["properties"]["events"]["properties"]

EXPECTED: dict[str, set[str]] = {
    "Top level": props(SCHEMA),
    "Task options": OPTIONS,
    "Instances": COMMON,
    "Serializer": props(INSTANCE["properties"]["serializer"]),
    "Consumer": props(INSTANCE["properties"]["consumer"]),
    # The events keys, then those of the mapping forms of `redis` and `history`.
    "Events": props(INSTANCE["properties"]["events"])
    | set().union(*(props(o) for k in ("redis", "history") for o in EVENTS[k]["oneOf"][1:])),
    **{f"Backend `{name}`": keys - COMMON for name, keys in BACKENDS.items()},
    # Documented as "every option of redis, plus": only their own keys have rows.
    "Backend `redis-expire`": BACKENDS["redis-expire"] - BACKENDS["redis"],
    "Backend `priority-redis`": BACKENDS["priority-redis"] - BACKENDS["redis"],
    "Tasks": props(DEFS["task"]) - OPTIONS,
    "Schedules": props(DEFS["schedule"]) - OPTIONS,
    "Cron fields": props(CRON_MAPPING),
    "HTTP endpoint": props(SCHEMA["properties"]["http"]),
}


@pytest.mark.parametrize("section", sorted(EXPECTED))
def test_section_documents_exactly_the_schema_keys(section: str) -> None:
    assert section in sections(), f"docs/configuration.md has no heading {section!r}"
    rows = table_rows(section)
    assert set(rows) == EXPECTED[section]
    for key, cells in rows.items():
        kind, default, meaning = cells
        assert kind, f"{section}: `{key}` has no type"
        assert default, f"{section}: `{key}` has no default"
        assert len(meaning) > 10, f"{section}: `{key}` has no meaning"


def test_redis_expire_takes_every_redis_option() -> None:
    # The doc says so instead of repeating the redis table.
    assert BACKENDS["redis-expire"] - BACKENDS["redis"] == {"expire_time"}
    assert BACKENDS["redis"] <= BACKENDS["redis-expire"]
    assert BACKENDS["priority-redis"] == BACKENDS["redis"]


def test_tasks_and_schedules_take_every_task_option() -> None:
    assert props(DEFS["task"]) >= OPTIONS
    assert props(DEFS["schedule"]) >= OPTIONS


def test_sections_cover_every_key_of_the_schema() -> None:
    documented = set().union(*EXPECTED.values())
    every_key: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            every_key.update(node.get("properties", {}))
            for key, value in node.items():
                if key != "if":
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(SCHEMA)
    assert every_key - documented == set()


def test_every_key_appears_as_code_in_its_section() -> None:
    for section, keys in EXPECTED.items():
        text = "\n".join(sections()[section])
        for key in keys:
            assert f"`{key}`" in text, (section, key)


def test_every_backend_has_a_section() -> None:
    assert {f"Backend `{b}`" for b in INSTANCE["properties"]["backend"]["enum"]} <= set(sections())
