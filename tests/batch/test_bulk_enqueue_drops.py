"""A bulk enqueue whose connection drops part-way: every item is enqueued at most once, and the
error says how many were. Real servers: a redis-server killed with SIGKILL (its append-only
file, fsynced per write, tells what it had accepted) and a PostgreSQL backend terminated with
``pg_terminate_backend``."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobrunner
from benchmarks._env import free_port

pytestmark = pytest.mark.slow


class DurableRedis:
    """A private redis-server that fsyncs every write, so what survives a SIGKILL is what it
    had accepted."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (.ci/run installs it)"
        self.process = subprocess.Popen(
            [
                *(binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def durable_redis(tmp_path: Path) -> Iterator[DurableRedis]:
    server = DurableRedis(tmp_path)
    server.start()
    yield server
    server.kill()


def _config(write_config: Callable[..., Path], instance: str) -> Path:
    return write_config(
        f"version: 1\ninstances:\n  main:\n    {instance}\n"
        "    serializer: {secret: drop-test-secret}\n"
        "tasks:\n  add:\n    function: sample_tasks:add\n"
    )


def test_redis_killed_part_way_the_error_says_how_many_were_enqueued(
    durable_redis: DurableRedis, write_config: Callable[..., Path]
) -> None:
    import redis

    config = _config(write_config, f"backend: redis\n    url: {durable_redis.url}")
    total = 400_000
    with jobrunner.load(config) as app:
        app_huey = app.huey("main")
        watcher = redis.Redis.from_url(durable_redis.url)

        def kill_part_way() -> None:
            while watcher.llen(app_huey.storage.queue_key) < 2000:
                time.sleep(0.002)
            durable_redis.kill()

        killer = threading.Thread(target=kill_part_way)
        killer.start()
        with pytest.raises(jobrunner.BulkEnqueueError) as caught:
            app.tasks.add.map((i, i) for i in range(total))
        killer.join()
        error = caught.value
        durable_redis.start()  # reloads what it had accepted from its append-only file
        queued = app_huey.storage.enqueued_items()
    ids = [app_huey.deserialize_task(m).id for m in queued]
    assert len(ids) == len(set(ids))  # nothing twice
    assert 0 < error.enqueued < total
    # Exactly the reported ones, plus the one batch whose answer never came, if it was written.
    assert error.enqueued <= len(ids) <= error.enqueued + error.uncertain
    assert ids[: error.enqueued] == [r.id for r in error.results]
    assert f"stopped after {error.enqueued} of {total} task(s)" in str(error)
    assert len(error.pending) == total - error.enqueued


def test_postgres_backend_terminated_part_way_enqueues_each_item_once(
    postgres_dsn: str, write_config: Callable[..., Path]
) -> None:
    import psycopg

    queue = f"q{uuid.uuid4().hex[:8]}"
    config = _config(write_config, f"backend: postgres\n    dsn: {postgres_dsn}\n    name: {queue}")
    total = 60_000
    terminated = 0
    with jobrunner.load(config) as app:
        app_huey = app.huey("main")
        app_huey.storage.sql("select 1")  # connect, so there is a backend to terminate
        pid = app_huey.storage.conn.info.backend_pid
        done = threading.Event()

        def terminate_part_way() -> None:
            nonlocal terminated
            with psycopg.connect(postgres_dsn, autocommit=True) as admin:
                while not done.is_set() and terminated < 3:
                    size = admin.execute(
                        "select count(*) from huey_task where queue = %s", (queue,)
                    ).fetchone()
                    if size and size[0] >= 5000 * (terminated + 1):
                        row = admin.execute(
                            "select pid from pg_stat_activity where datname = current_database() "
                            "and pid <> pg_backend_pid() and application_name = ''"
                        ).fetchall()
                        for (backend,) in row:
                            admin.execute("select pg_terminate_backend(%s)", (backend,))
                        terminated += 1
                    time.sleep(0.005)

        killer = threading.Thread(target=terminate_part_way)
        killer.start()
        try:
            results = app.tasks.add.map((i, i) for i in range(total))
        finally:
            done.set()
            killer.join()
        assert pid != app_huey.storage.conn.info.backend_pid  # it did lose its connection
        queued = app_huey.storage.enqueued_items()
    assert terminated >= 1
    ids = [app_huey.deserialize_task(m).id for m in queued]
    assert results is not None
    assert ids == [r.id for r in results]  # each once, in order
