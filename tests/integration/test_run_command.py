"""``jobrunner run``: what it logs, its options, its signals and how it fails."""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

import jobrunner
from tests.integration.helpers import records, values
from tests.support.processes import Runner, cli

TWO_INSTANCES = """
version: 1
instances:
  a: {backend: sqlite, filename: a.db}
  b: {backend: sqlite, filename: b.db}
tasks:
  rec_a: {function: sample_tasks:record, instance: a}
  nap_a: {function: sample_tasks:sleep_and_record, instance: a}
  rec_b: {function: sample_tasks:record, instance: b}
  nap_b: {function: sample_tasks:sleep_and_record, instance: b}
schedules:
  every_minute:
    function: sample_tasks:record
    instance: a
    cron: "* * * * *"
    args: [schedule.jsonl, tick]
"""


@pytest.fixture
def config(write_config: Callable[..., Path]) -> Path:
    return write_config(TWO_INSTANCES)


def test_logs_what_it_loaded_and_runs_every_instance(config: Path, project: Path) -> None:
    out = project / "out.jsonl"
    with Runner(config) as runner:
        # Not "loaded" alone: this test's own folder name contains it.
        output = runner.wait_for("2 instance(s), 4 task(s), 1 schedule(s)")
        assert re.search(r"instance a: sqlite \S*a\.db, 4 thread worker\(s\), schedules on", output)
        assert re.search(r"instance b: sqlite \S*b\.db, 4 thread worker\(s\), schedules on", output)
        assert "2 instance(s), 4 task(s), 1 schedule(s)" in output
        with jobrunner.load(config) as app:
            assert app.tasks.rec_a(str(out), "a").get(blocking=True, timeout=60) == "a"
            assert app.tasks.rec_b(str(out), "b").get(blocking=True, timeout=60) == "b"
        assert runner.stop(signal.SIGINT) == 0
    assert "stopped" in runner.output
    assert "Traceback" not in runner.output
    # The default log level is info.
    assert " DEBUG " not in runner.output


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_every_instance_after_running_tasks_finish(
    signum: signal.Signals, config: Path, project: Path
) -> None:
    out = project / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        with jobrunner.load(config) as app:
            app.tasks.nap_a(str(out), "a finished", 2)
            app.tasks.nap_b(str(out), "b finished", 2)
        runner.wait_for("Executing jobrunner.tasks.nap_a")
        runner.wait_for("Executing jobrunner.tasks.nap_b")
        assert records(out) == []
        assert runner.stop(signum) == 0, runner.output
    assert sorted(values(out)) == ["a finished", "b finished"]
    assert "Traceback" not in runner.output


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_to_the_process_group_lets_process_workers_finish(
    signum: signal.Signals, config: Path, project: Path
) -> None:
    # systemd (KillMode=control-group), supervisord's stopasgroup and a terminal's
    # Ctrl-C signal every process of the group, the forked workers included.
    out = project / "out.jsonl"
    with Runner(config, "--instance", "a", "--worker-type", "process") as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        with jobrunner.load(config) as app:
            app.tasks.nap_a(str(out), "finished", 2)
        runner.wait_for("Executing jobrunner.tasks.nap_a")
        os.killpg(runner.process.pid, signum)
        runner.process.wait(30)
        assert runner.stop() == 0, runner.output
    assert values(out) == ["finished"]
    assert "did not finish" not in runner.output


@pytest.mark.slow
@pytest.mark.parametrize("worker_type", ["thread", "process"])
def test_second_signal_stops_without_waiting_for_running_tasks(
    worker_type: str, config: Path, project: Path
) -> None:
    out = project / "out.jsonl"
    with Runner(config, "--instance", "a", "--worker-type", worker_type) as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        with jobrunner.load(config) as app:
            app.tasks.nap_a(str(out), "too late", 60)
        runner.wait_for("Executing jobrunner.tasks.nap_a")
        runner.signal(signal.SIGINT)
        runner.wait_for("Shutting down gracefully")
        # Tasks were cut off: "interrupted" (130), not a clean stop, long before the task's
        # 60 s were over (stop() raises after its timeout).
        assert runner.stop(signal.SIGTERM, timeout=40) == 130, runner.output
        # The cut-off task is back on the queue at once, not when its lease expires.
        with jobrunner.load(config) as app:
            assert app.huey("a").pending_count() == 1
    assert "second signal: interrupting running tasks" in runner.output
    assert "\ninterrupted\n" in runner.output  # the CLI's last word on exit 130
    assert records(out) == []


STUBBORN = """
import time


def stubborn():
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
"""


@pytest.mark.slow
def test_second_signal_stops_a_process_worker_that_ignores_interrupts(
    write_config: Callable[..., Path], project: Path
) -> None:
    (project / "stubborn.py").write_text(STUBBORN)
    config = write_config(
        """
        version: 1
        instances:
          main: {backend: sqlite, consumer: {worker_type: process, workers: 1}}
        tasks:
          stubborn: {function: stubborn:stubborn}
        """
    )
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        with jobrunner.load(config) as app:
            app.tasks.stubborn()
        runner.wait_for("Executing jobrunner.tasks.stubborn")
        runner.signal(signal.SIGINT)
        runner.wait_for("Shutting down gracefully")
        # Long before the stubborn task's 60 s (stop() raises after its timeout).
        assert runner.stop(signal.SIGINT, timeout=40) == 130, runner.output


def test_instance_option_runs_only_that_instance(config: Path, project: Path) -> None:
    out = project / "out.jsonl"
    with Runner(config, "--instance", "a") as runner:
        output = runner.wait_for("INFO jobrunner: loaded ")
        assert "instance a:" in output
        assert "instance b:" not in output
        with jobrunner.load(config) as app:
            app.tasks.rec_b(str(out), "b")
            assert app.tasks.rec_a(str(out), "a").get(blocking=True, timeout=60) == "a"
            assert runner.stop() == 0
            assert app.huey("b").pending_count() == 1
    assert values(out) == ["a"]


def test_workers_and_process_worker_type(config: Path, project: Path) -> None:
    out = project / "out.jsonl"
    with Runner(config, "--instance", "a", "--workers", "3", "--worker-type", "process") as runner:
        assert "3 process worker(s)" in runner.wait_for("INFO jobrunner: loaded ")
        with jobrunner.load(config) as app:
            assert app.tasks.rec_a(str(out), "forked").get(blocking=True, timeout=60) == "forked"
        assert runner.stop() == 0
    [record] = records(out)
    # A process worker is a child of the runner, not the runner itself.
    assert record["pid"] != runner.process.pid


def test_no_periodic_disables_schedules(config: Path, project: Path) -> None:
    out = project / "out.jsonl"
    with Runner(config, "-n") as runner:
        output = runner.wait_for("INFO jobrunner: loaded ")
        assert "schedules off" in output
        assert "schedules on" not in output
        with jobrunner.load(config) as app:
            assert app.tasks.rec_a(str(out), "a").get(blocking=True, timeout=60) == "a"
        assert runner.stop() == 0
    assert not (project / "schedule.jsonl").exists()


def test_log_level_debug(config: Path) -> None:
    with Runner(config, "--log-level", "debug") as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        runner.wait_for(" DEBUG ")
        assert runner.stop() == 0


def test_immediate_instances_get_no_consumer(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(
        """
        version: 1
        instances:
          eager: {backend: sqlite, filename: eager.db, immediate: true}
          queued: {backend: sqlite, filename: queued.db}
        tasks:
          rec: {function: sample_tasks:record, instance: queued}
        """
    )
    out = project / "out.jsonl"
    # JOBRUNNER_IMMEDIATE is for producers: the runner still consumes.
    with Runner(config, JOBRUNNER_IMMEDIATE="1") as runner:
        output = runner.wait_for("INFO jobrunner: loaded ")
        assert "instance eager is in immediate mode" in output
        with jobrunner.load(config) as app:
            assert app.tasks.rec(str(out), "q").get(blocking=True, timeout=60) == "q"
        assert runner.stop() == 0
    assert records(out)[0]["pid"] == runner.process.pid


def test_nothing_to_run_when_every_instance_is_immediate(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config("version: 1\ninstances:\n  only: {backend: memory, immediate: true}\n")
    done = cli("run", str(config), cwd=project)
    assert done.returncode == 1
    assert "no instance to run" in done.stderr


BROKEN = """
version: 1
tasks:
  fine:
    function: sample_tasks:add
  missing:
    function: not_a_module:thing
  needs_package:
    function: needs_package:thing
"""


def test_unimportable_function_fails_fast_naming_the_yaml_key(
    write_config: Callable[..., Path], project: Path
) -> None:
    (project / "needs_package.py").write_text("import not_installed_package\n\nthing = 1\n")
    config = write_config(BROKEN)
    # Fails fast: cli()'s timeout would raise long before the consumer could do anything.
    done = cli("run", str(config), cwd=project)
    assert done.returncode == 1
    assert re.search(
        r"jobs\.yaml:6:15: tasks\.missing\.function: cannot import not_a_module:thing: "
        r"no module named 'not_a_module'",
        done.stderr,
    ), done.stderr
    assert re.search(
        r"jobs\.yaml:8:15: tasks\.needs_package\.function: cannot import needs_package:thing: "
        r"its module needs 'not_installed_package'",
        done.stderr,
    ), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "consumer started" not in done.stderr + done.stdout


def test_unknown_instance_exits_1_with_the_known_names(config: Path, project: Path) -> None:
    done = cli("run", str(config), "--instance", "c", cwd=project)
    assert done.returncode == 1
    assert "no instance named 'c'" in done.stderr
    assert "known instances: a, b" in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_config_file_exits_1(project: Path) -> None:
    done = cli("run", str(project / "nope.yaml"), cwd=project)
    assert done.returncode == 1
    assert "nope.yaml: no such file" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_option_is_a_usage_error(config: Path, project: Path) -> None:
    done = cli("run", str(config), "--workers", "0", cwd=project)
    assert done.returncode == 2
    assert "must be 1 or more" in done.stderr
