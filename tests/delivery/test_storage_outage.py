"""A storage unreachable at start and again during a run (Redis, PostgreSQL): quiet, clear, ends.

The server is real; the outage is a TCP proxy in front of it that refuses new
connections and resets the open ones (``tests/support/proxy.py``). The runner
must say once that the storage went, one line per backoff step while it stays
gone, once that it came back; no traceback from any thread (its workers, its
scheduler, huey's loops); and every task runs, at most the in-flight ones twice.
SQLite's outage, a full disk, is ``test_sqlite_disk_full.py``.
"""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import jobrunner
from tests.delivery.support import SECRET, wait_for_all
from tests.integration.helpers import records, wait_for_records
from tests.support.processes import Runner
from tests.support.proxy import Proxy

pytestmark = pytest.mark.slow

WORKERS = 4
TASKS = 60
# Long enough for two backoff steps (1 s, then 2 s), short enough to keep the test quick.
OUTAGE = 4.0


def _through(proxy_port: int, address: str) -> str:
    netloc = urlsplit(address).netloc
    host_port = netloc.rsplit("@", 1)[-1]
    return address.replace(host_port, f"127.0.0.1:{proxy_port}", 1)


def _upstream(address: str) -> tuple[str, int]:
    parts = urlsplit(address)
    return parts.hostname or "127.0.0.1", parts.port or 0


@pytest.mark.parametrize(
    ("backend", "worker_type"), [("redis", "thread"), ("postgres", "thread"), ("redis", "process")]
)
def test_an_outage_is_reported_once_per_backoff_step_and_nothing_is_lost(
    backend: str,
    worker_type: str,
    request: pytest.FixtureRequest,
    project: Path,
    write_config: Callable[..., Path],
) -> None:
    address = request.getfixturevalue("redis_url" if backend == "redis" else "postgres_dsn")
    proxy = Proxy(_upstream(address)).start()
    key = "url" if backend == "redis" else "dsn"
    config = write_config(
        f"""
        version: 1
        instances:
          default:
            backend: {backend}
            {key}: {_through(proxy.port, address)}
            name: q{uuid.uuid4().hex[:10]}
            serializer: {{secret: {SECRET}}}
            lease: 2s
            consumer: {{workers: {WORKERS}, worker_type: {worker_type}}}
        tasks:
          sleepy:
            function: sample_tasks:sleep_and_record
        """
    )
    out = project / "out.jsonl"
    app = jobrunner.load(config)
    for number in range(TASKS):
        app.tasks.sleepy(str(out), number, 0.2)
    app.close()
    try:
        proxy.cut()  # unreachable at start
        with Runner(config, "--no-reload") as runner:
            runner.wait_for("instance default: storage unreachable (", timeout=60)
            proxy.restore()
            runner.wait_for("instance default: storage reachable again after", timeout=60)
            wait_for_records(out, 8, timeout=60)
            proxy.cut()  # and again during the run
            runner.wait_for("instance default: storage unreachable (", timeout=60, count=2)
            time.sleep(OUTAGE)
            proxy.restore()
            counts = wait_for_all(out, range(TASKS), timeout=120)
            runner.wait_for("instance default: storage reachable again after", timeout=60, count=2)
            # A third outage, and SIGINT while it lasts: a clean stop, not a wait for it.
            proxy.cut()
            runner.wait_for("instance default: storage unreachable (", timeout=60, count=3)
            assert runner.stop(signal.SIGINT) == 0
            output = runner.output
    finally:
        proxy.stop()
    assert len(records(out)) <= TASKS + WORKERS  # at most the ones in flight ran twice
    assert max(counts.values()) <= 2
    assert "Traceback" not in output
    assert not re.search(r" ERROR ", output), output
    lines = output.splitlines()
    went = [line for line in lines if "instance default: storage unreachable (" in line]
    steps = [line for line in lines if "instance default: storage still unreachable" in line]
    back = [line for line in lines if "instance default: storage reachable again" in line]
    assert len(went) == 3, output
    assert len(back) == 2, output
    assert "INFO jobrunner: stopped" in output
    # Steps of 1, 2, 4 s: at most three during the run's outage (plus those of the
    # start's, which lasted until the restore above), whatever the four workers do.
    assert len(steps) <= 6, output
    assert all(re.search(r"retrying in \d+s$", line) for line in went + steps), output
    # libpq's message spans three lines; logged, it is one.
    assert all(line[:4].isdigit() for line in lines if "unreachable" in line)


def test_an_old_storage_that_goes_away_while_drained_is_reported_per_step_as_the_old_one(
    tmp_path: Path, project: Path, write_config: Callable[..., Path]
) -> None:
    """After a reload moved the instance off a Redis, its drain keeps reading that Redis;
    when it goes away, the lines say it is the old storage, once per backoff step."""
    from tests.integration.reload_support import save
    from tests.support.servers import RedisServer

    folder = tmp_path / "old-redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    old = f"    backend: redis\n    url: {server.url}\n    serializer: {{secret: {SECRET}}}\n"
    new = f"    backend: sqlite\n    filename: {project / 'new.db'}\n"

    def config_text(storage: str) -> str:
        return (
            "version: 1\ninstances:\n  default:\n"
            f"{storage}"
            "tasks:\n  sleepy:\n    function: sample_tasks:sleep_and_record\n"
        )

    config = write_config(config_text(old))
    out = project / "out.jsonl"
    try:
        with Runner(config) as runner:
            runner.wait_for("INFO jobrunner: watching ", timeout=60)
            # Due in an hour: the drain of the old storage waits for it.
            with jobrunner.load(config) as app:
                app.tasks.sleepy.schedule(args=(str(out), "later", 0), delay=3600)
            save(config, config_text(new), "atomic")
            runner.wait_for("still consuming the old one", timeout=60)
            server.stop()
            label = f"instance default: old storage redis {server.url}: storage "
            runner.wait_for(label + "still unreachable after 3s", timeout=60)
            assert runner.stop(signal.SIGINT) == 0
            output = runner.output
    finally:
        server.stop()
    lines = output.splitlines()
    assert sum(label + "unreachable (" in line for line in lines) == 1, output
    assert sum("instance default: storage unreachable" in line for line in lines) == 0, output
    assert "cannot read the old storage" not in output
    assert "Traceback" not in output
