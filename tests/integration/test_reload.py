"""Hot reload of a real ``jobrunner run``: triggers, rejections, live task changes.

These use tasks (enqueued by this test process) rather than minute schedules, so
they see a change within seconds; ``test_reload_schedules.py`` has the slow ones.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

import jobrunner
from tests.integration.helpers import records, values, wait_for_records
from tests.integration.reload_support import (
    SAVE_STYLES,
    enqueue,
    publish_configmap,
    save,
    write_tasks,
)
from tests.support.processes import Runner

CONFIG = """
version: 1
instances:
  default:
    backend: sqlite
    filename: {db}
    consumer: {{workers: 2}}
tasks:
  rec:
    function: {function}
"""


def _config(project: Path, function: str = "sample_tasks:record") -> str:
    # Absolute: behind a ConfigMap symlink, a relative file would follow the data folder.
    return CONFIG.format(db=project / "queue.db", function=function)


@pytest.fixture
def tasks(project: Path) -> Path:
    write_tasks(project)
    return project


@pytest.mark.parametrize("style", SAVE_STYLES)
def test_every_save_style_is_applied(tasks: Path, style: str) -> None:
    config = tasks / "jobs.yaml"
    if style == "configmap":
        publish_configmap(config, _config(tasks))
    else:
        save(config, _config(tasks))
    out = tasks / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        enqueue(config, "rec", str(out), "one")
        wait_for_records(out, 1)
        save(config, _config(tasks, "reload_tasks:shout"), style)
        runner.wait_for("INFO jobrunner: reloaded ")
        enqueue(config, "rec", str(out), "two")
        wait_for_records(out, 2)
        assert values(out) == ["one", "TWO"]
        output = runner.output
        assert (
            "(generation 2): ~task rec (function 'sample_tasks:record'->'reload_tasks:shout')"
            in (output)
        )
        assert runner.stop() == 0
    assert "reload rejected" not in output


def test_an_invalid_save_is_rejected_and_the_fix_applied(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    save(config, _config(tasks))
    out = tasks / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        broken = _config(tasks, "reload_tasks:shout").replace("rec:\n", "rec:\n    retries: lots\n")
        save(config, broken, "atomic")
        output = runner.wait_for("reload rejected: 1 error (generation 1 keeps running)")
        line = next(i for i, text in enumerate(broken.lstrip().splitlines(), 1) if "lots" in text)
        assert f"{config}:{line}:14: tasks.rec.retries: " in output
        # The old definition still runs (a producer with a valid copy of the file enqueues).
        producer = tasks / "producer.yaml"
        save(producer, _config(tasks))
        enqueue(producer, "rec", str(out), "old")
        wait_for_records(out, 1)
        save(config, _config(tasks, "reload_tasks:shout"), "atomic")
        runner.wait_for("INFO jobrunner: reloaded ")
        enqueue(config, "rec", str(out), "fixed")
        wait_for_records(out, 2)
        assert values(out) == ["old", "FIXED"]
        assert "(generation 2): ~task rec" in runner.output
        assert runner.stop() == 0


def test_a_missing_function_is_rejected_before_anything_changes(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    save(config, _config(tasks))
    out = tasks / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        save(config, _config(tasks, "reload_tasks:nope").replace("workers: 2", "workers: 3"))
        output = runner.wait_for("reload rejected: 1 error")
        assert "tasks.rec.function: cannot import reload_tasks:nope" in output
        enqueue(config, "rec", str(out), "still old")
        wait_for_records(out, 1)
        assert values(out) == ["still old"]
        assert "consumer restarted" not in runner.output
        assert runner.stop() == 0


def test_sighup_reloads(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    save(config, _config(tasks))
    out = tasks / "out.jsonl"
    # Polling once an hour: only the signal can make this reload happen.
    with Runner(config, "--reload-poll", "3600") as runner:
        runner.wait_for("polling every 3600s")
        save(config, _config(tasks, "reload_tasks:shout"))
        runner.signal(signal.SIGHUP)
        runner.wait_for("INFO jobrunner: reloaded ")
        enqueue(config, "rec", str(out), "hup")
        wait_for_records(out, 1)
        assert values(out) == ["HUP"]
        assert runner.process.poll() is None
        assert runner.output.count(": loaded ") == 1  # no restart
        assert runner.stop() == 0


def test_reload_poll_notices_a_change(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    save(config, _config(tasks))
    with Runner(config, "--reload-poll", "0.2") as runner:
        runner.wait_for("polling every 0.2s")
        save(config, _config(tasks, "reload_tasks:shout"), "atomic")
        runner.wait_for("INFO jobrunner: reloaded ")
        assert runner.stop() == 0


def test_no_reload_disables_watching_and_sighup_restarts(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    save(config, _config(tasks))
    out = tasks / "out.jsonl"
    with Runner(config, "--no-reload") as runner:
        runner.wait_for(": loaded ")
        save(config, _config(tasks, "reload_tasks:shout"))
        enqueue(config, "rec", str(out), "unchanged")
        wait_for_records(out, 1)
        assert values(out) == ["unchanged"]
        output = runner.output
        assert "watching" not in output
        assert "reloaded" not in output
        # SIGHUP keeps huey's meaning: a graceful restart of the whole process.
        runner.signal(signal.SIGHUP)
        runner.wait_for("restarting (SIGHUP)")
        runner.wait_for(": loaded ", count=2)
        enqueue(config, "rec", str(out), "restarted")
        wait_for_records(out, 2)
        assert values(out) == ["unchanged", "RESTARTED"]
        assert runner.stop() == 0


def test_a_consumer_change_restarts_the_instance_and_keeps_its_queue(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    base = _config(tasks).replace("workers: 2", "workers: 1") + (
        "  hold:\n    function: reload_tasks:hold\n"
    )
    save(config, base)
    out = tasks / "out.jsonl"
    gate = tasks / "gate"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        enqueue(config, "hold", str(gate), str(out), "held")
        for i in range(5):
            enqueue(config, "rec", str(out), i)
        save(config, base.replace("workers: 1", "workers: 3"), "atomic")
        output = runner.wait_for("INFO jobrunner: reloaded ")
        assert "~instance default (workers 1->3, consumer restarted)" in output
        assert "3 thread worker(s)" in output
        gate.touch()  # the old consumer's running task finishes; the queue was kept
        found = wait_for_records(out, 6)
        assert sorted(map(str, values(out))) == ["0", "1", "2", "3", "4", "held"]
        assert len(found) == 6
        assert runner.stop() == 0


def test_an_added_instance_starts_and_a_removed_one_stops(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    base = _config(tasks).replace("    function:", "    instance: default\n    function:")
    save(config, base)
    out = tasks / "out.jsonl"
    two = (
        base.replace(
            "tasks:\n",
            f"  extra:\n    backend: sqlite\n    filename: {tasks / 'extra.db'}\ntasks:\n",
        )
        + "  more:\n    instance: extra\n    function: sample_tasks:record\n"
    )
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        save(config, two, "atomic")
        output = runner.wait_for("INFO jobrunner: reloaded ")
        assert "(generation 2): +instance extra, +task more" in output
        enqueue(config, "more", str(out), "on extra")
        wait_for_records(out, 1)
        save(config, base, "atomic")
        output = runner.wait_for("(generation 3)")
        assert "-instance extra, -task more" in output
        enqueue(config, "rec", str(out), "on default")
        wait_for_records(out, 2)
        assert values(out) == ["on extra", "on default"]
        assert runner.stop() == 0
    assert len(records(out)) == 2


def _waiting_for(config: Path, task: str) -> tuple[int, int]:
    """(queued, dead-lettered) messages for ``task`` in the storage of instance default."""
    from jobrunner.delivery import store_for

    app = jobrunner.load(config)
    try:
        app_huey = app.huey("default")
        name = f"jobrunner.tasks.{task}"
        queued = 0
        for data in app_huey.storage.enqueued_items():
            if app_huey.serializer.deserialize(data).name == name:
                queued += 1
        store = store_for(app_huey.storage)
        letters = store.dead_letters() if store is not None else []
        dead = sum(1 for letter in letters if (letter.task or "").endswith(task))
        return queued, dead
    finally:
        app.close()


def test_a_removed_task_keeps_its_queued_messages(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    base = (
        _config(tasks).replace("workers: 2", "workers: 1")
        + "  hold:\n    function: reload_tasks:hold\n"
        + "  victim:\n    function: sample_tasks:record\n"
    )
    save(config, base)
    producer = tasks / "producer.yaml"
    save(producer, base)
    out = tasks / "out.jsonl"
    gate = tasks / "gate"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        enqueue(config, "hold", str(gate), str(out), "held")  # keeps the only worker busy
        for i in range(5):
            enqueue(config, "victim", str(out), f"victim {i}")
        save(config, base.replace("  victim:\n    function: sample_tasks:record\n", ""), "atomic")
        output = runner.wait_for("INFO jobrunner: reloaded ")
        assert "-task victim" in output
        assert (
            "task victim was removed while 5 messages for it are waiting in instance default"
            in output
        )
        gate.touch()
        wait_for_records(out, 1)
        # The worker is free again and meets the victim's messages: they must stay in storage
        # (on the queue, or moved to the dead letters), never run and never dropped.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            queued, dead = _waiting_for(producer, "victim")
            if queued == 0:
                break
            time.sleep(0.2)
        queued, dead = _waiting_for(producer, "victim")
        assert queued + dead == 5
        assert values(out) == ["held"]
        assert runner.stop() == 0


def test_process_workers_restart_when_their_tasks_change(tasks: Path) -> None:
    config = tasks / "jobs.yaml"
    base = _config(tasks).replace("workers: 2", "workers: 1, worker_type: process")
    save(config, base)
    out = tasks / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ")
        save(config, base.replace("sample_tasks:record", "reload_tasks:shout"), "atomic")
        output = runner.wait_for("INFO jobrunner: reloaded ")
        # Forked workers keep the registry they were forked with: the instance restarts.
        assert "~instance default (process workers, consumer restarted)" in output
        enqueue(config, "rec", str(out), "forked")
        wait_for_records(out, 1)
        assert values(out) == ["FORKED"]
        assert runner.stop() == 0
