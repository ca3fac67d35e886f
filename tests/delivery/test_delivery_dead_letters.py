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
from huey.serializer import SignedSerializer

import jobrunner
from tests.delivery.support import SECRET, backend_lines, jobs_yaml, wait_until
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


def _write_raw(backend: str, config: Path, data: bytes) -> None:
    """Put ``data`` straight into the instance's queue, as anyone with access to it could."""
    instance = jobrunner.load_config(config, check_imports=False).config.instances["default"]
    queue = instance.queue_name
    if backend == "redis":
        redis.Redis.from_url(instance.storage["url"]).lpush(f"huey.redis.{queue}", data)
    elif backend == "postgres":
        import psycopg

        with psycopg.connect(instance.storage["dsn"], autocommit=True) as conn:
            conn.execute(
                "insert into huey_task (queue, data, priority) values (%s, %s, 0)", (queue, data)
            )
    else:
        with sqlite3.connect(instance.storage["filename"]) as db:
            db.execute("insert into task (queue, data, priority) values (?, ?, 0)", (queue, data))


@pytest.mark.parametrize("backend", ["redis", "postgres", "sqlite"])
def test_unsigned_and_forged_messages_are_refused_unread_dead_lettered_and_never_run(
    backend: str, request: pytest.FixtureRequest, project: Path, write_config: Callable[..., Path]
) -> None:
    instance = backend_lines(backend, request)
    if backend == "sqlite":
        instance += f"\nserializer: {{secret: {SECRET}}}"
    config = write_config(jobs_yaml(instance))
    unsigned, forged = project / "unsigned-ran", project / "forged-ran"
    out = project / "out.jsonl"
    with Runner(config, "--no-reload") as runner:
        runner.wait_for("Huey consumer started")
        # Anyone who can write to the storage: a pickle that runs code when unpickled,
        # plain or signed with another secret.
        _write_raw(backend, config, pickle.dumps(Evil(unsigned)))
        _write_raw(backend, config, SignedSerializer(secret="not-it").serialize(Evil(forged)))
        runner.wait_for("moved to the dead letters", count=2)
        app = jobrunner.load(config)
        app.tasks.record(str(out), "still working")
        wait_for_records(out, 1)
        app.close()
        assert runner.stop(signal.SIGTERM) == 0
        output = runner.output
    assert not unsigned.exists()
    assert not forged.exists()
    assert values(out) == ["still working"]
    assert output.count("moved to the dead letters") == 2  # logged once each
    letters = _letters(config)
    assert [letter["reason"].split(":")[0] for letter in letters] == ["bad signature"] * 2
    assert all(letter["task"] is None for letter in letters)

    listed = cli("dead-letters", str(config), cwd=project)
    assert listed.returncode == 0
    assert re.search(r"default\s+\d+\s+-\s+\S+\s+bad signature", listed.stdout), listed.stdout
    assert not unsigned.exists()
    assert not forged.exists()


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
