"""A reload that moves a storage (address, credentials) tries it before anything changes.

A wrong Redis password or an unreachable PostgreSQL server in the edited file is
rejected with one clear line (password masked); the old configuration keeps
running, and no consumer of it is retired.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from tests.delivery.support import wait_until
from tests.integration.helpers import values
from tests.integration.reload_support import enqueue, save
from tests.support.processes import Runner
from tests.support.servers import RedisServer

pytestmark = pytest.mark.slow

PASSWORD = "pw-reload-51c0e9"
WRONG_PASSWORD = "pw-reload-wrong-77ad02"
SECRET = "sig-reload-0b6e"

CONFIG = """
version: 1
instances:
  default:
    backend: {backend}
    {key}: {address}
    name: {queue}
    serializer: {{secret: {secret}}}
tasks:
  rec:
    function: sample_tasks:record
"""


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    redis.Redis.from_url(server.url).config_set("requirepass", PASSWORD)
    yield server
    server.stop()


def _config(backend: str, key: str, address: str, queue: str) -> str:
    return CONFIG.format(backend=backend, key=key, address=address, queue=queue, secret=SECRET)


@pytest.mark.parametrize("backend", ["redis", "postgres"])
def test_a_reload_to_a_storage_that_does_not_answer_is_rejected_and_the_old_one_runs(
    backend: str,
    request: pytest.FixtureRequest,
    project: Path,
    write_config: Callable[..., Path],
) -> None:
    queue = f"q{uuid.uuid4().hex[:10]}"
    if backend == "redis":
        server: RedisServer = request.getfixturevalue("locked_redis")
        good = f"redis://:{PASSWORD}@127.0.0.1:{server.port}/0"
        bad = f"redis://:{WRONG_PASSWORD}@127.0.0.1:{server.port}/0"
        key = "url"
    else:
        good = request.getfixturevalue("postgres_dsn")
        # The same database through a port nothing listens on (a mistyped address).
        bad = good.replace(":5432/", ":1/")
        key = "dsn"
    config = write_config(_config(backend, key, good, queue))
    out = project / "out.jsonl"
    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: watching ", timeout=60)
        save(config, _config(backend, key, bad, queue))
        runner.wait_for("reload rejected: ", timeout=60)
        # A producer still on the good storage: the running consumer takes its task.
        producer = config.with_name("producer.yaml")
        producer.write_text(_config(backend, key, good, queue))
        enqueue(producer, "rec", str(out), "still-runs")
        wait_until(lambda: "still-runs" in values(out), 60, "the old consumer running a task")
        assert runner.stop(signal.SIGINT) == 0
        output = runner.output
    line = next(x for x in output.splitlines() if "reload rejected: " in x)
    assert "instance default: cannot reach its new storage (" in line
    assert "(generation 1 keeps running)" in line
    for secret in (PASSWORD, WRONG_PASSWORD, SECRET):
        assert secret not in output
    assert "Traceback" not in output
    assert "storage unreachable" not in output  # the bad storage was never put to work
