"""The outage log of one storage: once when it goes, once per backoff step, once when back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from jobrunner._outage import FIRST_RETRY, MAX_RETRY, Outage, is_storage_error, outage_of
from tests.support.processes import cli


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "jobrunner.storage"]


def test_one_line_per_step_whatever_the_number_of_callers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    outage = Outage("instance default", clock=clock)
    error = redis.ConnectionError("Connection refused.")
    waits = []
    # Ten workers, a scheduler and a heartbeat fail at each moment; the clock moves a step.
    for _ in range(8):
        for _ in range(12):
            waits.append(outage.failed(error))
        clock.now += waits[-1]
    lines = _lines(caplog)
    assert lines[0] == (
        "instance default: storage unreachable (ConnectionError: Connection refused.); "
        "retrying in 1s"
    )
    steps = [line.rsplit("retrying in ", 1)[1] for line in lines]
    assert steps == ["1s", "2s", "4s", "8s", "16s", "30s", "30s", "30s"]
    assert lines[1].startswith("instance default: storage still unreachable after 1s (")
    assert FIRST_RETRY == 1.0
    assert 10 <= MAX_RETRY <= 60
    # Everyone waits for the same next try.
    assert waits[12:24] == [2.0] * 12

    clock.now += 1
    outage.ok()
    outage.ok()
    assert _lines(caplog)[-1] == "instance default: storage reachable again after 122.0s"
    assert len(_lines(caplog)) == 9
    # A new outage starts from the first step again.
    outage.failed(error)
    assert _lines(caplog)[-1].endswith("retrying in 1s")


def test_messages_are_one_line_and_secrets_are_masked() -> None:
    outage = Outage("instance default", ["s3cret"])
    error = OSError('connection to server at "db" failed:\n  password s3cret\n\tis wrong')
    assert outage.describe(error) == (
        'OSError: connection to server at "db" failed: password *** is wrong'
    )


def test_relief_runs_at_each_step_and_when_the_outage_ends() -> None:
    clock = Clock()
    outage = Outage("instance default", clock=clock)
    calls = []
    outage.relieve = lambda: calls.append(clock.now)
    error = OSError("database or disk is full")
    outage.failed(error)
    outage.failed(error)  # same step: no relief
    clock.now += 1
    outage.failed(error)
    outage.ok()
    assert calls == [1000.0, 1001.0, 1001.0]

    def broken() -> None:
        raise OSError("still full")

    outage.relieve = broken
    outage.failed(error)  # a failing relief is only a debug line
    outage.ok()


def test_quiet_copies_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage("instance default")
    outage.quiet = True
    outage.failed(redis.ConnectionError("refused"))
    outage.ok()
    assert _lines(caplog) == []


def test_storage_errors_are_told_from_bugs() -> None:
    import sqlite3

    assert is_storage_error(redis.ConnectionError("x"))
    assert is_storage_error(redis.AuthenticationError("x"))
    assert is_storage_error(sqlite3.OperationalError("database or disk is full"))
    assert is_storage_error(ConnectionRefusedError())
    assert is_storage_error(redis.exceptions.InvalidResponse("Protocol Error: b'HTTP/1.1 400'"))
    assert not is_storage_error(redis.ResponseError("WRONGTYPE"))
    assert not is_storage_error(ValueError("a bug"))
    assert not is_storage_error(KeyError("a bug"))


@pytest.mark.parametrize("command", [["dead-letters"], ["pause", "tick"]])
def test_commands_say_an_unreachable_postgres_in_one_line_without_the_password(
    command: list[str], project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        """
        version: 1
        instances:
          default:
            backend: postgres
            dsn: postgresql://u:pw-0utage-9@127.0.0.1:1/db
        schedules:
          tick: {function: sample_tasks:record, cron: "* * * * *"}
        """
    )
    done = cli(command[0], str(config), *command[1:], cwd=project)
    assert done.returncode == 1
    [line] = [x for x in done.stderr.splitlines() if "cannot reach" in x]
    # libpq's message spans lines; said, it is one, and the next line is not its tail.
    assert "Connection refused Is the server running" in line
    assert "pw-0utage-9" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


class _Flag:
    """A stop flag whose waits are recorded, not slept."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        return False

    def is_set(self) -> bool:
        return False


def test_workers_and_scheduler_on_a_dead_redis_log_one_line_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import huey

    from jobrunner._polling import PollingWorker
    from jobrunner.scheduling._scheduler import JobRunnerScheduler

    caplog.set_level(logging.DEBUG)
    dead = huey.RedisHuey("dead", url="redis://127.0.0.1:1/0")
    outage_of(dead).clock = Clock()  # frozen: however slow the machine, one backoff step
    flag = _Flag()
    workers = [PollingWorker(dead, flag, 0.1, 10.0, 1.15) for _ in range(4)]
    scheduler = JobRunnerScheduler(dead, flag, 1, True)
    for _ in range(10):
        for worker in workers:
            worker.loop()
        scheduler.loop()
    assert not [r for r in caplog.records if r.exc_info]  # huey's loops log a traceback each
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, lines
    assert lines[0].startswith("instance dead: storage unreachable (ConnectionError: ")
    # Everyone waits for the same next try, a second away, instead of spinning.
    assert flag.waits == [1.0] * 50
