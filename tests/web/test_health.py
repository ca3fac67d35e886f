"""``/healthz``, ``/readyz`` and ``jobrunner health`` against real runners and a real Redis."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import Runner, cli
from tests.support.servers import RedisServer
from tests.web.support import endpoint_url, get, in_process_runner, wait_until


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test alone: it is stopped and restarted on purpose."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def status_of(url: str) -> tuple[int, dict[str, Any]] | None:
    try:
        response = get(url)
    except httpx.HTTPError:
        return None
    return response.status_code, response.json()


@pytest.mark.slow
def test_readyz_follows_the_redis_outage_and_healthz_stays_up(
    own_redis: RedisServer, write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(
        f"""
version: 1
http: {{listen: "127.0.0.1:0"}}
instances:
  main:
    backend: redis
    url: {own_redis.url}
    read_timeout: 0.2
    serializer: {{secret: health-test-secret}}
tasks:
  add: {{function: sample_tasks:add}}
"""
    )
    with Runner(config) as runner:
        url = endpoint_url(runner)
        ready = wait_until(lambda: (s := status_of(f"{url}/readyz")) and s[0] == 200 and s, 30)
        assert set(ready[1]["checks"]) == {"storage:main", "scheduler:main", "workers:main"}
        assert ready[1]["status"] == "ok"
        # The health command gives the same verdict, exit 0.
        healthy = cli("health", str(config), "--http", url.removeprefix("http://"), cwd=project)
        assert healthy.returncode == 0, healthy.stderr
        assert "ok    storage:main: answered" in healthy.stdout

        own_redis.stop()
        # The bound: 503 within 10 s of the stop (the probe runs every 2 s).
        failing = wait_until(
            lambda: (s := status_of(f"{url}/readyz")) and s[0] == 503 and s, 10, "readyz 503"
        )
        storage = failing[1]["checks"]["storage:main"]
        assert storage["ok"] is False
        assert storage["detail"] == "does not answer (ConnectionError)"
        assert failing[1]["checks"]["workers:main"]["ok"] is True
        live = status_of(f"{url}/healthz")
        assert live is not None
        assert live[0] == 200
        unhealthy = cli("health", str(config), "--http", url.removeprefix("http://"), cwd=project)
        assert unhealthy.returncode == 1
        assert "FAIL  storage:main: does not answer (ConnectionError)" in unhealthy.stdout

        own_redis.start()
        wait_until(lambda: (s := status_of(f"{url}/readyz")) and s[0] == 200, 30, "readyz 200")
        live = status_of(f"{url}/healthz")
        assert live is not None
        assert live[0] == 200
        assert runner.stop() == 0
    assert "storage of instance main does not answer (ConnectionError)" in runner.output
    assert "storage of instance main answers again" in runner.output


def test_health_without_a_runner_is_one_clear_line(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config("version: 1\nhttp: {listen: '127.0.0.1:1'}\n")
    result = cli("health", str(config), cwd=project)
    assert result.returncode == 1
    assert result.stderr.startswith("jobrunner: error: no runner answers at http://127.0.0.1:1/")
    assert "Traceback" not in result.stderr


def test_a_stuck_scheduler_fails_readiness_by_name(
    write_config: Callable[..., Path], project: Path
) -> None:
    """In this process, so the test can hold the scheduler's loop; the runner is the real one
    (SQLite, thread workers, uvicorn), only the two-minute window is shortened."""
    config = write_config(
        """
version: 1
http: {listen: "127.0.0.1:0"}
tasks:
  add: {function: sample_tasks:add}
schedules:
  tick: {function: sample_tasks:add, cron: "* * * * *", args: [1, 2]}
"""
    )
    release = threading.Event()
    try:
        with in_process_runner(config) as runner:
            assert runner.endpoint is not None
            url = runner.endpoint.server.url
            health = runner.endpoint.health
            wait_until(lambda: (s := status_of(f"{url}/readyz")) and s[0] == 200, 30, "ready")
            scheduler = runner.consumers["default"].scheduler_impl
            entered = threading.Event()

            def stuck(now: Any = None) -> None:
                entered.set()
                release.wait(60)

            scheduler.loop = stuck  # the scheduler thread calls it on its next iteration
            assert entered.wait(10)
            health.scheduler_window = 1.0
            failing = wait_until(
                lambda: (s := status_of(f"{url}/readyz")) and s[0] == 503 and s, 30, "503"
            )
            checks = failing[1]["checks"]
            assert checks["scheduler:default"]["ok"] is False
            assert checks["scheduler:default"]["detail"].startswith("no tick for ")
            assert checks["storage:default"]["ok"] is True
            assert checks["workers:default"]["ok"] is True
            del scheduler.loop  # the class's loop again
            release.set()
            wait_until(lambda: (s := status_of(f"{url}/readyz")) and s[0] == 200, 30, "ready again")
    finally:
        release.set()
