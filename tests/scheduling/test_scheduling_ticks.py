from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobrunner.scheduling import Cron, fire_times, is_due

MINUTE = timedelta(minutes=1)
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def scan(cron: Cron, tz: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """The reference answer: ask is_due about every minute in [start, end)."""
    ticks = (start + i * MINUTE for i in range(int((end - start) / MINUTE)))
    return [tick for tick in ticks if is_due(cron, tz, tick)]


def fires(cron: Cron, tz: tzinfo, start: datetime, end: datetime) -> list[datetime]:
    """fire_times restricted to [start, end)."""
    found = fire_times(cron, tz, start - timedelta(seconds=1))
    return list(itertools.takewhile(lambda t: t < end, found))


def test_zoneinfo_has_the_2026_transitions_these_tests_assume() -> None:
    def local(text: str, tz: ZoneInfo) -> str:
        return utc(text).astimezone(tz).strftime("%H:%M%z")

    assert local("2026-03-08T06:59", NEW_YORK) == "01:59-0500"
    assert local("2026-03-08T07:00", NEW_YORK) == "03:00-0400"
    assert local("2026-11-01T05:59", NEW_YORK) == "01:59-0400"
    assert local("2026-11-01T06:00", NEW_YORK) == "01:00-0500"
    assert local("2026-03-29T01:00", BERLIN) == "03:00+0200"
    assert local("2026-10-25T01:00", BERLIN) == "02:00+0100"
    assert local("2026-04-04T14:59", LORD_HOWE) == "01:59+1100"
    assert local("2026-04-04T15:00", LORD_HOWE) == "01:30+1030"
    assert local("2026-10-03T15:29", LORD_HOWE) == "01:59+1030"
    assert local("2026-10-03T15:30", LORD_HOWE) == "02:30+1100"


# (cron, zone, window start, window end (exclusive), expected UTC fire ticks)
DST_TABLE = [
    pytest.param(
        "30 2 * * *",
        NEW_YORK,
        "2026-03-08T05:00",
        "2026-03-09T05:00",
        ["2026-03-08T07:00"],
        id="ny-spring-forward-gap-runs-once-at-first-minute-after-gap",
    ),
    pytest.param(
        "* 2 * * *",
        NEW_YORK,
        "2026-03-08T05:00",
        "2026-03-09T05:00",
        ["2026-03-08T07:00"],
        id="ny-spring-forward-whole-skipped-hour-runs-exactly-once",
    ),
    pytest.param(
        "0,30 2,3 * * *",
        NEW_YORK,
        "2026-03-08T05:00",
        "2026-03-08T09:00",
        ["2026-03-08T07:00", "2026-03-08T07:30"],
        id="ny-spring-forward-skipped-times-merge-with-matching-first-minute-after-gap",
    ),
    pytest.param(
        "0 3 * * *",
        NEW_YORK,
        "2026-03-08T05:00",
        "2026-03-09T05:00",
        ["2026-03-08T07:00"],
        id="ny-spring-forward-time-after-gap-is-unaffected",
    ),
    pytest.param(
        "30 1 * * *",
        NEW_YORK,
        "2026-11-01T04:00",
        "2026-11-02T05:00",
        ["2026-11-01T05:30"],
        id="ny-fall-back-repeated-time-runs-once-at-first-occurrence",
    ),
    pytest.param(
        "*/30 1 * * *",
        NEW_YORK,
        "2026-11-01T04:00",
        "2026-11-02T05:00",
        ["2026-11-01T05:00", "2026-11-01T05:30"],
        id="ny-fall-back-repeated-hour-is-not-rerun",
    ),
    pytest.param(
        "0 2 * * *",
        NEW_YORK,
        "2026-11-01T04:00",
        "2026-11-02T05:00",
        ["2026-11-01T07:00"],
        id="ny-fall-back-time-after-repeat-runs-once",
    ),
    pytest.param(
        "0 * * * *",
        NEW_YORK,
        "2026-11-01T04:00",
        "2026-11-01T08:00",
        ["2026-11-01T04:00", "2026-11-01T05:00", "2026-11-01T06:00", "2026-11-01T07:00"],
        id="ny-fall-back-hourly-fires-at-both-one-oclocks",
    ),
    pytest.param(
        "0 * * * *",
        NEW_YORK,
        "2026-03-08T05:00",
        "2026-03-08T09:00",
        ["2026-03-08T05:00", "2026-03-08T06:00", "2026-03-08T07:00", "2026-03-08T08:00"],
        id="ny-spring-forward-hourly-keeps-real-hour-spacing",
    ),
    pytest.param(
        "*/15 * * * *",
        NEW_YORK,
        "2026-03-08T06:30",
        "2026-03-08T07:30",
        ["2026-03-08T06:30", "2026-03-08T06:45", "2026-03-08T07:00", "2026-03-08T07:15"],
        id="ny-spring-forward-every-15-minutes-keeps-real-spacing",
    ),
    pytest.param(
        "*/15 * * * *",
        NEW_YORK,
        "2026-11-01T05:30",
        "2026-11-01T06:30",
        ["2026-11-01T05:30", "2026-11-01T05:45", "2026-11-01T06:00", "2026-11-01T06:15"],
        id="ny-fall-back-every-15-minutes-keeps-real-spacing",
    ),
    pytest.param(
        "30 2 * * *",
        BERLIN,
        "2026-03-28T23:00",
        "2026-03-29T22:00",
        ["2026-03-29T01:00"],
        id="berlin-spring-forward-gap-runs-at-0300-cest",
    ),
    pytest.param(
        "30 2 * * *",
        BERLIN,
        "2026-10-24T22:00",
        "2026-10-25T23:00",
        ["2026-10-25T00:30"],
        id="berlin-fall-back-runs-at-first-0230-only",
    ),
    pytest.param(
        "0 * * * *",
        BERLIN,
        "2026-03-29T00:00",
        "2026-03-29T03:00",
        ["2026-03-29T00:00", "2026-03-29T01:00", "2026-03-29T02:00"],
        id="berlin-spring-forward-hourly-skips-nonexistent-0200",
    ),
    pytest.param(
        "*/20 * * * *",
        BERLIN,
        "2026-10-25T00:00",
        "2026-10-25T02:00",
        [f"2026-10-25T0{h}:{m:02d}" for h in (0, 1) for m in (0, 20, 40)],
        id="berlin-fall-back-every-20-minutes-keeps-real-spacing",
    ),
    pytest.param(
        "15 2 * * *",
        LORD_HOWE,
        "2026-10-03T13:30",
        "2026-10-04T13:00",
        ["2026-10-03T15:30"],
        id="lord-howe-half-hour-gap-runs-once-at-0230",
    ),
    pytest.param(
        "45 2 * * *",
        LORD_HOWE,
        "2026-10-03T13:30",
        "2026-10-04T13:00",
        ["2026-10-03T15:45"],
        id="lord-howe-time-after-half-hour-gap-is-unaffected",
    ),
    pytest.param(
        "0 * * * *",
        LORD_HOWE,
        "2026-10-03T14:00",
        "2026-10-03T17:00",
        ["2026-10-03T14:30", "2026-10-03T16:00"],
        id="lord-howe-hourly-skips-nonexistent-0200",
    ),
    pytest.param(
        "45 1 * * *",
        LORD_HOWE,
        "2026-04-04T13:00",
        "2026-04-05T13:30",
        ["2026-04-04T14:45"],
        id="lord-howe-half-hour-repeat-runs-at-first-0145-only",
    ),
    pytest.param(
        "*/15 * * * *",
        LORD_HOWE,
        "2026-04-04T14:00",
        "2026-04-04T16:00",
        [f"2026-04-04T{h}:{m:02d}" for h in (14, 15) for m in (0, 15, 30, 45)],
        id="lord-howe-fall-back-every-15-minutes-keeps-real-spacing",
    ),
    pytest.param(
        "0 3 * * *",
        UTC,
        "2026-03-07T00:00",
        "2026-03-10T00:00",
        ["2026-03-07T03:00", "2026-03-08T03:00", "2026-03-09T03:00"],
        id="utc-daily-is-plain",
    ),
    pytest.param(
        "30 9 * * *",
        KOLKATA,
        "2026-03-07T00:00",
        "2026-03-09T00:00",
        ["2026-03-07T04:00", "2026-03-08T04:00"],
        id="kolkata-half-hour-offset-without-dst",
    ),
    pytest.param(
        "0 0 * * 1",
        KOLKATA,
        "2026-03-07T00:00",
        "2026-03-14T00:00",
        ["2026-03-08T18:30"],
        id="kolkata-weekday-is-judged-on-local-date",
    ),
]


@pytest.mark.parametrize(("spec", "tz", "start", "end", "expected"), DST_TABLE)
def test_dst_table(spec: str, tz: tzinfo, start: str, end: str, expected: list[str]) -> None:
    cron = Cron.parse(spec)
    want = [utc(text) for text in expected]
    assert scan(cron, tz, utc(start), utc(end)) == want
    assert fires(cron, tz, utc(start), utc(end)) == want


def test_repeated_time_fires_at_first_occurrence_not_second() -> None:
    cron = Cron.parse("30 1 * * *")
    assert is_due(cron, NEW_YORK, utc("2026-11-01T05:30"))
    assert not is_due(cron, NEW_YORK, utc("2026-11-01T06:30"))


def test_interval_job_fires_at_both_occurrences_of_repeated_minute() -> None:
    cron = Cron.parse("30 * * * *")
    assert is_due(cron, NEW_YORK, utc("2026-11-01T05:30"))
    assert is_due(cron, NEW_YORK, utc("2026-11-01T06:30"))


def test_is_due_accepts_any_aware_representation_of_the_tick() -> None:
    tick = utc("2026-03-08T07:00").astimezone(NEW_YORK)
    assert is_due(Cron.parse("30 2 * * *"), NEW_YORK, tick)


def test_is_due_rejects_naive_or_partial_minute_ticks() -> None:
    cron = Cron()
    with pytest.raises(ValueError, match="aware"):
        is_due(cron, UTC, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="whole minute"):
        is_due(cron, UTC, datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC))


def test_fire_times_rejects_naive_start() -> None:
    with pytest.raises(ValueError, match="aware"):
        next(fire_times(Cron(), UTC, datetime(2026, 1, 1)))


def test_fire_times_are_strictly_after_start() -> None:
    ticks = fire_times(Cron.parse("*/5 * * * *"), UTC, utc("2026-01-01T00:05"))
    assert next(ticks) == utc("2026-01-01T00:10")
    mid_minute = fire_times(Cron(), UTC, utc("2026-01-01T00:05") + timedelta(seconds=1))
    assert next(mid_minute) == utc("2026-01-01T00:06")


def test_leap_day_cron_next_ten_fire_times() -> None:
    # Forty years ahead: minute by minute this would not end in a test's time (speed is
    # measured in benchmarks/, not asserted here).
    ticks = list(
        itertools.islice(fire_times(Cron.parse("0 3 29 2 *"), BERLIN, utc("2026-01-01T00:00")), 10)
    )
    years = [2028 + 4 * i for i in range(10)]
    assert ticks == [datetime(y, 2, 29, 2, 0, tzinfo=UTC) for y in years]


def test_cron_that_can_never_fire_yields_nothing() -> None:
    assert list(fire_times(Cron.parse("0 0 30 2 *"), UTC, utc("2026-01-01T00:00"))) == []
    assert list(fire_times(Cron.parse("0 0 31 4,6 *"), NEW_YORK, utc("2026-01-01T00:00"))) == []


def test_rare_weekday_leap_day_is_found() -> None:
    # 29 February falls on a Monday only in 2044 and 2072 this century.
    ticks = fire_times(Cron.parse("0 12 29 2 1"), UTC, utc("2026-01-01T00:00"))
    assert list(itertools.islice(ticks, 2)) == [utc("2044-02-29T12:00"), utc("2072-02-29T12:00")]


# -- property: fire_times == a brute-force is_due scan -------------------------------------------

ZONES: list[tzinfo] = [UTC, NEW_YORK, BERLIN, LORD_HOWE, KOLKATA]


def transitions(tz: tzinfo) -> list[datetime]:
    """UTC instants where tz's offset changes in 2025-2027 (or a few plain dates if none)."""
    found = []
    probe = utc("2025-01-01T00:00")
    previous = probe.astimezone(tz).utcoffset()
    while probe.year < 2028:
        offset = probe.astimezone(tz).utcoffset()
        if offset != previous:
            # Hourly steps land on or just after the change; back up to its exact minute.
            exact = probe
            while (exact - MINUTE).astimezone(tz).utcoffset() == offset:
                exact -= MINUTE
            found.append(exact)
            previous = offset
        probe += timedelta(hours=1)
    return found or [utc("2026-01-01T00:00"), utc("2026-06-30T12:00"), utc("2028-02-28T00:00")]


TRANSITIONS = {tz: transitions(tz) for tz in ZONES}


def choices(lo: int, hi: int, dense: list[str]) -> st.SearchStrategy[str]:
    """A field strategy biased towards values that fire often enough to fill a 2-day window."""
    value = st.integers(lo, hi)
    piece = st.one_of(
        st.sampled_from(dense),
        value.map(str),
        st.tuples(value, value).map(lambda ab: f"{ab[0]}-{ab[1]}"),
        st.integers(1, hi).map(lambda n: f"*/{n}"),
    )
    return st.lists(piece, min_size=1, max_size=3).map(",".join)


window_crons = st.builds(
    Cron,
    minute=choices(0, 59, ["*", "0", "30", "*/15"]),
    # Hours 0-4 are where the transitions above happen, so they get extra weight.
    hour=choices(0, 23, ["*", "1", "2", "3", "1-3", "2,14"]),
    day=st.one_of(st.just("*"), choices(1, 31, ["*"])),
    month=st.sampled_from(["*", "*", "*", "3,4,10,11", "1-6"]),
    day_of_week=st.sampled_from(["*", "*", "*", "0", "1-5", "6,0", "7"]),
)
WINDOW = timedelta(hours=48)


@st.composite
def starts(draw: st.DrawFn) -> tuple[tzinfo, datetime]:
    tz = draw(st.sampled_from(ZONES))
    around = draw(st.sampled_from(TRANSITIONS[tz]))
    shift = draw(st.integers(-36 * 60, 6 * 60)) * MINUTE
    seconds = draw(st.sampled_from([0, 0, 1, 59]))
    return tz, around + shift + timedelta(seconds=seconds)


@settings(max_examples=60, deadline=None)
@given(cron=window_crons, zone_and_start=starts())
def test_fire_times_equal_brute_force_minute_scan(
    cron: Cron, zone_and_start: tuple[tzinfo, datetime]
) -> None:
    tz, after = zone_and_start
    first_tick = after.replace(second=0) + MINUTE
    end = first_tick + WINDOW
    # The whole window, not just the first few fires: dense crons would otherwise never get
    # as far as the transition.
    expected = scan(cron, tz, first_tick, end)
    assert list(itertools.takewhile(lambda t: t < end, fire_times(cron, tz, after))) == expected


fixed_time_crons = st.builds(
    Cron,
    minute=choices(0, 59, ["*", "0", "15", "30", "45", "*/10"]),
    # Always restricted and touching 01:00-03:00, where these zones jump and repeat.
    hour=st.sampled_from(["2", "1-3", "2,14", "0-2", "1", "1,2", "2-4/2", "22-2"]),
    day=st.sampled_from(["*", "*", "1-15", "16-31"]),
    month=st.just("*"),
    day_of_week=st.sampled_from(["*", "*", "0", "6,0", "1-5"]),
)


@st.composite
def dst_starts(draw: st.DrawFn) -> tuple[tzinfo, datetime]:
    tz = draw(st.sampled_from([NEW_YORK, BERLIN, LORD_HOWE]))
    around = draw(st.sampled_from(TRANSITIONS[tz]))
    return tz, around - draw(st.integers(0, 30 * 60)) * MINUTE


@settings(max_examples=40, deadline=None)
@given(cron=fixed_time_crons, zone_and_start=dst_starts())
def test_fixed_time_fire_times_equal_brute_force_scan_across_transitions(
    cron: Cron, zone_and_start: tuple[tzinfo, datetime]
) -> None:
    tz, after = zone_and_start
    end = after + timedelta(hours=36)
    expected = scan(cron, tz, after + MINUTE, end)
    assert list(itertools.takewhile(lambda t: t < end, fire_times(cron, tz, after))) == expected
