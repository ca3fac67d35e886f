from __future__ import annotations

from datetime import datetime

import huey
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobrunner.scheduling import Cron, CronError

# (field, lowest, highest) as huey accepts them; day_of_week takes 7 as Sunday too.
DOMAINS = {
    "minute": (0, 59),
    "hour": (0, 23),
    "day": (1, 31),
    "month": (1, 12),
    "day_of_week": (0, 7),
}


@st.composite
def field_pieces(draw: st.DrawFn, field: str) -> str:
    lo, hi = DOMAINS[field]
    value = st.integers(lo, hi)
    kinds = ["*", "n", "a-b", "a-b/s"] + ([] if field == "day_of_week" else ["*/s"])
    kind = draw(st.sampled_from(kinds))
    if kind == "*":
        return "*"
    if kind == "n":
        return str(draw(value))
    if kind == "*/s":
        return f"*/{draw(st.integers(1, hi))}"
    # Ranges may run backwards: huey wraps them around the end of the field.
    text = f"{draw(value)}-{draw(value)}"
    return text if kind == "a-b" else f"{text}/{draw(st.integers(1, 8))}"


def field_values(field: str) -> st.SearchStrategy[str]:
    return st.lists(field_pieces(field), min_size=1, max_size=3).map(",".join)


crons = st.builds(
    Cron,
    minute=field_values("minute"),
    hour=field_values("hour"),
    day=field_values("day"),
    month=field_values("month"),
    day_of_week=field_values("day_of_week"),
)
wall_times = st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2101, 1, 1))


@settings(max_examples=300)
@given(cron=crons, wall=wall_times)
def test_matches_agrees_with_huey_strict_crontab(cron: Cron, wall: datetime) -> None:
    fields = {name: getattr(cron, name) for name in DOMAINS}
    assert cron.matches(wall) == huey.crontab(**fields, strict=True)(wall)


@settings(max_examples=300)
@given(text=st.text(alphabet="0123456789*/-,x ", max_size=8))
def test_field_is_accepted_exactly_when_huey_accepts_it(text: str) -> None:
    try:
        huey.crontab(hour=text, strict=True)
    except ValueError:
        with pytest.raises(CronError) as info:
            Cron(hour=text)
        assert info.value.field == "hour"
    else:
        Cron(hour=text)


def test_parse_reads_five_space_separated_fields() -> None:
    cron = Cron.parse("*/15  8-18 * *\t1-5")
    assert cron == Cron(minute="*/15", hour="8-18", day_of_week="1-5")


def test_parse_mapping_defaults_missing_fields_to_star_and_accepts_ints() -> None:
    assert Cron.parse({"minute": 0, "hour": "3"}) == Cron(minute="0", hour="3")
    assert Cron.parse({}) == Cron()


def test_str_renders_the_five_fields_in_cron_order() -> None:
    assert str(Cron.parse({"minute": 30, "hour": 2, "day": 1})) == "30 2 1 * *"
    assert str(Cron.parse("0 9 * 1,7 0")) == "0 9 * 1,7 0"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ("61 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day"),
        ("* * * 13 *", "month"),
        ("* * * * 8", "day_of_week"),
        ("* * * * */2", "day_of_week"),
        ("*/0 * * * *", "minute"),
        ("* 1-2-3 * * *", "hour"),
        ("* * * jan *", "month"),
    ],
)
def test_parse_error_names_the_invalid_field(spec: str, field: str) -> None:
    with pytest.raises(CronError) as info:
        Cron.parse(spec)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)


def test_invalid_value_message_quotes_the_value() -> None:
    with pytest.raises(CronError) as info:
        Cron.parse("61 * * * *")
    assert info.value.message == "'61' is not a valid input"


@pytest.mark.parametrize("spec", ["* * * *", "* * * * * *", ""])
def test_wrong_number_of_fields_is_a_cron_error(spec: str) -> None:
    with pytest.raises(CronError) as info:
        Cron.parse(spec)
    assert info.value.field == "cron"
    assert info.value.message == f"expected 5 fields, got {len(spec.split())}"


def test_unknown_mapping_key_is_a_cron_error() -> None:
    with pytest.raises(CronError) as info:
        Cron.parse({"minutes": 5})
    assert info.value.field == "cron"


def test_mapping_value_must_be_string_or_int() -> None:
    with pytest.raises(CronError) as info:
        Cron.parse({"hour": True})
    assert info.value.field == "hour"


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(CronError) as info:
        Cron(day="32")
    assert info.value.field == "day"


@pytest.mark.parametrize(
    ("spec", "interval"),
    [
        ("*/15 * * * *", True),
        ("0 * * * *", True),
        ("0 */1 * * *", True),
        ("0 0-23 * * *", True),
        ("0 3 * * *", False),
        ("*/15 8-18 * * 1-5", False),
        ("0 */2 * * *", False),
    ],
)
def test_is_interval_when_every_hour_is_allowed(spec: str, interval: bool) -> None:
    assert Cron.parse(spec).is_interval is interval


def test_day_of_week_seven_and_zero_both_mean_sunday() -> None:
    sunday = datetime(2026, 3, 8, 12, 0)
    assert Cron.parse("* * * * 7").matches(sunday)
    assert Cron.parse("* * * * 0").matches(sunday)
    assert not Cron.parse("* * * * 1").matches(sunday)


def test_day_and_weekday_are_both_required_unlike_vixie_cron() -> None:
    friday_13th = Cron.parse("0 0 13 * 5")
    assert friday_13th.matches(datetime(2026, 2, 13, 0, 0))  # a Friday
    assert not friday_13th.matches(datetime(2026, 1, 13, 0, 0))  # a Tuesday
    assert not friday_13th.matches(datetime(2026, 1, 16, 0, 0))  # a Friday, not the 13th


def test_backwards_range_wraps_around_like_huey() -> None:
    cron = Cron.parse("0 22-2 * * *")
    assert cron.values.hours == {22, 23, 0, 1, 2}
