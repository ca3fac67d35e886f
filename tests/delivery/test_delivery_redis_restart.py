"""Redis restarted under a running consumer: it reconnects with backoff, says so, loses nothing.

The Redis here is a private one of this test (not the session's), with a save
point so that a restart keeps the data, as a production Redis with persistence.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

import jobrunner
from tests.delivery.support import SECRET, jobs_yaml, wait_for_all
from tests.integration.helpers import records, wait_for_records
from tests.support.processes import Runner
from tests.support.servers import RedisServer

pytestmark = pytest.mark.slow


def test_redis_restart_the_consumer_reconnects_and_nothing_is_lost(
    tmp_path: Path, project: Path, write_config: Callable[..., Path]
) -> None:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    try:
        # SIGTERM makes redis-server save when a save point is set; the restart loads it.
        redis.Redis.from_url(server.url).config_set("save", "3600 1")
        config = write_config(
            jobs_yaml(f"backend: redis\nurl: {server.url}\nserializer: {{secret: {SECRET}}}")
        )
        out = project / "out.jsonl"
        app = jobrunner.load(config)
        for number in range(60):
            app.tasks.sleepy(str(out), number, 0.2)
        app.close()

        with Runner(config, "--no-reload") as runner:
            wait_for_records(out, 8, timeout=60)
            server.restart(down_for=2.0)
            counts = wait_for_all(out, range(60), timeout=120)
            output = runner.wait_for("storage reachable again")
            assert runner.stop(signal.SIGTERM) == 0
        assert len(records(out)) < 60 + 4  # at most the 4 in flight ran twice
        assert max(counts.values()) <= 2
        assert "instance default: storage unreachable (ConnectionError" in output
        assert "); retrying in 1s" in output
        assert "Process Worker" not in output  # no worker died
    finally:
        server.stop()
