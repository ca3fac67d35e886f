"""huey's clear of a finished task's revoke flag, sent with the worker's next take.

Driven loop by loop in this process against real SQLite, Redis (list and
priority) and PostgreSQL, with jobrunner's storage classes (the ones that defer
the clear). Each test checks what another client of the storage would see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import huey
import pytest

from jobrunner.delivery import DeliveryWorker
from jobrunner.factory._backends import _STORAGE_CLASSES
from tests.delivery.test_delivery_worker import Rig

BACKENDS = ["sqlite", "redis", "priority-redis", "postgres"]


def _huey(kind: str, request: pytest.FixtureRequest, folder: Path) -> huey.Huey:
    name = f"q{uuid.uuid4().hex[:8]}"
    storage_class = _STORAGE_CLASSES[kind]
    if kind == "sqlite":
        return huey.SqliteHuey(name, filename=str(folder / "q.db"), storage_class=storage_class)
    if kind == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        return huey.PostgresHuey(name, dsn=dsn, read_timeout=0.2, storage_class=storage_class)
    url = request.getfixturevalue("redis_url")
    return huey.Huey(name, url=url, read_timeout=0.2, storage_class=storage_class)


@pytest.fixture(params=BACKENDS)
def rig(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Rig]:
    made = Rig(_huey(request.param, request, tmp_path))
    yield made
    made.stop()
    made.huey.storage.close()


def _second_worker(rig: Rig) -> DeliveryWorker:
    return DeliveryWorker(rig.huey, rig.worker.stop_flag, 0.001, 0.001, 1.0, delivery=rig.delivery)


def _run_a_task_that_revokes_itself(rig: Rig) -> list[str]:
    """Queue a task that revokes itself while it runs, run it; the ids it ran with."""
    seen: list[str] = []

    @rig.huey.task(name="revokes_itself", context=True)
    def revokes_itself(task: Any = None) -> None:
        seen.append(task.id)
        rig.huey.revoke_by_id(task.id)

    revokes_itself()
    rig.worker.loop()
    return seen


def test_a_revoke_during_the_run_is_cleared_with_the_next_take(rig: Rig) -> None:
    seen = _run_a_task_that_revokes_itself(rig)
    (task_id,) = seen
    # Not yet: the clear waits for the worker's next round trip...
    assert rig.huey.is_revoked(task_id)
    rig.worker.loop()  # ...its next take (the queue is empty)
    assert not rig.huey.is_revoked(task_id)


def test_a_stopping_worker_sends_the_clears_it_still_holds(rig: Rig) -> None:
    seen = _run_a_task_that_revokes_itself(rig)
    rig.worker.shutdown()
    assert not rig.huey.is_revoked(seen[0])


def test_a_retry_of_a_task_revoked_mid_run_runs_on_another_worker(rig: Rig) -> None:
    # huey clears the flag before it requeues the retry (same task id): a worker
    # that takes the retry before the first worker's next take must not skip it.
    runs: list[str] = []

    @rig.huey.task(name="fails_once", context=True, retries=1)
    def fails_once(task: Any = None) -> None:
        runs.append(task.id)
        if len(runs) == 1:
            rig.huey.revoke_by_id(task.id)
            raise RuntimeError("first run fails")

    fails_once()
    rig.worker.loop()
    other = _second_worker(rig)
    other.loop()
    other.shutdown()
    assert len(runs) == 2
    assert runs[0] == runs[1]  # the retry (same task id), not skipped as revoked
    assert rig.huey.storage.queue_size() == 0


def test_a_task_that_restores_itself_gets_the_storage_answer(rig: Rig) -> None:
    answers: list[bool] = []

    @rig.huey.task(name="restores_itself", context=True)
    def restores_itself(task: Any = None) -> None:
        rig.huey.revoke_by_id(task.id)
        answers.append(bool(rig.huey.restore_by_id(task.id)))
        answers.append(bool(rig.huey.is_revoked(task.id)))

    restores_itself()
    rig.worker.loop()
    assert answers == [True, False]


def test_a_task_lock_is_released_when_the_body_ends(rig: Rig) -> None:
    @rig.huey.task(name="locked")
    @rig.huey.lock_task("only-one")
    def locked() -> None:
        pass

    locked()
    rig.worker.loop()
    # Released by the task, not with the worker's next take.
    assert not rig.huey.is_locked("only-one")


def test_a_producer_restore_deletes_at_once(rig: Rig) -> None:
    rig.huey.revoke_by_id("some-id")
    assert rig.huey.restore_by_id("some-id")
    assert not rig.huey.is_revoked("some-id")
