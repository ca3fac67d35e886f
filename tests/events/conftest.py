"""Every events test starts and ends with this process's event hub empty."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobrunner import events


@pytest.fixture(autouse=True)
def _fresh_hub() -> Iterator[None]:
    events.reset()
    yield
    events.reset()
