"""The live stream on Redis pub/sub, end to end: a real runner, a real subscriber."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis

import jobrunner
from jobrunner.events import FIELDS
from tests.events.support import RUN_SEQUENCE, add_tasks, wait_until
from tests.support.processes import Runner


@pytest.mark.slow
def test_subscriber_sees_every_step_of_a_flaky_run_and_a_fired_tick(
    project: Path, write_config: Any, redis_url: str
) -> None:
    add_tasks(project)
    config = write_config(
        f"""
        version: 1
        instances:
          default:
            backend: redis
            url: {redis_url}
            events: {{redis: true, enqueued: true}}
        tasks:
          flaky: {{function: event_tasks:flaky, retries: 2}}
        schedules:
          every_minute: {{function: event_tasks:noop, cron: "* * * * *"}}
        """
    )
    pubsub = redis.Redis.from_url(redis_url).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("jobrunner.events.default")
    received: list[dict[str, Any]] = []

    def read() -> None:
        message = pubsub.get_message(timeout=0.2)
        while message is not None:
            received.append(json.loads(message["data"]))
            message = pubsub.get_message(timeout=0)

    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        app = jobrunner.load(config)
        app.tasks.flaky(str(project / "flaky.count"), 2)

        def flaky_done() -> bool:
            read()
            return any(e["task"] == "flaky" and e["status"] == "complete" for e in received)

        wait_until(flaky_done, what="the flaky task's complete event")

        def fired() -> list[dict[str, Any]]:
            read()
            return [e for e in received if e["status"] == "fired"]

        # The schedule fires at the next minute boundary: up to a minute away.
        ticks = wait_until(fired, timeout=75, what="a fired event")
        assert runner.stop() == 0

    flaky = [e for e in received if e["task"] == "flaky"]
    # One process's events arrive in the order they happened; the producer's enqueued
    # event comes from another process, placed by its time.
    assert [e["status"] for e in flaky if e["status"] != "enqueued"] == RUN_SEQUENCE
    flaky.sort(key=lambda e: e["ts"])
    assert [e["status"] for e in flaky] == ["enqueued", *RUN_SEQUENCE]
    for event in received:
        assert set(FIELDS) <= set(event), event
        assert event["instance"] == "default"
        assert event["ts"].endswith("Z")
    runs = flaky[1:]
    assert len({e["id"] for e in flaky}) == 1
    assert all(e["consumer"] and e["pid"] and e["host"] for e in runs)
    assert all(e["generation"] == 1 for e in runs)
    errors = [e for e in runs if e["status"] == "error"]
    assert [e["error"] for e in errors] == [
        "RuntimeError: flaky failure 1",
        "RuntimeError: flaky failure 2",
    ]
    assert all("Traceback (most recent call last)" in e["traceback"] for e in errors)
    assert [e["attempt"] for e in runs if e["status"] == "retrying"] == [1, 2]
    assert [e["retries"] for e in runs if e["status"] == "started"] == [2, 1, 0]
    assert runs[-1]["duration"] is not None
    assert runs[-1]["duration"] >= 0
    assert "args" not in runs[0]  # capture_args is off
    tick = ticks[0]
    assert tick["schedule"] == "every_minute"
    assert tick["tick"].endswith(":00Z")
    assert tick["lag"] >= 0
    # The fired tick is the minute the event was emitted in.
    emitted = time.strptime(tick["ts"][:16], "%Y-%m-%dT%H:%M")
    assert time.strftime("%Y-%m-%dT%H:%M:00Z", emitted) == tick["tick"]
