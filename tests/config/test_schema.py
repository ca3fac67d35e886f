"""The JSON Schema itself: valid 2020-12, closed objects, consistent backend lists, shipped."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from jobrunner.config import load_schema, schema_path

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "jobs.schema.json"


def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def object_schemas(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema with ``properties``, except ``if`` conditions (they only test a value)."""
    if isinstance(node, dict):
        if "properties" in node:
            yield where, node
        for key, value in node.items():
            if key == "if":
                continue
            yield from object_schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from object_schemas(value, f"{where}/{index}")


def test_schema_is_a_valid_2020_12_schema() -> None:
    data = schema()
    assert data["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(data)


def test_every_object_schema_is_closed() -> None:
    found = list(object_schemas(schema()))
    assert len(found) >= 8  # top level, defaults, instance, serializer, consumer, task, ...
    open_ones = [where for where, node in found if node.get("additionalProperties") is not False]
    assert open_ones == []


def test_backend_option_lists_name_only_instance_keys() -> None:
    instance = schema()["$defs"]["instance"]
    keys = set(instance["properties"])
    backends = set(instance["properties"]["backend"]["enum"])
    listed: dict[str, set[str]] = {}
    for rule in instance["allOf"]:
        backend = rule["if"]["properties"]["backend"]["const"]
        listed[backend] = set(rule["then"]["propertyNames"]["enum"])
        # Without `required`, an instance that omits `backend` would match every rule.
        if backend != "sqlite":
            assert rule["if"]["required"] == ["backend"], backend
    assert set(listed) == backends
    for backend, options in listed.items():
        assert options <= keys, (backend, options - keys)
    # Every instance key is usable with at least one backend.
    assert set().union(*listed.values()) == keys


def test_the_loader_reads_the_repository_schema() -> None:
    assert load_schema() == schema()
    assert schema_path().read_bytes() == SCHEMA_FILE.read_bytes()


def test_wheel_ships_the_schema(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = tmp_path.glob("jobrunner-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = archive.read("jobrunner/_data/jobs.schema.json")
    assert shipped == SCHEMA_FILE.read_bytes()
