"""Claims on real storage: one winner per (schedule, tick) on every backend, and the sweep."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import huey
import pytest

from jobrunner.scheduling._claims import (
    claim,
    claim_key,
    claim_owner,
    claimed_ticks,
    parse_claim_key,
    release,
    sweep_claims,
)

TICK = datetime(2026, 5, 4, 12, 1, tzinfo=UTC)
BACKENDS = ["sqlite", "redis", "redis-expire", "postgres", "file", "memory"]


@pytest.fixture
def make_huey(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], huey.Huey]]:
    """A factory of huey objects that share one storage of the backend under test."""
    backend = request.param
    name = f"claims{uuid.uuid4().hex[:8]}"
    made: list[huey.Huey] = []
    memory = huey.MemoryHuey(name)

    def make() -> huey.Huey:
        if backend == "sqlite":
            h = huey.SqliteHuey(name, filename=str(tmp_path / "q.db"))
        elif backend == "redis":
            h = huey.RedisHuey(name, url=request.getfixturevalue("redis_url"))
        elif backend == "redis-expire":
            h = huey.RedisExpireHuey(name, url=request.getfixturevalue("redis_url"))
        elif backend == "postgres":
            h = huey.PostgresHuey(name, dsn=request.getfixturevalue("postgres_dsn"))
        elif backend == "file":
            h = huey.FileHuey(name, path=str(tmp_path / "files"))
        else:
            h = memory  # one process: the same storage object
        made.append(h)
        return h

    yield make
    for h in made:
        h.storage.close()


@pytest.mark.parametrize("make_huey", BACKENDS, indirect=True)
def test_one_winner_per_tick_among_many_racing_claimants(
    make_huey: Callable[[], huey.Huey],
) -> None:
    storages = [make_huey().storage for _ in range(3)]

    def attempt(index: int) -> bool:
        return claim(storages[index % 3], "report", TICK, f"runner-{index}")

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(attempt, range(24)))
    assert results.count(True) == 1
    winner = f"runner-{results.index(True)}"
    assert claim_owner(storages[1], "report", TICK) == winner
    # Another tick, or another schedule, is a different claim.
    assert claim(storages[2], "report", TICK + timedelta(minutes=1))
    assert claim(storages[0], "backup", TICK)


@pytest.mark.parametrize("make_huey", BACKENDS, indirect=True)
def test_release_lets_the_tick_be_claimed_again(make_huey: Callable[[], huey.Huey]) -> None:
    storage = make_huey().storage
    assert claim(storage, "report", TICK)
    release(storage, "report", TICK)
    assert claim_owner(storage, "report", TICK) is None
    assert claim(storage, "report", TICK, "second")
    assert claim_owner(storage, "report", TICK) == "second"


@pytest.mark.parametrize("make_huey", BACKENDS, indirect=True)
def test_sweep_deletes_only_claims_older_than_the_cutoff(
    make_huey: Callable[[], huey.Huey],
) -> None:
    app_huey = make_huey()
    storage = app_huey.storage
    ticks = [TICK - timedelta(hours=h) for h in (0, 1, 23, 25, 48)]
    for tick in ticks:
        claim(storage, "report", tick)
    claim(storage, "backup", TICK - timedelta(days=3))
    # Other data in the same store is left alone.
    app_huey.put("unrelated", "value")
    deleted = sweep_claims(storage, TICK - timedelta(days=1))
    assert deleted == 3
    assert sorted(claimed_ticks(storage)) == [
        ("report", TICK - timedelta(hours=23)),
        ("report", TICK - timedelta(hours=1)),
        ("report", TICK),
    ]
    assert app_huey.get("unrelated", peek=True) == "value"


def _claim_in_process(path: str, name: str, barrier: object, results: object) -> None:
    storage = huey.SqliteHuey(name, filename=path).storage
    barrier.wait()  # type: ignore[attr-defined]
    results.put(claim(storage, "report", TICK))  # type: ignore[attr-defined]


def test_one_winner_among_processes_on_one_sqlite_file(tmp_path: Path) -> None:
    path = str(tmp_path / "q.db")
    huey.SqliteHuey("procs", filename=path)  # create the tables once
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    processes = [
        context.Process(target=_claim_in_process, args=(path, "procs", barrier, results))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
    assert sorted(outcomes) == [False, False, False, True]


def test_claim_keys_round_trip() -> None:
    key = claim_key("nightly_backup", TICK)
    assert key == "jobrunner:claim:nightly_backup:20260504T1201Z"
    assert parse_claim_key(key) == ("nightly_backup", TICK)
    assert parse_claim_key("jobrunner:claim:huey:app.tasks.legacy:20260504T1201Z") == (
        "huey:app.tasks.legacy",
        TICK,
    )
    assert parse_claim_key("r:some-task-id") is None
    assert parse_claim_key("jobrunner:claim:broken") is None
