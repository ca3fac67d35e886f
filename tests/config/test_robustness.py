"""Whatever a file holds, loading it either succeeds or raises ConfigError: never a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jobrunner
from jobrunner.config import load_schema


def _vocabulary() -> list[str]:
    words: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            words.update(node.get("properties", {}))
            words.update(str(value) for value in node.get("enum", []))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(load_schema())
    words |= {"sample_tasks:add", "* * * * *", "61 * * * *", "Europe/Berlin", "${X}", "1h"}
    return sorted(words)


WORDS = _vocabulary()
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 100), st.sampled_from(WORDS), st.text(max_size=4)
)
BODY = st.dictionaries(
    st.sampled_from(WORDS),
    st.one_of(
        SCALARS,
        st.lists(SCALARS, max_size=3),
        st.dictionaries(st.sampled_from(WORDS), SCALARS, max_size=3),
    ),
    max_size=6,
)
SECTION = st.one_of(
    SCALARS,
    st.dictionaries(st.sampled_from(["a", "b", "default", "my-x", "1"]), st.one_of(BODY, SCALARS)),
)
DOCUMENTS = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from([1, 2, "1"]),
        "defaults": st.one_of(BODY, SCALARS),
        "instances": SECTION,
        "tasks": SECTION,
        "schedules": SECTION,
        "timezone": SCALARS,
    },
)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


def _load(path: Path) -> None:
    try:
        jobrunner.load_config(path)
    except jobrunner.ConfigError as error:
        issues = error.issues
    else:
        return
    assert issues
    for issue in issues:
        assert issue.line >= 0
        assert issue.column >= 0
        assert issue.message


@FAST
@given(document=DOCUMENTS)
def test_any_document_loads_or_raises_config_error(
    document: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    _load(path)


@FAST
@given(text=st.text(alphabet=list("ab1:-{}[]'\"\t\n #&*!$%|>,."), max_size=60))
def test_any_text_loads_or_raises_config_error(text: str, tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(text, encoding="utf-8")
    _load(path)
