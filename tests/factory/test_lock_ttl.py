"""Lock ttl in jobrunner's storage layer, against real SQLite, Redis (7.0) and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from huey.exceptions import TaskLockedException

import jobrunner


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def app(
    request: pytest.FixtureRequest, write_config: Callable[..., Path]
) -> Iterator[jobrunner.App]:
    queue = f"ttl{uuid.uuid4().hex[:8]}"
    if request.param == "sqlite":
        lines = "backend: sqlite"
    elif request.param == "redis":
        lines = f"backend: redis, url: '{request.getfixturevalue('redis_url')}', name: {queue}"
    else:
        lines = (
            f"backend: postgres, dsn: '{request.getfixturevalue('postgres_dsn')}', name: {queue}"
        )
    with jobrunner.load(write_config(f"version: 1\ninstances:\n  db: {{{lines}}}\n")) as loaded:
        yield loaded


@pytest.mark.slow
def test_a_lock_with_a_ttl_is_free_again_when_it_ends(app: jobrunner.App) -> None:
    h = app.huey()
    taken = time.monotonic()
    # 3 s, not 1: the two refusals below must come before it ends, on a loaded machine too.
    h.lock_task("job", ttl=3).acquire()
    with pytest.raises(TaskLockedException):
        h.lock_task("job").acquire()  # held: a taker without a ttl is refused too
    with pytest.raises(TaskLockedException):
        h.lock_task("job", ttl=3).acquire()
    deadline = time.monotonic() + 30
    while True:
        try:
            h.lock_task("job").acquire()  # taken over once the ttl ended
            break
        except TaskLockedException:
            assert time.monotonic() < deadline, "the lock never expired"
            time.sleep(0.05)
    assert time.monotonic() - taken >= 3.0
    # Taken without a ttl: held for good, until released.
    time.sleep(1.1)
    with pytest.raises(TaskLockedException):
        h.lock_task("job", ttl=1).acquire()
    h.lock_task("job").release()
    h.lock_task("job", ttl=60).acquire()
    assert h.is_locked("job")
    assert h.flush_locks() == {"job"}
    assert not h.is_locked("job")


def test_keys_that_are_not_locks_keep_huey_semantics(app: jobrunner.App) -> None:
    storage = app.huey().storage
    # A value that sorts like an expired deadline must not be taken over: only lock keys are.
    assert storage.put_if_empty("claim.tick", b"jobrunner:lock-until:0000000000000000")
    assert not storage.put_if_empty("claim.tick", b"other")
    assert storage.peek_data("claim.tick") == b"jobrunner:lock-until:0000000000000000"
