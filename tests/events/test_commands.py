"""``jobrunner status``, ``history`` and ``events`` against a real running consumer, and
against storages that cannot answer."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import jobrunner
from benchmarks._env import free_port
from tests.events.support import wait_until
from tests.support.processes import Runner, cli, env


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # exactly one document


@pytest.mark.slow
def test_status_history_and_events_of_a_running_consumer(
    project: Path, write_config: Any, redis_url: str
) -> None:
    config = write_config(
        f"""
        version: 1
        instances:
          main: {{backend: sqlite, filename: main.db}}
          shared:
            backend: redis
            url: {redis_url}
            serializer: {{secret: not-a-real-secret}}
            events: {{redis: true}}
        tasks:
          add: {{function: sample_tasks:add, instance: main}}
          boom: {{function: sample_tasks:fail, instance: shared}}
        schedules:
          nightly: {{function: sample_tasks:echo, cron: "0 3 * * *", instance: main}}
        """
    )
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        outputs = [project / "follow.jsonl", project / "follow.txt"]
        followers = [
            subprocess.Popen(
                [sys.executable, "-m", "jobrunner", "events", str(config), *fmt],
                cwd=project,
                env=env(),
                stdout=out.open("w"),
                stderr=subprocess.PIPE,
                text=True,
            )
            for fmt, out in ((["--format", "json"], outputs[0]), ([], outputs[1]))
        ]
        for follower in followers:  # following (its first line) before anything runs
            assert follower.stderr is not None
            assert "following 2 instance(s)" in follower.stderr.readline()
        app = jobrunner.load(config)
        app.tasks.add(1, 2)
        app.tasks.boom("it broke")
        wait_until(lambda: app.history(task="boom", status="error"), what="boom's error")
        wait_until(lambda: app.history(task="add", status="complete"), what="add complete")

        def live() -> Any:
            status = _json(cli("status", str(config), "--format", "json", cwd=project))
            alive = [[c for c in i["consumers"] if c["live"]] for i in status["instances"]]
            return status if all(len(a) == 1 for a in alive) else None

        status = wait_until(live, what="a live consumer on both instances")
        text_status = cli("status", str(config), cwd=project)
        history_json = _json(cli("history", str(config), "--format", "json", cwd=project))
        history_text = cli("history", str(config), "--task", "boom", cwd=project)
        for out in outputs:
            wait_until(lambda out=out: "it broke" in out.read_text(), what=f"boom in {out.name}")
        assert runner.stop() == 0
    for follower in followers:
        follower.send_signal(signal.SIGINT)
        assert follower.wait(30) == 130  # interrupted, as Ctrl-C
    followed_json, followed_text = (out.read_text() for out in outputs)

    main, shared = status["instances"]
    assert (main["name"], main["backend"], main["queue_depth"]) == ("main", "sqlite", 0)
    assert shared["target"] == redis_url
    assert main["in_flight"] == []
    assert main["dead_letters"] == 0
    assert main["last_event"]["status"] in ("complete", "consumer-started")
    assert main["consumers"][0]["workers"] == 4
    (nightly,) = status["schedules"]
    assert nightly["name"] == "nightly"
    assert nightly["paused"] is False
    assert nightly["next_fire"].endswith(":00Z")

    assert text_status.returncode == 0
    assert "instance main: sqlite " in text_status.stdout
    assert "consumers: 1 live" in text_status.stdout
    assert "nightly (main, active): last never (in the history)" in text_status.stdout

    statuses = {(e["task"], e["status"]) for e in history_json["events"]}
    assert {("add", "complete"), ("boom", "error")} <= statuses
    assert ("add", "started") not in statuses  # outcomes only by default
    assert history_text.returncode == 0
    header, row, total = history_text.stdout.splitlines()
    assert header.split() == [
        "TIME",
        "(UTC)",
        "INSTANCE",
        "TASK",
        "STATUS",
        "TOOK",
        "ATTEMPT",
        "CONSUMER",
        "ERROR",
    ]
    assert row.split()[2:5] == ["shared", "boom", "error"]
    assert row.endswith("RuntimeError: it broke")
    assert total == "1 event"

    followed = [json.loads(line) for line in followed_json.splitlines()]
    seen = {(e["task"], e["status"]) for e in followed}
    # main is followed through its history, shared through Redis pub/sub.
    assert {("add", "started"), ("add", "complete"), ("boom", "error")} <= seen
    assert "  boom  " in followed_text
    assert "RuntimeError: it broke" in followed_text


def test_status_of_an_unreachable_redis_exits_1_with_one_clean_line(
    project: Path, write_config: Any
) -> None:
    port = free_port()
    config = write_config(
        f"""
        version: 1
        instances:
          default: {{backend: redis, url: "redis://:s3cret@127.0.0.1:{port}/0"}}
        """
    )
    for command in ("status", "history"):
        result = cli(command, str(config), cwd=project)
        assert result.returncode == 1, result
        assert result.stdout == ""
        lines = [line for line in result.stderr.splitlines() if "jobrunner: error" in line]
        assert len(lines) == 1, result.stderr
        assert f"cannot reach its storage redis://:***@127.0.0.1:{port}/0" in lines[0]
        assert "s3cret" not in result.stderr
        assert "Traceback" not in result.stderr


def test_status_answers_0_with_no_consumer_running(project: Path, write_config: Any) -> None:
    config = write_config(
        """
        version: 1
        instances:
          default: {backend: sqlite, filename: q.db}
        tasks:
          add: {function: sample_tasks:add}
        """
    )
    jobrunner.load(config).tasks.add(1, 2)  # a producer creates the file and queues one
    status = _json(cli("status", str(config), "--format", "json", cwd=project))
    (instance,) = status["instances"]
    assert instance["queue_depth"] == 1
    assert instance["consumers"] == []
    assert instance["last_event"] is None
    history = _json(cli("history", str(config), "--format", "json", cwd=project))
    assert history == {"events": []}
