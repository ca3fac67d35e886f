"""docs/dashboard.md: its YAML loads as written, and every screenshot it shows exists."""

from __future__ import annotations

import re
from pathlib import Path

from jobrunner.config import load_config

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "dashboard.md"


def test_yaml_snippets_load(tmp_path: Path) -> None:
    snippets = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert snippets
    for number, snippet in enumerate(snippets):
        path = tmp_path / f"snippet{number}.yaml"
        path.write_text(snippet)
        loaded = load_config(path, check_imports=False)
        assert loaded.config.http is not None


def test_every_image_exists() -> None:
    images = re.findall(r"\]\((images/[^)]+)\)", DOC.read_text())
    assert len(images) == 8
    for image in images:
        assert (DOC.parent / image).stat().st_size > 0, image
