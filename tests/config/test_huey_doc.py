"""docs/huey.md's recipes stay true: each jobs.yaml loads, each Python file compiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import jobrunner

DOC = Path(__file__).resolve().parents[2] / "docs" / "huey.md"
BLOCK = re.compile(r"^( *)```(yaml|python)\n(.*?)^\1```", re.DOTALL | re.MULTILINE)


def _blocks(language: str) -> list[str]:
    found = []
    for match in BLOCK.finditer(DOC.read_text(encoding="utf-8")):
        indent, kind, body = match.groups()
        if kind == language:
            found.append("\n".join(line[len(indent) :] for line in body.splitlines()))
    return found


@pytest.mark.parametrize("text", _blocks("yaml"))
def test_every_jobs_yaml_of_the_page_loads(text: str, tmp_path: Path) -> None:
    assert text.startswith("version: 1")
    path = tmp_path / "jobs.yaml"
    path.write_text(text, encoding="utf-8")
    with jobrunner.load(path) as app:
        assert app.config.tasks


@pytest.mark.parametrize("text", _blocks("python"))
def test_every_python_block_of_the_page_compiles(text: str) -> None:
    compile(text, "docs/huey.md", "exec")


def test_the_page_has_its_recipes() -> None:
    assert len(_blocks("yaml")) >= 4
    assert len(_blocks("python")) >= 4
