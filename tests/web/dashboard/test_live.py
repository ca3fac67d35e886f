"""Live updates against a real ``jobrunner run`` and a real ``jobrunner dashboard``.

A run reaches an open event stream (the runner's event hub); a drain tells the pages a
few times, not once per event, and the page fetched after the last telling shows the
queue empty; without a hub (the stand-alone dashboard) an enqueue by another process
reaches the stream too (the watcher's look at the storages). Reading the dead letters
creates nothing in a storage no consumer has used.
"""

from __future__ import annotations

import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

import jobrunner
from jobrunner.web.dashboard._live import NOTIFY_GAP
from tests.support.processes import Runner, env
from tests.web.dashboard.support import CONFIG, make_client

RUNNER_CONFIG = """
version: 1
http: {listen: "127.0.0.1:0"}
instances:
  default:
    backend: sqlite
    filename: jobs.db
    events: {history: true}
    consumer: {workers: 2, max_delay: 0.1}
tasks:
  add: {function: sample_tasks:add}
"""
_ADDRESS = re.compile(r"INFO jobrunner\.(?:http|dashboard): dashboard on (http://\S+)/")
_PENDING = re.compile(r'<dd data-count="pending">([\d,]+)</dd>')


class Stream:
    """An open ``/events`` stream, read on a thread: each ``change`` with when it came."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=60)
        self.changes: queue.Queue[float] = queue.Queue()
        self.hello = threading.Event()
        self.closing = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.hello.wait(30), "the event stream did not open"

    def _read(self) -> None:
        try:
            with self.client.stream("GET", "/events") as response:
                for line in response.iter_lines():
                    if line.startswith("event: hello"):
                        self.hello.set()
                    elif line.startswith("event: change"):
                        self.changes.put(time.monotonic())
                    if self.closing:
                        return
        except (httpx.HTTPError, RuntimeError):  # closed at the end of the test
            return

    def next_change(self, timeout: float = 30) -> float:
        return self.changes.get(timeout=timeout)

    def drained(self) -> list[float]:
        found = []
        while not self.changes.empty():
            found.append(self.changes.get_nowait())
        return found

    def close(self) -> None:
        self.closing = True
        self.client.close()


def _address(output: Callable[[], str], alive: Callable[[], bool]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = _ADDRESS.search(output())
        if found:
            return found.group(1)
        assert alive(), output()
        time.sleep(0.05)
    raise AssertionError(f"no dashboard address in:\n{output()}")


@contextmanager
def _runner(config: Path) -> Iterator[tuple[Runner, str]]:
    with Runner(config) as runner:
        base = _address(lambda: runner.output, lambda: runner.process.poll() is None)
        yield runner, base
        assert runner.stop() == 0


def _pending(base: str) -> int:
    found = _PENDING.search(httpx.get(f"{base}/", timeout=30).text)
    assert found, "no pending count on the overview"
    return int(found.group(1).replace(",", ""))


def test_a_run_reaches_an_open_page(write_config: Callable[..., Path], project: Path) -> None:
    config = write_config(RUNNER_CONFIG)
    app = jobrunner.load(config)
    with _runner(config) as (_, base):
        stream = Stream(base)
        try:
            result = app.tasks.add(1, 2)
            assert result(blocking=True, timeout=30) == 3
            deadline = time.monotonic() + 30
            while f'data-id="{result.id}"' not in httpx.get(f"{base}/", timeout=30).text:
                assert time.monotonic() < deadline, "the run never showed on the overview"
                stream.next_change()  # the page is told, then fetches itself again
        finally:
            stream.close()
    app.close()


def test_a_drain_tells_pages_a_few_times_and_last_with_the_empty_queue(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(RUNNER_CONFIG)
    app = jobrunner.load(config)
    storage = app.huey().storage
    with _runner(config) as (_, base):
        stream = Stream(base)
        try:
            app.tasks.add.map([(n, n) for n in range(2_000)])
            started = time.monotonic()
            first = stream.next_change()
            while storage.queue_size() > 0:
                time.sleep(0.05)
            drained = time.monotonic() - started
            # The page told after the drain shows it ended, whatever the workers did last.
            deadline = time.monotonic() + 30
            while _pending(base) != 0:
                assert time.monotonic() < deadline, "the overview never showed the queue empty"
                stream.next_change()
            told = [first, *stream.drained()]
        finally:
            stream.close()
    # 2,000 runs make 4,000 events: the pages hear of them once a second at most.
    assert 1 <= len(told) <= drained / NOTIFY_GAP + 3, (len(told), drained)
    app.close()


def test_without_a_hub_a_change_of_another_process_reaches_an_open_page(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(CONFIG)
    app = jobrunner.load(config)
    app.tasks.add(1, 2)  # the storage exists, as a producer of the fleet makes it
    log = project / "dashboard.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jobrunner", "dashboard", str(config), "--listen", ":0"],
            cwd=project,
            env=env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = _address(log.read_text, lambda: process.poll() is None)
        assert _pending(base) == 1
        stream = Stream(base)
        try:
            app.tasks.add(3, 4)
            deadline = time.monotonic() + 30
            while _pending(base) != 2:
                assert time.monotonic() < deadline, "the overview never showed the new task"
                stream.next_change()
        finally:
            stream.close()
        process.send_signal(2)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        app.close()


def test_reading_dead_letters_creates_nothing(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(CONFIG)
    client, app, _ = make_client(config)
    app.tasks.add(1, 2)  # huey's tables; no consumer yet, so no dead-letter table
    with client:
        page = client.get("/dead-letters")
    assert page.status_code == 200
    with sqlite3.connect(project / "jobs.db") as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
    assert "task" in tables
    assert not tables & {"lease", "inflight", "dead_letter"}, tables
    app.close()
