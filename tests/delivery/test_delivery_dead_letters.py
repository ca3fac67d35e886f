"""Dead letters instead of drops, with a real ``jobrunner run`` and ``jobrunner dead-letters``."""

from __future__ import annotations

import json
import pickle
import re
import signal
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis

import jobrunner
from tests.delivery.support import SECRET, jobs_yaml, wait_until
from tests.integration.helpers import values, wait_for_records
from tests.support.processes import Runner, cli

pytestmark = pytest.mark.slow


class Evil:
    """Unpickling this creates ``path``: the payload of a forged message."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (open, (str(self.path), "w"))


def _letters(config: Path) -> list[dict[str, Any]]:
    done = cli("dead-letters", str(config), "--format", "json", cwd=config.parent)
    assert done.returncode == 0, done.stderr
    found: dict[str, list[dict[str, Any]]] = json.loads(done.stdout)
    return found["default"]


def test_an_unsigned_message_in_redis_is_refused_dead_lettered_and_never_run(
    redis_url: str, project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        jobs_yaml(f"backend: redis\nurl: {redis_url}\nserializer: {{secret: {SECRET}}}")
    )
    marker = project / "payload-ran"
    out = project / "out.jsonl"
    with Runner(config, "--no-reload") as runner:
        runner.wait_for("Huey consumer started")
        # Anyone who can write to Redis: a pickle that runs code when unpickled.
        redis.Redis.from_url(redis_url).lpush("huey.redis.default", pickle.dumps(Evil(marker)))
        runner.wait_for("moved to the dead letters")
        app = jobrunner.load(config)
        app.tasks.record(str(out), "still working")
        wait_for_records(out, 1)
        assert runner.stop(signal.SIGTERM) == 0
        output = runner.output
    assert not marker.exists()
    assert values(out) == ["still working"]
    assert output.count("moved to the dead letters") == 1  # logged once
    [letter] = _letters(config)
    assert letter["reason"].startswith("bad signature")
    assert letter["task"] is None

    listed = cli("dead-letters", str(config), cwd=project)
    assert listed.returncode == 0
    assert re.search(r"default\s+1\s+-\s+\S+\s+bad signature", listed.stdout), listed.stdout
    assert not marker.exists()


def test_unknown_task_and_corrupt_message_are_dead_lettered_then_requeued_and_purged(
    project: Path, write_config: Callable[..., Path]
) -> None:
    instance = "backend: sqlite\nfilename: queue.db"
    config = write_config(jobs_yaml(instance))
    later = "  later:\n    function: sample_tasks:record\n"
    producer = write_config(jobs_yaml(instance, tasks=later), name="producer.yaml")
    out = project / "out.jsonl"

    with Runner(config, "--no-reload") as runner:
        runner.wait_for("Huey consumer started")
        jobrunner.load(producer).tasks.later(str(out), "late")
        with sqlite3.connect(project / "queue.db") as db:
            db.execute(
                "insert into task (queue, data, priority) values ('default', ?, 0)",
                (b"\x80\x05 corrupt",),
            )
        runner.wait_for("moved to the dead letters", count=2)
        jobrunner.load(config).tasks.record(str(out), "still working")
        wait_for_records(out, 1)
        assert runner.stop(signal.SIGTERM) == 0
    assert values(out) == ["still working"]

    letters = {letter["id"]: letter for letter in _letters(config)}
    assert len(letters) == 2
    [unknown] = [d for d in letters.values() if d["task"] == "jobrunner.tasks.later"]
    [corrupt] = [d for d in letters.values() if d["task"] is None]
    assert unknown["reason"] == "unknown task jobrunner.tasks.later"
    assert corrupt["reason"].startswith("cannot be deserialized: ")

    listed = cli("dead-letters", str(config), cwd=project)
    assert listed.returncode == 0
    assert "INSTANCE  ID  TASK" in listed.stdout
    assert re.search(rf"default\s+{unknown['id']}\s+later\s+\S+\s+unknown task", listed.stdout)
    assert "2 dead letters" in listed.stdout

    # The task exists again: a consumer that knows it runs the requeued message.
    config.write_text(jobs_yaml(instance, tasks=later))
    with Runner(config, "--no-reload") as runner:
        runner.wait_for("Huey consumer started")
        done = cli("dead-letters", str(config), "--requeue", str(unknown["id"]), cwd=project)
        assert done.returncode == 0, done.stderr
        assert f"instance default: requeued dead letter {unknown['id']} (task later)" in done.stdout
        assert done.stderr == ""
        wait_until(lambda: "late" in values(out), 30, "the requeued task running")

        # A corrupt message requeued is refused again, with a warning beforehand.
        again = cli("dead-letters", str(config), "--requeue", str(corrupt["id"]), cwd=project)
        assert again.returncode == 0
        assert "the consumer will dead-letter it again" in again.stderr
        runner.wait_for("moved to the dead letters")
        assert runner.stop(signal.SIGTERM) == 0
    assert sorted(values(out)) == ["late", "still working"]

    missing = cli("dead-letters", str(config), "--requeue", "999", cwd=project)
    assert missing.returncode == 1
    assert "no dead letter 999" in missing.stderr

    purged = cli("dead-letters", str(config), "--purge", cwd=project)
    assert purged.returncode == 0
    assert "instance default: purged 1 dead letter" in purged.stdout
    assert _letters(config) == []
    assert "no dead letters (default)" in cli("dead-letters", str(config), cwd=project).stdout
