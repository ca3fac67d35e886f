"""Dashboard page render times at size: 100,000 history rows and 1,000 schedules.

    python -m benchmarks.dashboard_pages [--quick] [--repeats N] [--backend sqlite|redis|all]

For each backend, a generated ``jobs.yaml`` (one instance with the event history,
100 tasks, 1,000 schedules), a history of 100,000 runs over the last ten hours (10%
failures with a traceback; a third fired by schedules, each with its ``fired`` event),
1,000 queued tasks and 100 dead letters.
Each page is fetched through the dashboard's real routes (Starlette's test client,
in this process, the same storage objects a server uses), ``--repeats`` times
after one warm-up; the table gives the median and the slowest, in milliseconds.
Target: every page under 200 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import jobrunner
from benchmarks._env import RedisServer
from jobrunner.delivery import store_for
from jobrunner.events import Event, History, history_for
from jobrunner.events._history_redis import RedisHistory

#: The overview reuses its chart for 10 s: this row clears it first, so each fetch
#: reads the last hour's runs (as the first fetch after 10 s does).
FRESH_CHART = "/ (chart read anew)"
PAGES = (
    "/",
    FRESH_CHART,
    "/runs",
    "/runs?outcome=error&since=3600",
    "/schedules",
    "/schedules/s500",
    "/queue",
    "/dead-letters",
    "/config",
)
TARGET_MS = 200.0


def build(storage: str, tasks: int, schedules: int) -> str:
    lines = [
        "version: 1",
        "instances:",
        "  default:",
        f"    {storage}",
        "    events: {history: true}",
        "tasks:",
    ]
    lines += [f"  t{i}: {{function: benchmarks._tasks:noop}}" for i in range(tasks)]
    lines.append("schedules:")
    lines += [
        f"  s{i}: {{function: benchmarks._tasks:noop, cron: '{i % 60} {i % 24} * * *', "
        f"timezone: Europe/Berlin}}"
        for i in range(schedules)
    ]
    return "\n".join(lines) + "\n"


def fill(app: jobrunner.App, rows: int, tasks: int, schedules: int) -> None:
    """``rows`` run events over the last ten hours, queued tasks and dead letters."""
    app_huey = app.huey()
    history = history_for(app_huey.storage)
    assert history is not None
    history.setup()
    now = time.time()
    rng = random.Random(7)
    trace = "Traceback (most recent call last):\n" + '  File "x.py", line 1, in f\n' * 12
    batch: list[Event] = []
    for n in range(rows):  # oldest first, as a runner writes them
        failed = rng.random() < 0.1
        scheduled = n % 3 == 0
        ts = now - 36_000 * (rows - n) / rows
        if scheduled:  # a third of the runs are schedules': their "fired" comes first
            batch.append(
                Event("fired", ts - 0.01, instance="default", schedule=f"s{n % schedules}")
            )
        batch.append(
            Event(
                "error" if failed else "complete",
                ts,
                instance="default",
                id=f"{n:032x}",
                task=f"t{n % tasks}",
                schedule=f"s{n % schedules}" if scheduled else None,
                retries=0,
                duration=rng.random(),
                consumer="bench:1:abcdef",
                error="RuntimeError: boom" if failed else None,
                traceback=trace + "RuntimeError: boom" if failed else None,
            )
        )
        if len(batch) == 5000:
            _write(history, batch)
            batch = []
    _write(history, batch)
    for n in range(1000):
        app.tasks[f"t{n % tasks}"]()
    store = store_for(app_huey.storage)
    assert store is not None
    store.setup()
    for n in range(100):
        app_huey.storage.enqueue(b"not a message %d" % n, 0)
        taken = store.take("bench:1:abcdef", [])
        assert taken is not None
        store.bury("bench:1:abcdef", taken, None, "cannot be deserialized", now)


def _write(history: History, events: list[Event]) -> None:
    """Append ``events`` as a runner would have over the hours of their ``ts``.

    A Redis history's stream ids are the time of writing, which its time filters use:
    written now, ten hours of events would all look recent. So on Redis they are
    added with the ids they would have had (the layout of ``RedisHistory.write``).
    """
    if not isinstance(history, RedisHistory):
        history.write(events)
        return
    pipe = history.conn.pipeline(transaction=False)
    for n, event in enumerate(events):
        entry = f"{int(event.ts * 1000)}-{n}"
        for key in [history.main, *history._indexes(event)]:
            pipe.xadd(key, {"e": event.to_json()}, id=entry)
            pipe.sadd(history.streams, key)
    pipe.execute()


def measure(config: Path, repeats: int) -> dict[str, list[float]]:
    from starlette.testclient import TestClient

    from jobrunner.web import WebContext, make_app
    from jobrunner.web.dashboard import Dashboard, dashboard_routes, owns

    app = jobrunner.load(config)
    dash = Dashboard(app=lambda: app)
    web = make_app(
        WebContext(get_app=lambda: app), dashboard_routes(dash), credential_checks=[owns]
    )
    times: dict[str, list[float]] = {page: [] for page in PAGES}
    with TestClient(web) as client:
        for page in PAGES:
            client.get(page.split(" ")[0])  # warm-up: imports, templates, connections
        for _ in range(repeats):
            for page in PAGES:
                if page == FRESH_CHART:
                    dash.extra.pop("chart", None)
                started = time.perf_counter()
                response = client.get(page.split(" ")[0])
                times[page].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (page, response.status_code)
    app.close()
    return times


def run(backend: str, url: str | None, rows: int, schedules: int, repeats: int) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        storage = (
            f"{{backend: sqlite, filename: {folder / 'jobs.db'}}}"
            if backend == "sqlite"
            else f"{{backend: redis, url: '{url}'}}"
        )
        storage = storage.strip("{}").replace(", ", "\n    ").replace(": ", ": ", 1)
        config = folder / "jobs.yaml"
        config.write_text(build(storage, 100, schedules))
        app = jobrunner.load(config)
        fill(app, rows, 100, schedules)
        app.close()
        times = measure(config, repeats)
    return [
        f"| {backend} | `{page}` | {statistics.median(t):.1f} | {max(t):.1f} | "
        f"{'yes' if max(t) < TARGET_MS else 'NO'} |"
        for page, t in times.items()
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows, 3 repeats")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--backend", choices=("sqlite", "redis", "all"), default="all")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # Starlette's test client on httpx: not our concern here
    rows, repeats = (10_000, 3) if args.quick else (100_000, args.repeats)
    lines = [
        f"{rows:,} history rows, 1,000 schedules, 1,000 queued tasks, 100 dead letters; "
        f"{repeats} fetches per page",
        "",
        "| backend | page | median ms | slowest ms | < 200 ms |",
        "|---|---|---|---|---|",
    ]
    if args.backend in ("sqlite", "all"):
        lines += run("sqlite", None, rows, 1000, repeats)
    if args.backend in ("redis", "all"):
        with tempfile.TemporaryDirectory() as tmp:
            server = RedisServer(Path(tmp))
            server.start()
            try:
                lines += run("redis", server.url, rows, 1000, repeats)
            finally:
                server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
