"""Loading a file leaves the caller's garbage collector as it found it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobrunner
from jobrunner.config import load_config

FILE = """
version: 1
tasks:
  add: {function: sample_tasks:add}
schedules:
  nightly: {task: add, cron: "0 3 * * *"}
"""


@pytest.fixture
def gc_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_load_keeps_the_collector_state_and_freezes_nothing(
    write_config: Callable[..., Path], gc_restored: None, enabled: bool
) -> None:
    path = write_config(FILE)
    first = load_config(path)
    if enabled:
        gc.enable()
    else:
        gc.disable()
    frozen = gc.get_freeze_count()
    app = jobrunner.load(path)
    load_config(path, previous=first)
    assert gc.isenabled() is enabled
    assert gc.get_freeze_count() == frozen
    assert app.tasks.add.name == "add"
