"""Passwords in storage URLs and the signing secret never reach a log line or a command's output."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

import jobrunner
from tests.delivery.support import jobs_yaml
from tests.integration.helpers import wait_for_records
from tests.support.processes import Runner, cli
from tests.support.servers import RedisServer

PASSWORD = "pw-7c1e5a2f9b"
WRONG_PASSWORD = "pw-wrong-3d8e61"
SIGNING_SECRET = "sig-4b0f92d7aa"


def _instance(port: int, password: str = PASSWORD) -> str:
    return (
        f"backend: redis\nurl: redis://:{password}@127.0.0.1:{port}/0\n"
        f"serializer: {{secret: {SIGNING_SECRET}}}"
    )


def _assert_clean(text: str) -> None:
    for secret in (PASSWORD, WRONG_PASSWORD, SIGNING_SECRET):
        assert secret not in text


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private Redis of this test that requires a password."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    redis.Redis.from_url(server.url).config_set("requirepass", PASSWORD)
    yield server
    server.stop()


def test_validate_output_has_no_password_or_secret(
    project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(jobs_yaml(_instance(6390)))
    text = cli("validate", str(config), cwd=project)
    assert text.returncode == 0, text.stdout + text.stderr
    as_json = cli("validate", "--format", "json", str(config), cwd=project)
    assert json.loads(as_json.stdout)["valid"] is True
    for done in (text, as_json):
        _assert_clean(done.stdout + done.stderr)


def test_run_log_and_dead_letters_output_have_no_password_or_secret(
    locked_redis: RedisServer, project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(jobs_yaml(_instance(locked_redis.port)))
    out = project / "out.jsonl"
    with Runner(config, "--no-reload", "--log-level", "debug") as runner:
        runner.wait_for("Huey consumer started")
        output = runner.wait_for(":***@127.0.0.1")  # the instance line shows where, masked
        jobrunner.load(config).tasks.record(str(out), "ran")
        wait_for_records(out, 1)
        client = redis.Redis(port=locked_redis.port, password=PASSWORD)
        client.lpush("huey.redis.default", b"not signed")
        runner.wait_for("moved to the dead letters")
        assert runner.stop(signal.SIGTERM) == 0
        output = runner.output
    _assert_clean(output)
    listed = cli("dead-letters", str(config), cwd=project)
    assert listed.returncode == 0
    assert "bad signature" in listed.stdout
    _assert_clean(listed.stdout + listed.stderr)


def test_errors_with_a_wrong_password_have_no_password(
    locked_redis: RedisServer, project: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(jobs_yaml(_instance(locked_redis.port, WRONG_PASSWORD)))
    with Runner(config, "--no-reload", "--log-level", "debug") as runner:
        runner.wait_for("instance default: storage unreachable (")
        runner.stop(signal.SIGTERM)
        output = runner.output
    _assert_clean(output)
    listed = cli("dead-letters", str(config), cwd=project)
    assert listed.returncode == 1
    assert "cannot reach its storage redis://:***@127.0.0.1" in listed.stderr
    _assert_clean(listed.stdout + listed.stderr)
