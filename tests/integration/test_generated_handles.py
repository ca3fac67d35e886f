"""Generated handles, ``jobrunner enqueue`` and ``jobrunner trigger`` against a real consumer.

One ``jobrunner run`` per backend (SQLite, Redis) serves the module. The producers run in
their own processes, where the task modules cannot be imported.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import jobrunner
from jobrunner.scheduling._state import ScheduleState
from tests.integration.helpers import values, wait_for_records
from tests.support.processes import Runner, cli, env
from tests.support.servers import RedisServer

SUPPORT = Path(__file__).resolve().parents[1] / "support"

# Importable only where its (stand-in) heavy dependency is installed: the consumer and
# `jobrunner generate` run with HEAVY_DEPS=installed, the producers without.
HEAVY_TASKS = """
import os

if os.environ.get("HEAVY_DEPS") != "installed":
    raise ImportError("heavy_tasks needs its heavy dependencies (HEAVY_DEPS=installed)")


def triple(x: int) -> int:
    return 3 * x
"""

TASKS = """
tasks:
  add: {function: sample_tasks:add}
  rec: {function: sample_tasks:record}
  fail: {function: sample_tasks:fail}
  nap: {function: sample_tasks:sleep_and_record}
  triple: {function: heavy_tasks:triple}
schedules:
  yearly:
    function: sample_tasks:record
    cron: "0 0 1 1 *"
    args: [yearly.jsonl, fired]
handles:
  output: app/jobs.py
"""

# Blocks the task modules: importing one raises ImportError.
PRODUCER = """
import json, sys
sys.modules["sample_tasks"] = None
sys.modules["heavy_tasks"] = None

from app.jobs import add, rec, schedules, triple

total = add(2, 3).get(blocking=True, timeout=30)
tripled = triple(14).get(blocking=True, timeout=30)
rec("handle.jsonl", "by handle").get(blocking=True, timeout=30)
paused = schedules.yearly.pause()
resumed = schedules.yearly.resume()
fired = schedules.yearly.trigger()
loaded = [m for m in ("sample_tasks", "heavy_tasks") if sys.modules.get(m) is not None]
print(json.dumps({"total": total, "tripled": tripled, "paused": paused,
                  "resumed": resumed, "fired": fired, "loaded": loaded}))
"""


@dataclass
class Served:
    backend: str
    folder: Path
    config: Path


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    redis_server: RedisServer,
) -> Iterator[Served]:
    backend: str = request.param
    folder = tmp_path_factory.mktemp(f"generated-{backend}")
    shutil.copy(SUPPORT / "sample_tasks.py", folder / "sample_tasks.py")
    (folder / "heavy_tasks.py").write_text(HEAVY_TASKS)
    (folder / "app").mkdir()
    (folder / "app" / "__init__.py").write_text("")
    if backend == "redis":
        instance = (
            f"backend: redis\n    url: {redis_server.url}\n    read_timeout: 0.2\n"
            f"    name: q{uuid.uuid4().hex[:8]}"
        )
    else:
        instance = "backend: sqlite"
    config = folder / "jobs.yaml"
    config.write_text(
        f"version: 1\ninstances:\n  main:\n    {instance}\n    consumer: {{workers: 2}}\n"
        + textwrap.dedent(TASKS)
    )
    generated = cli("generate", "jobs.yaml", cwd=folder, HEAVY_DEPS="installed")
    assert generated.returncode == 0, generated.stderr
    runner = Runner(config, HEAVY_DEPS="installed")
    try:
        runner.wait_for("INFO jobrunner: loaded ")
        yield Served(backend, folder, config)
        assert runner.stop(signal.SIGINT) == 0, runner.output
    finally:
        if runner.process.poll() is None:
            runner.kill()


def test_generated_handles_work_where_the_task_modules_do_not_import(served: Served) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(PRODUCER)],
        cwd=served.folder,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome == {
        "total": 5,
        "tripled": 42,
        "paused": True,
        "resumed": True,
        "fired": outcome["fired"],
        "loaded": [],
    }
    assert uuid.UUID(outcome["fired"])
    assert values(served.folder / "handle.jsonl") == ["by handle"]
    assert "fired" in [r["value"] for r in wait_for_records(served.folder / "yearly.jsonl")]


def test_enqueue_wait_prints_the_id_then_the_result(served: Served) -> None:
    done = cli("enqueue", "jobs.yaml", "add", "2", "3", "--wait", "30", cwd=served.folder)
    assert done.returncode == 0, done.stderr
    task_id, result = done.stdout.splitlines()
    assert uuid.UUID(task_id)
    assert result == "5"


def test_enqueue_wait_reports_the_task_error(served: Served) -> None:
    done = cli("enqueue", "jobs.yaml", "fail", "it broke", "--wait", "30", cwd=served.folder)
    assert done.returncode == 1
    task_id = done.stdout.strip()
    assert (
        done.stderr == f"jobrunner: error: task fail ({task_id}) failed: RuntimeError('it broke')\n"
    )


@pytest.mark.slow
def test_enqueue_wait_times_out(served: Served) -> None:
    out = served.folder / f"nap-{uuid.uuid4().hex}.jsonl"
    done = cli(
        "enqueue", "jobs.yaml", "nap", str(out), "late", "3", "--wait", "0.3", cwd=served.folder
    )
    assert done.returncode == 1
    assert "no result within 0.3s; it is still queued or running" in done.stderr
    assert wait_for_records(out)[0]["value"] == "late"


def test_enqueue_with_a_delay_and_keyword_arguments(served: Served) -> None:
    out = served.folder / f"later-{uuid.uuid4().hex}.jsonl"
    done = cli(
        "enqueue",
        "jobs.yaml",
        "rec",
        str(out),
        "--kwargs",
        '{"value": [1, "two"], "extra": true}',
        "--delay",
        "1s",
        cwd=served.folder,
    )
    assert done.returncode == 0, done.stderr
    record = wait_for_records(out)[0]
    assert record["value"] == [1, "two"]
    assert record["kwargs"] == {"extra": True}
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    at = cli("enqueue", "jobs.yaml", "rec", str(out), "at eta", "--eta", soon, cwd=served.folder)
    assert at.returncode == 0, at.stderr
    assert wait_for_records(out, 2)[1]["value"] == "at eta"


# Checked before anything connects: the same on every backend, so SQLite only.
def test_enqueue_checks_the_name_and_the_arguments_first(project: Path) -> None:
    (project / "jobs.yaml").write_text(
        "version: 1\ntasks:\n  add: {function: sample_tasks:add}\n"
        "  fail: {function: sample_tasks:fail}\n"
    )
    missing = cli("enqueue", "jobs.yaml", "add", "1", cwd=project)
    assert missing.returncode == 1
    assert missing.stderr == (
        "jobrunner: error: task 'add' (sample_tasks:add(a: int, b: int) -> int): missing a "
        "required argument: 'b'; nothing was enqueued\n"
    )
    misspelt = cli("enqueue", "jobs.yaml", "add", "1", "--kwargs", '{"bb": 2}', cwd=project)
    assert misspelt.returncode == 1
    assert "'bb': did you mean 'b'?" in misspelt.stderr
    unknown = cli("enqueue", "jobs.yaml", "ad", "1", "2", cwd=project)
    assert unknown.returncode == 1
    assert unknown.stderr == (
        "jobrunner: error: no task named 'ad' in the configuration; did you mean 'add'? "
        "known tasks: add, fail\n"
    )
    assert missing.stdout + misspelt.stdout + unknown.stdout == ""
    assert not (project / "jobs.db").exists() or _queued(project) == 0


def _queued(project: Path) -> int:
    with jobrunner.load(project / "jobs.yaml") as app:
        return int(app.huey().pending_count())


def test_enqueue_without_the_task_module_enqueues_unchecked(served: Served) -> None:
    done = cli("enqueue", "jobs.yaml", "triple", "14", "--wait", "30", cwd=served.folder)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == "42"
    assert "note: arguments not checked: cannot import heavy_tasks:triple" in done.stderr


def test_trigger_runs_the_schedule_once_and_leaves_its_ticks(served: Served) -> None:
    out = served.folder / "yearly.jsonl"
    before = len(values(out))
    with jobrunner.load(served.config) as app:
        state = ScheduleState(app.huey("main").storage)
        last_tick = state.last_tick("yearly")
        done = cli("trigger", "jobs.yaml", "yearly", cwd=served.folder)
        assert done.returncode == 0, done.stderr
        assert uuid.UUID(done.stdout.strip())
        assert [r["value"] for r in wait_for_records(out, before + 1)[before:]] == ["fired"]
        assert state.last_tick("yearly") == last_tick
    unknown = cli("trigger", "jobs.yaml", "yeraly", cwd=served.folder)
    assert unknown.returncode == 1
    assert "did you mean 'yearly'?" in unknown.stderr


def test_an_unreachable_server_is_one_clear_line(project: Path) -> None:
    (project / "jobs.yaml").write_text(
        "version: 1\ninstances:\n  main: {backend: redis, url: 'redis://:s3cret@127.0.0.1:1/0'}\n"
        "tasks:\n  add: {function: sample_tasks:add}\n"
        "schedules:\n  s: {function: sample_tasks:add, cron: '0 0 1 1 *', args: [1, 2]}\n"
    )
    for command in (["enqueue", "jobs.yaml", "add", "1", "2"], ["trigger", "jobs.yaml", "s"]):
        done = cli(*command, cwd=project)
        assert done.returncode == 1
        assert done.stderr.splitlines()[-1].startswith(
            "jobrunner: error: cannot enqueue on instance 'main' (redis://:***@127.0.0.1:1/0): "
        )
        assert "s3cret" not in done.stderr + done.stdout
        assert "Traceback" not in done.stderr
