"""What open dashboard pages cost a runner: drain throughput with 0 and with 20 pages.

    python -m benchmarks.dashboard_open_pages [--quick] [--runs N] [--tasks N] [--backend ...]

Each run starts a real ``jobrunner run`` on an empty queue (4 thread workers polling at
most every 0.1 s, the event history on, its HTTP endpoint with the dashboard on a free
port) and, for the "20 pages" runs, opens 20 pages the way a browser does: a GET of the
whole page, then an event stream (``/events``) each, and on every ``change`` event a
fetch of the page's ``<main>`` (``X-Dashboard-Fragment: 1``) at most every 0.7 s, as
``static/dashboard.js``. The pages are the overview, runs, queue, schedules and dead
letters, four of each. A real browser per page would measure 20 Chromium tabs competing
for two cores, not the runner.

Once every page is connected, ``--tasks`` no-op tasks are sent in one batch (one write),
and the drain is timed from then to the empty queue, with the CPU seconds the runner
process used meanwhile (``/proc``): on a shared machine the CPU per task moves less than
the rate. The two kinds of run take turns (interleaved) ``--runs`` times each; the table
gives the medians and their ratio. Target: 20 pages cost less than 5% of the drain
throughput (no more than 10%).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import httpx

import jobrunner
from benchmarks._env import RedisServer, child_env, jobrunner_command

PAGES = ("/", "/runs", "/queue", "/schedules", "/dead-letters")
GAP = 0.7  # seconds between two refreshes of one page, as static/dashboard.js
_ADDRESS = re.compile(r"dashboard on (http://\S+)/")


class Page:
    """One open page: its event stream, and the refreshes a change asks for."""

    def __init__(self, base: str, path: str) -> None:
        self.base, self.path = base, path
        self.client = httpx.Client(base_url=base, timeout=30)
        self.changed = threading.Event()
        self.connected = threading.Event()
        self.closing = False
        self.fetches = 0
        self.threads = [
            threading.Thread(target=self._listen, daemon=True),
            threading.Thread(target=self._refresh, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _listen(self) -> None:
        try:
            # A browser loads the whole page before its script opens the stream.
            self.client.get(self.path).raise_for_status()
            with self.client.stream("GET", "/events") as response:
                for line in response.iter_lines():
                    if line.startswith("event: hello"):
                        self.connected.set()
                    elif line.startswith("event: change"):
                        self.changed.set()
                    if self.closing:
                        return
        except httpx.HTTPError:
            self.connected.set()

    def _refresh(self) -> None:
        last = 0.0
        while not self.closing:
            if not self.changed.wait(0.2):
                continue
            time.sleep(max(0.0, last + GAP - time.monotonic()))
            self.changed.clear()
            last = time.monotonic()
            try:
                self.client.get(self.path, headers={"X-Dashboard-Fragment": "1"})
                self.fetches += 1
            except (httpx.HTTPError, RuntimeError):  # closed at the end of the run
                return

    def close(self) -> None:
        self.closing = True
        self.client.close()


def config_text(folder: Path, storage: str) -> str:
    return (
        "version: 1\n"
        'http: {listen: "127.0.0.1:0"}\n'
        "instances:\n"
        "  bench:\n"
        f"    {storage}\n"
        "    events: {history: true}\n"
        "    consumer: {workers: 4, max_delay: 0.1}\n"
        "tasks:\n"
        "  noop: {function: 'benchmarks._tasks:noop'}\n"
        "schedules:\n"
        "  nightly: {function: 'benchmarks._tasks:noop', cron: '0 3 * * *'}\n"
    )


class Drain(NamedTuple):
    """One drain: tasks per second, the runner's CPU seconds per 1,000 tasks, page fetches."""

    rate: float
    cpu: float
    fetches: int


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(folder: Path, config: Path, tasks: int, pages: int) -> Drain:
    """One drain of ``tasks`` tasks sent at once to a runner with ``pages`` open pages."""
    app = jobrunner.load(config)
    storage = app.huey("bench").storage
    log = folder / "logs" / f"run-{time.monotonic_ns()}.log"
    log.parent.mkdir(exist_ok=True)
    with open(log, "w") as out:
        process = subprocess.Popen(
            [*jobrunner_command(), "run", str(config), "--no-reload"],
            cwd=log.parent,
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    opened: list[Page] = []
    try:
        base = _wait_address(log, process)
        opened = [Page(base, PAGES[n % len(PAGES)]) for n in range(pages)]
        for page in opened:
            if not page.connected.wait(60):
                raise RuntimeError(f"page {page.path} did not connect; log in {log}")
        # One batch (one write): the workers, polling every 0.1 s at most, start at once.
        app.tasks.noop.map([() for _ in range(tasks)], batch_size=tasks)
        start, cpu = time.perf_counter(), cpu_seconds(process.pid)
        while storage.queue_size() > 0:
            if process.poll() is not None:
                raise RuntimeError(f"the runner stopped; log in {log}")
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds(process.pid) - cpu
    finally:
        for page in opened:
            page.close()
        process.terminate()
        process.wait(60)
        app.close()
    log.unlink()
    return Drain(tasks / elapsed, cpu * 1000 / tasks, sum(p.fetches for p in opened))


def _wait_address(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = _ADDRESS.search(log.read_text())
        if found:
            return found.group(1)
        if process.poll() is not None:
            raise RuntimeError(f"the runner exited: {log.read_text()}")
        time.sleep(0.02)
    raise RuntimeError(f"no dashboard address in {log}")


def measure(backend: str, storage_for: Any, runs: int, tasks: int, pages: int = 20) -> str:
    """One table row: drains without and with ``pages`` open pages, taking turns."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = folder / "jobs.yaml"
        config.write_text(config_text(folder, storage_for(folder)))
        drains: dict[int, list[Drain]] = {0: [], pages: []}
        for n in range(runs):
            for count in (0, pages) if n % 2 == 0 else (pages, 0):
                drains[count].append(one_run(folder, config, tasks, count))
    rates = {k: [d.rate for d in v] for k, v in drains.items()}
    cpus = {k: statistics.median(d.cpu for d in v) for k, v in drains.items()}
    without, with_pages = statistics.median(rates[0]), statistics.median(rates[pages])
    cost = 1 - with_pages / without
    verdict = "yes" if cost < 0.05 else ("within 10%" if cost <= 0.10 else "NO")
    return (
        f"| {backend} | {without:,.0f} [{min(rates[0]):,.0f}-{max(rates[0]):,.0f}] | "
        f"{with_pages:,.0f} [{min(rates[pages]):,.0f}-{max(rates[pages]):,.0f}] | "
        f"{cost * 100:+.1f}% | {cpus[0]:.2f} | {cpus[pages]:.2f} "
        f"({(cpus[pages] / cpus[0] - 1) * 100:+.1f}%) | "
        f"{statistics.median(d.fetches for d in drains[pages]):,.0f} | {verdict} |"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 runs each, 10,000 tasks")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--backend", choices=("sqlite", "redis", "all"), default="all")
    args = parser.parse_args(argv)
    runs, tasks = (2, 10_000) if args.quick else (args.runs, args.tasks)
    lines = [
        f"{tasks:,} no-op tasks per drain, 4 thread workers, event history on; "
        f"{runs} runs of each kind, interleaved; tasks/s, median [range]",
        "",
        "| backend | no page | 20 pages | cost | runner CPU s per 1,000 tasks, no page "
        "| with 20 pages | page fetches per drain | < 5% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    if args.backend in ("sqlite", "all"):
        lines.append(
            measure("sqlite", lambda f: f"backend: sqlite\n    filename: {f}/q.db", runs, tasks)
        )
    if args.backend in ("redis", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            server = RedisServer(Path(tmp))
            server.start()
            try:
                lines.append(
                    measure(
                        "redis", lambda f: f"backend: redis\n    url: {server.url}", runs, tasks
                    )
                )
            finally:
                server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
