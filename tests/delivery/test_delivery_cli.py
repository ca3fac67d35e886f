"""``jobrunner dead-letters`` and ``jobrunner validate`` on delivery, without a consumer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import yaml

import jobrunner
from jobrunner.delivery import store_for
from tests.delivery.support import jobs_yaml
from tests.support.processes import cli

SQLITE = "backend: sqlite\nfilename: queue.db"


def _bury(config: Path, task: str, reason: str) -> int:
    """Put a dead letter for ``task`` into ``config``'s instance, as a consumer would."""
    app = jobrunner.load(config)
    storage = app.huey().storage
    store = store_for(storage)
    assert store is not None
    store.setup()
    store.renew("test-consumer", 30)
    storage.enqueue(b"raw message")
    taken = store.take("test-consumer", [])
    assert taken is not None
    id = store.bury("test-consumer", taken, task, reason, time.time())
    app.close()
    return id


def test_requeue_warns_when_the_task_is_not_in_the_file(
    project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(jobs_yaml(SQLITE))
    id = _bury(config, "jobrunner.tasks.gone", "unknown task jobrunner.tasks.gone")
    done = cli("dead-letters", str(config), "--requeue", str(id), cwd=project)
    assert done.returncode == 0
    assert f"instance default: requeued dead letter {id} (task gone)" in done.stdout
    assert "warning: task gone is not in" in done.stderr
    assert "no dead letters" in cli("dead-letters", str(config), cwd=project).stdout


def test_requeue_of_a_known_task_says_nothing_more(
    project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(jobs_yaml(SQLITE))
    id = _bury(config, "jobrunner.tasks.record", "unknown task jobrunner.tasks.record")
    done = cli("dead-letters", str(config), "--requeue", str(id), cwd=project)
    assert done.returncode == 0
    assert done.stderr == ""


def test_requeue_and_purge_are_exclusive_and_ids_must_exist(
    project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(jobs_yaml(SQLITE))
    both = cli("dead-letters", str(config), "--requeue", "1", "--purge", cwd=project)
    assert both.returncode == 2
    missing = cli("dead-letters", str(config), "--requeue", "7", cwd=project)
    assert missing.returncode == 1
    assert "no dead letter 7 in default" in missing.stderr


def test_unknown_instance_and_backends_without_dead_letters(
    project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(jobs_yaml(SQLITE))
    unknown = cli("dead-letters", str(config), "--instance", "nope", cwd=project)
    assert unknown.returncode == 1
    assert "nope" in unknown.stderr
    files = write_config(jobs_yaml("backend: file\npath: files"), name="files.yaml")
    none = cli("dead-letters", str(files), cwd=project)
    assert none.returncode == 1
    assert "keeps dead letters (only the sqlite, redis and postgres backends do)" in none.stderr


def test_validate_warns_about_shared_backends_without_a_secret(
    project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        "version: 1\n"
        "instances:\n"
        "  cache: {backend: redis, url: 'redis://127.0.0.1:1/0'}\n"
        "  db: {backend: postgres, dsn: 'postgresql://u@127.0.0.1:1/x'}\n"
        "  signed: {backend: redis, url: 'redis://127.0.0.1:1/0', serializer: {secret: s}}\n"
        "  local: {backend: sqlite}\n"
        "tasks:\n"
        "  record: {function: 'sample_tasks:record', instance: local}\n"
    )
    done = cli("validate", str(config), cwd=project)
    assert done.returncode == 0  # a warning, not an error
    assert "instance 'cache' uses redis without a message signing secret" in done.stdout
    assert "instance 'db' uses postgres without a message signing secret" in done.stdout
    assert "'signed'" not in done.stdout
    assert "'local'" not in done.stdout
    hint = 'serializer: {secret: "${JOBRUNNER_SECRET}"}'
    assert hint in done.stdout
    # The hint pasted as written is valid YAML.
    assert yaml.safe_load(hint) == {"serializer": {"secret": "${JOBRUNNER_SECRET}"}}
