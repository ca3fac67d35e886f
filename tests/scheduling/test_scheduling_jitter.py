from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobrunner.scheduling import jitter_offset

TICK = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
# sha256("nightly\x002026-03-08T07:00Z"), first 53 bits as a fraction, times 60 s.
JITTER_NIGHTLY_60 = 11.085787234341254


def test_same_schedule_and_tick_give_the_same_delay() -> None:
    assert jitter_offset("nightly", TICK, 30.0) == jitter_offset("nightly", TICK, 30.0)


def test_delay_is_pinned_across_processes_and_versions() -> None:
    # A stable digest, not hash(): this value must survive restarts and PYTHONHASHSEED.
    assert jitter_offset("nightly", TICK, 60.0) == pytest.approx(JITTER_NIGHTLY_60, abs=1e-12)


def test_delay_depends_on_schedule_and_tick() -> None:
    delays = {jitter_offset(f"job-{i}", TICK, 60.0) for i in range(20)}
    delays |= {jitter_offset("job-0", TICK + i * timedelta(minutes=1), 60.0) for i in range(20)}
    assert len(delays) == 39


def test_same_instant_in_another_zone_gives_the_same_delay() -> None:
    local = TICK.astimezone(ZoneInfo("America/New_York"))
    assert jitter_offset("nightly", local, 30.0) == jitter_offset("nightly", TICK, 30.0)


@pytest.mark.parametrize("jitter", [0.0, -5.0])
def test_no_jitter_means_no_delay(jitter: float) -> None:
    assert jitter_offset("nightly", TICK, jitter) == 0.0


def test_non_finite_jitter_is_rejected() -> None:
    with pytest.raises(ValueError, match="finite"):
        jitter_offset("nightly", TICK, math.inf)


def test_naive_tick_is_rejected() -> None:
    with pytest.raises(ValueError, match="aware"):
        jitter_offset("nightly", datetime(2026, 1, 1), 5.0)


@given(
    name=st.text(max_size=20),
    minutes=st.integers(0, 10_000_000),
    jitter=st.floats(min_value=1e-9, max_value=1e6),
)
def test_delay_is_within_zero_and_jitter(name: str, minutes: int, jitter: float) -> None:
    delay = jitter_offset(name, TICK + timedelta(minutes=minutes), jitter)
    assert 0.0 <= delay < jitter
