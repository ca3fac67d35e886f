"""Task handles (``jobrunner.load(...).tasks.X``) against a running ``jobrunner run``.

Each test runs on SQLite and on Redis. Most share one ``jobrunner run`` per
backend for the module; the revoke tests start their own consumer after they
have queued their messages, so the order a single worker sees is fixed.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from huey.exceptions import ResultTimeout

import jobrunner
from tests.integration.helpers import records, values
from tests.support.processes import Runner, env
from tests.support.servers import RedisServer

SUPPORT = Path(__file__).resolve().parents[1] / "support"

# A task module that cannot be imported without its (stand-in) heavy dependency:
# only the consumer, started with HEAVY_DEPS=installed, can import it.
HEAVY_TASKS = """
import os

if os.environ.get("HEAVY_DEPS") != "installed":
    raise ImportError("heavy_tasks needs its heavy dependencies (HEAVY_DEPS=installed)")


def triple(x):
    return 3 * x
"""

TASKS = """
tasks:
  add:
    function: sample_tasks:add
  echo:
    function: sample_tasks:echo
  rec:
    function: sample_tasks:record
  nap:
    function: sample_tasks:sleep_and_record
  triple:
    function: heavy_tasks:triple
schedules:
  yearly:
    function: sample_tasks:record
    cron: "0 0 1 1 *"
    args: [yearly.jsonl, fired]
"""


def _instance(backend: str, redis_url: str) -> str:
    if backend == "redis":
        # A short blocking read keeps the consumer's shutdown quick.
        return (
            f"backend: redis\n    url: {redis_url}\n    read_timeout: 0.2\n"
            f"    name: q{uuid.uuid4().hex[:8]}"
        )
    return "backend: sqlite"


def _write_project(folder: Path, backend: str, redis_url: str, workers: int) -> Path:
    shutil.copy(SUPPORT / "sample_tasks.py", folder / "sample_tasks.py")
    (folder / "heavy_tasks.py").write_text(HEAVY_TASKS)
    config = folder / "jobs.yaml"
    config.write_text(
        "version: 1\ninstances:\n  main:\n"
        f"    {_instance(backend, redis_url)}\n    consumer: {{workers: {workers}}}\n"
        + textwrap.dedent(TASKS)
    )
    return config


@dataclass
class Served:
    """A project folder whose jobs.yaml is being run by ``runner``."""

    backend: str
    folder: Path
    config: Path
    runner: Runner


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
) -> Iterator[Served]:
    backend: str = request.param
    folder = tmp_path_factory.mktemp(f"handles-{backend}")
    config = _write_project(folder, backend, redis_server.url, workers=2)
    runner = Runner(config, HEAVY_DEPS="installed")
    try:
        runner.wait_for("INFO jobrunner: loaded ")
        yield Served(backend, folder, config, runner)
        assert runner.stop(signal.SIGINT) == 0, runner.output
    finally:
        if runner.process.poll() is None:
            runner.kill()


@pytest.fixture
def app(served: Served) -> Iterator[jobrunner.App]:
    with jobrunner.load(served.config) as loaded:
        yield loaded


def test_result_get_returns_the_value(app: jobrunner.App) -> None:
    # Deadlines for a loaded machine: a result normally comes back in milliseconds.
    assert app.tasks.add(2, 3).get(blocking=True, timeout=60) == 5
    result = app.tasks["echo"](1, "two", three=3)
    assert result.get(blocking=True, timeout=60) == {"args": [1, "two"], "kwargs": {"three": 3}}


def test_producer_process_never_imports_the_task_module(served: Served) -> None:
    script = textwrap.dedent("""
        import json, sys
        import jobrunner

        app = jobrunner.load(sys.argv[1])
        value = app.tasks.triple(14).get(blocking=True, timeout=60)
        imported = [m for m in ("heavy_tasks", "sample_tasks") if m in sys.modules]
        print(json.dumps({"value": value, "imported": imported}))
    """)
    # Run from the project folder, where heavy_tasks.py would import (and raise).
    done = subprocess.run(
        [sys.executable, "-c", script, str(served.config)],
        cwd=served.folder,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"value": 42, "imported": []}


def test_misspelled_task_name_lists_the_known_ones(app: jobrunner.App) -> None:
    with pytest.raises(jobrunner.UnknownNameError) as caught:
        app.tasks.ad(1, 2)
    message = str(caught.value)
    assert "did you mean 'add'?" in message
    assert "known tasks: add, echo, nap, rec, triple" in message


def test_huey_by_instance_name(app: jobrunner.App, served: Served) -> None:
    import huey

    expected = huey.RedisHuey if served.backend == "redis" else huey.SqliteHuey
    assert isinstance(app.huey("main"), expected)
    assert app.huey() is app.huey("main")
    # The handle enqueues on that very huey.
    assert app.tasks.add.huey is app.huey("main")


def test_schedule_handle_revoke_once_is_revoked_restore(served: Served) -> None:
    with jobrunner.load(served.config) as app, jobrunner.load(served.config) as other:
        handle = app.schedules.yearly
        assert not handle.is_revoked()
        handle.revoke(revoke_once=True)
        # The state lives in the backend: another producer sees it.
        assert handle.is_revoked()
        assert other.schedules.yearly.is_revoked()
        assert handle.restore()
        assert not other.schedules.yearly.is_revoked()
        until = datetime.now(UTC) + timedelta(hours=1)
        handle.revoke(revoke_until=until)
        assert handle.is_revoked()
        assert not handle.is_revoked(until.replace(tzinfo=None) + timedelta(seconds=1))
        handle.restore()


@pytest.mark.slow
def test_result_timeout_when_the_task_is_slower(app: jobrunner.App, served: Served) -> None:
    out = served.folder / f"nap-{uuid.uuid4().hex}.jsonl"
    result = app.tasks.nap(str(out), "late", 3.0)
    started = time.monotonic()
    with pytest.raises(ResultTimeout):
        result.get(blocking=True, timeout=0.5)
    assert time.monotonic() - started >= 0.5
    assert result.get(blocking=True, timeout=60) == "late"


@pytest.mark.slow
def test_schedule_with_delay_runs_not_before_it(app: jobrunner.App, served: Served) -> None:
    out = served.folder / f"delay-{uuid.uuid4().hex}.jsonl"
    before = time.time()
    result = app.tasks.rec.schedule(args=(str(out), "later"), delay=2)
    assert result.get(blocking=True, timeout=60) == "later"
    [record] = records(out)
    assert record["time"] >= before + 2


@pytest.mark.slow
def test_schedule_with_eta(app: jobrunner.App, served: Served) -> None:
    out = served.folder / f"eta-{uuid.uuid4().hex}.jsonl"
    eta = datetime.now(UTC) + timedelta(seconds=2)
    result = app.tasks.rec.schedule(args=(str(out), "at-eta"), kwargs={"k": 1}, eta=eta)
    assert result.get(blocking=True, timeout=60) == "at-eta"
    [record] = records(out)
    assert record["time"] >= eta.timestamp()
    assert record["kwargs"] == {"k": 1}


# The revoke test queues first and starts a one-worker consumer afterwards.


@dataclass
class Queued:
    config: Path
    start: Callable[[], Runner]


@pytest.fixture(params=["sqlite", "redis"])
def queued(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[Queued]:
    config = _write_project(tmp_path, request.param, redis_url, workers=1)
    runners: list[Runner] = []

    def start() -> Runner:
        runners.append(Runner(config, HEAVY_DEPS="installed"))
        return runners[-1]

    yield Queued(config, start)
    for runner in runners:
        if runner.process.poll() is None:
            runner.kill()


def test_revoke_and_restore_a_task_and_a_result(queued: Queued, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with jobrunner.load(queued.config) as app:
        app.tasks.rec.revoke()
        assert app.tasks.rec.is_revoked()
        app.tasks.rec(str(out), "revoked-task")
        dropped = app.tasks.echo("revoked-result")
        dropped.revoke()
        assert dropped.is_revoked()
        kept = app.tasks.echo("kept")
        marker = app.tasks.add(1, 1)

        runner = queued.start()
        # One worker, first in first out: once the marker ran, so did the rest.
        # The deadlines include the runner's start, which a loaded machine makes long.
        assert marker.get(blocking=True, timeout=60) == 2
        assert kept.get(blocking=True, timeout=60) == {"args": ["kept"], "kwargs": {}}
        assert dropped.get() is None
        assert records(out) == []
        assert app.huey().pending_count() == 0
        # A result is revoked once: skipping it cleared the revocation.
        assert not dropped.is_revoked()
        # A task stays revoked until restored.
        assert app.tasks.rec.is_revoked()
        assert app.tasks.rec.restore()
        assert app.tasks.rec(str(out), "after").get(blocking=True, timeout=60) == "after"
        assert values(out) == ["after"]
        assert runner.stop() == 0, runner.output
