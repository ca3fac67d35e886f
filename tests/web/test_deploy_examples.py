"""examples/deploy: each file checked as far as this machine allows.

Docker cannot run here (no engine): the Compose file is parsed, its jobs file validated, and
what the image would run (its CMD, HEALTHCHECK and stop signal) is run against a private Redis.
The systemd unit goes through ``systemd-analyze verify``, and the command it starts is run for
real and stopped with SIGTERM, as systemd stops it. The Kubernetes ConfigMap's embedded jobs
file passes ``jobrunner validate``.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

import jobrunner
from jobrunner.config import load_config
from jobrunner.config._duration import parse_duration
from tests.support.processes import ROOT, Runner, cli
from tests.support.servers import RedisServer
from tests.web.support import endpoint_url, get, wait_until

DEPLOY = ROOT / "examples" / "deploy"
ENV = {
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "JOBRUNNER_SECRET": "deploy-test-secret",
    "JOBRUNNER_HTTP_TOKEN": "deploy-test-token",
}


def yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def test_files_that_are_not_jobs_files_have_no_version_and_tasks_pair() -> None:
    others = [p for p in DEPLOY.rglob("*.yaml") if p.name != "jobs.yaml"]
    assert others
    for path in others:
        for doc in yaml_documents(path):
            assert not {"version", "tasks"} <= set(doc), path


def test_the_configmap_jobs_file_validates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = {doc["kind"]: doc for doc in yaml_documents(DEPLOY / "kubernetes" / "jobrunner.yaml")}
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(docs["ConfigMap"]["data"]["jobs.yaml"], encoding="utf-8")
    result = cli("validate", str(jobs), cwd=ROOT, **ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK (1 instance, 1 task, 1 schedule)")
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)

    config = load_config(jobs, check_imports=False).config
    assert config.http is not None
    assert config.http.token == ENV["JOBRUNNER_HTTP_TOKEN"]
    spec = docs["Deployment"]["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] >= 2  # exactly-once ticks make several replicas safe
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = int(config.http.listen.rpartition(":")[2])
    assert container["ports"][0]["containerPort"] == port
    # The whole folder is mounted: a subPath mount never sees the ConfigMap's updates.
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/etc/jobrunner"
    assert "subPath" not in mount
    assert container["args"][-1] == "/etc/jobrunner/jobs.yaml"
    shutdown = config.instances["default"].consumer.shutdown_timeout
    assert shutdown is not None
    assert pod["terminationGracePeriodSeconds"] > shutdown


def test_the_compose_file_runs_redis_and_the_runner_with_healthchecks() -> None:
    (compose,) = yaml_documents(DEPLOY / "docker" / "compose.yaml")
    services = compose["services"]
    assert set(services) == {"redis", "runner"}
    runner = services["runner"]
    assert runner["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    command = runner["healthcheck"]["test"]
    assert command[:3] == ["CMD", "jobrunner", "health"]
    # /app in the image is the repository root (Dockerfile: COPY . /app).
    jobs = ROOT / command[3].removeprefix("/app/")
    assert jobs == DEPLOY / "docker" / "jobs.yaml"
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert f'CMD ["jobrunner", "run", "{command[3]}"]' in dockerfile
    assert f'"jobrunner", "health", "{command[3]}"' in dockerfile


@pytest.mark.parametrize("folder", ["docker", "systemd"])
def test_the_example_jobs_files_validate(folder: str) -> None:
    result = cli("validate", str(DEPLOY / folder / "jobs.yaml"), cwd=ROOT, **ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_grace_period_outlasts_the_shutdown_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    (compose,) = yaml_documents(DEPLOY / "docker" / "compose.yaml")
    config = load_config(DEPLOY / "docker" / "jobs.yaml", check_imports=False).config
    shutdown = config.instances["default"].consumer.shutdown_timeout
    assert shutdown is not None
    assert parse_duration(compose["services"]["runner"]["stop_grace_period"]) > shutdown
    assert config.http is not None
    assert config.http.token == ENV["JOBRUNNER_HTTP_TOKEN"]


@contextmanager
def served_example(
    jobs: Path, env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str
) -> Iterator[Runner]:
    """``jobrunner run JOBS`` with ``env`` and ``REDIS_URL`` set to a private Redis (in ``env``
    too, so that a command run with it reaches the same server), ``examples`` importable."""
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        env["REDIS_URL"] = redis.url
        for name, value in env.items():
            monkeypatch.setenv(name, value)  # for a producer in the test
        monkeypatch.syspath_prepend(str(ROOT))  # examples.tasks
        with Runner(jobs, *args, cwd=ROOT, **env) as runner:
            yield runner
    finally:
        redis.stop()


def unit() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOY / "systemd" / "jobrunner.service")
    return parser


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is missing")
def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    # verify checks that ExecStart is executable: point it at a stand-in.
    stand_in = tmp_path / "jobrunner"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    text = (DEPLOY / "systemd" / "jobrunner.service").read_text(encoding="utf-8")
    copy = tmp_path / "jobrunner.service"
    copy.write_text(text.replace("/opt/jobrunner/bin/jobrunner", str(stand_in)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.slow
def test_the_systemd_service_stops_cleanly_on_sigterm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = unit()["Service"]
    assert service["KillSignal"] == "SIGTERM"
    assert service["Restart"] == "on-failure"
    stop = parse_duration(service["TimeoutStopSec"])
    jobs_path = Path(shlex.split(service["ExecStart"])[-1])
    assert jobs_path == Path("/etc/jobrunner/jobs.yaml")
    env = dict(
        line.split("=", 1)
        for line in (DEPLOY / "systemd" / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(env) == set(ENV)
    jobs = tmp_path / "jobs.yaml"
    shutil.copy(DEPLOY / "systemd" / "jobs.yaml", jobs)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    shutdown = load_config(jobs, check_imports=False).config.instances["default"]
    assert shutdown.consumer.shutdown_timeout is not None
    assert stop > shutdown.consumer.shutdown_timeout  # systemd's SIGKILL comes later
    # The unit's command, with the unit's environment; the port is the test's own.
    with served_example(jobs, env, tmp_path, monkeypatch, "--http", "127.0.0.1:0") as runner:
        url = endpoint_url(runner)
        wait_until(lambda: get(f"{url}/readyz").status_code == 200, 30, "ready")
        with jobrunner.load(jobs) as app:
            assert app.tasks.count_beans(3).get(blocking=True, timeout=30) is not None
        # As systemd stops it (KillSignal=SIGTERM, KillMode=mixed: the main process).
        assert runner.stop(signal.SIGTERM, timeout=stop) == 0
    assert "received SIGTERM" in runner.output
    assert "INFO jobrunner: stopped" in runner.output


def test_the_yaml_snippets_of_the_operations_doc_parse(tmp_path: Path) -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 3
    for block in blocks:
        data = yaml.safe_load(block)
        if isinstance(data, dict) and "http" in data:
            # The endpoint snippet is a piece of a jobs file: it validates as one.
            jobs = tmp_path / "jobs.yaml"
            jobs.write_text("version: 1\n" + block, encoding="utf-8")
            assert load_config(jobs, check_imports=False).config.http is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_compose_runner_command_and_healthcheck_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Docker would run, run here: the image's CMD, its HEALTHCHECK, its stop signal.

    The only change to the image's jobs file is the endpoint's port (a free one instead of
    9187, which the host may be using); the environment is the Compose file's.
    """
    (compose,) = yaml_documents(DEPLOY / "docker" / "compose.yaml")
    runner_service = compose["services"]["runner"]
    health = runner_service["healthcheck"]["test"][1:]  # after "CMD"
    grace = parse_duration(runner_service["stop_grace_period"])
    assert runner_service["stop_signal"] == "SIGTERM"
    port = free_port()
    text = (DEPLOY / "docker" / "jobs.yaml").read_text(encoding="utf-8")
    assert '"0.0.0.0:9187"' in text
    jobs = tmp_path / "jobs.yaml"
    jobs.write_text(text.replace('"0.0.0.0:9187"', f'"127.0.0.1:{port}"'), encoding="utf-8")
    env = dict(ENV)

    def healthcheck() -> subprocess.CompletedProcess[str]:
        assert health[:2] == ["jobrunner", "health"]
        return cli(*health[1:-1], str(jobs), cwd=ROOT, **env)

    # Before the runner is up, the check fails cleanly: Docker keeps the container "starting".
    down = healthcheck()
    assert down.returncode == 1, down.stdout + down.stderr
    assert "Traceback" not in down.stderr
    with served_example(jobs, env, tmp_path, monkeypatch) as runner:
        runner.wait_for(f"http endpoint on http://127.0.0.1:{port}", timeout=60)
        up = wait_until(lambda: (r := healthcheck()).returncode == 0 and r, 60, "healthy")
        assert "Traceback" not in up.stderr
        with jobrunner.load(jobs) as app:
            assert app.tasks.count_beans(2).get(blocking=True, timeout=30) is not None
        assert runner.stop(signal.SIGTERM, timeout=grace) == 0
    assert "received SIGTERM" in runner.output
    assert "INFO jobrunner: stopped" in runner.output
