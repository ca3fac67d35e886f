from __future__ import annotations

import pytest

from jobrunner.scheduling import Cron, describe


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        ("* * * * *", "every minute"),
        ("*/15 * * * *", "every 15 minutes"),
        ("0 * * * *", "at minute 0 of every hour"),
        ("0,30 * * * *", "every 30 minutes"),
        ("0,20 * * * *", "at minutes 0 and 20 of every hour"),
        ("*/7 * * * *", "at minutes 0, 7, 14, 21, 28, 35, 42, 49 and 56 of every hour"),
        ("0 3 * * *", "at 03:00 every day"),
        ("0 1,5,9 * * *", "at 01:00, 05:00 and 09:00 every day"),
        ("30 2 1 * *", "at 02:30 on day 1 of the month"),
        ("0 12 1,15 * *", "at 12:00 on days 1 and 15 of the month"),
        (
            "*/15 8-18 * * 1-5",
            "every 15 minutes, between 08:00 and 18:59, Monday to Friday",
        ),
        ("0 9 * 1,7 0", "at 09:00 on Sunday, in January and July"),
        ("5 4 * * 7", "at 04:05 on Sunday"),
        ("0 0 13 * 5", "at 00:00 on day 13 of the month, only if it is a Friday"),
        (
            "15,45 9 * 3-5 1,3,5",
            "at 09:15 and 09:45 on Monday, Wednesday and Friday, from March to May",
        ),
        ("0 */2 * * *", "at minute 0, in every 2nd hour from 00:00"),
        ("0 9-12,14-17 * * *", "at minute 0, from 09:00 to 12:59 and from 14:00 to 17:59"),
        ("0 22-2 * * 6,0", "at minute 0, between 22:00 and 02:59, on Saturday and Sunday"),
        ("*/5 22-23 * * 5-1", "every 5 minutes, between 22:00 and 23:59, Friday to Monday"),
        ("0 9 * 11-2 *", "at 09:00 from November to February"),
        ("0 0 29 2 *", "at 00:00 on day 29 of the month, in February"),
    ],
)
def test_describe_reads_cron_in_plain_english(spec: str, text: str) -> None:
    assert describe(Cron.parse(spec)) == text


def test_equivalent_spellings_read_the_same() -> None:
    assert describe(Cron.parse("0 */1 * * *")) == describe(Cron.parse("0 0-23 * * *"))
    assert describe(Cron.parse("0 0 * * 7")) == describe(Cron.parse("0 0 * * 0"))
