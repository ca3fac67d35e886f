"""A blocking ``Result.get()`` on Redis waits as long as it is told, whatever the socket timeout.

redis-py 8 gives connections a 5 s socket timeout; huey's single ``BLPOP`` for the whole
wait read it as "no result". The client's timeout here is 0.5 s, so the waits below each
outlast several socket timeouts.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from huey.exceptions import ResultTimeout

import jobrunner

BACKENDS = ["redis", "priority-redis", "redis-expire"]


def _app(tmp_path: Path, backend: str, redis_url: str) -> jobrunner.App:
    extra = "    expire_time: 60\n" if backend == "redis-expire" else ""
    config = tmp_path / "jobs.yaml"
    config.write_text(
        "version: 1\n"
        "instances:\n"
        "  default:\n"
        f"    backend: {backend}\n"
        f'    url: "{redis_url}?socket_timeout=0.5"\n'
        f"{extra}"
        "tasks:\n"
        "  add:\n"
        "    function: operator:add\n",
        encoding="utf-8",
    )
    return jobrunner.load(config)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_result_that_comes_after_several_socket_timeouts_is_received(
    tmp_path: Path, redis_url: str, backend: str
) -> None:
    with _app(tmp_path, backend, redis_url) as app:
        huey = app.huey()
        result = app.tasks.add(2, 3)

        def run_later() -> None:
            time.sleep(2.0)  # four socket timeouts
            task = huey.dequeue()
            assert task is not None
            huey.execute(task)

        worker = threading.Thread(target=run_later)
        worker.start()
        try:
            assert result.get(blocking=True, timeout=60) == 5
        finally:
            worker.join()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_result_that_never_comes_times_out_when_told(
    tmp_path: Path, redis_url: str, backend: str
) -> None:
    with _app(tmp_path, backend, redis_url) as app:
        result = app.tasks.add(2, 3)
        started = time.monotonic()
        with pytest.raises(ResultTimeout):
            result.get(blocking=True, timeout=1.5)
        assert time.monotonic() - started >= 1.5
