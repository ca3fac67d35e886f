"""A Redis event sink that goes down mid-drain: no task lost, one log line, publishing resumes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis

import jobrunner
from tests.events.support import wait_until
from tests.integration.helpers import records
from tests.support.processes import Runner
from tests.support.servers import RedisServer

TASKS = 200


@pytest.mark.slow
def test_a_stopped_event_sink_loses_no_task_and_is_logged_once(
    project: Path, write_config: Any, tmp_path: Path
) -> None:
    sink = RedisServer(tmp_path)
    sink.start()
    try:
        config = write_config(
            f"""
            version: 1
            instances:
              default:
                backend: sqlite
                filename: jobs.db
                events: {{redis: {{url: "{sink.url}", channel: ev}}, history: false}}
            tasks:
              work: {{function: sample_tasks:sleep_and_record}}
            """
        )
        out = project / "done.jsonl"
        with Runner(config) as runner:
            runner.wait_for("INFO jobrunner: watching ")
            app = jobrunner.load(config)
            for i in range(TASKS):
                app.tasks.work(str(out), i, 0.04)
            wait_until(lambda: len(records(out)) >= 20, what="the drain under way")
            sink.stop()
            wait_until(lambda: len(records(out)) >= 80, what="the drain going on, sink down")
            sink.start()
            pubsub = redis.Redis.from_url(sink.url).pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe("ev")
            wait_until(lambda: len(records(out)) == TASKS, timeout=60, what="every task run")

            app.tasks.work(str(out), "after", 0.0)

            def published_after() -> bool:
                message = pubsub.get_message(timeout=0.2)
                while message is not None:
                    if b'"status":"complete"' in message["data"]:
                        return True
                    message = pubsub.get_message(timeout=0)
                return False

            wait_until(published_after, what="a complete event published again")
            assert runner.stop() == 0
            log = runner.output
    finally:
        sink.stop()
    assert sorted(r["value"] for r in records(out) if r["value"] != "after") == list(range(TASKS))
    assert log.count(f"event sink redis pub/sub {sink.url} channel ev unreachable") == 1
    assert log.count(f"event sink redis pub/sub {sink.url} channel ev reachable again") == 1
    assert "Traceback" not in log
