"""``/metrics`` of a real ``jobrunner run``: the counts equal what ran, on every backend.

The scrape is parsed with ``prometheus_client.parser`` (the format Prometheus reads), and
the runner uses process workers on each backend (their runs happen in child processes, and
their events must reach the parent's endpoint), and thread and greenlet workers on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

import jobrunner
from jobrunner.web import _gauges
from tests.integration.test_backends import _backend_lines
from tests.support.processes import Runner
from tests.web.support import endpoint_config, endpoint_url, get, in_process_runner, wait_until

FLAKY = '''
import os


def flaky(marker):
    """Fail the first time (leaving a marker file), succeed the second."""
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("first attempt fails")
    return "ok"
'''

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str) -> Samples:
    """Every sample of ``url``/metrics, keyed by (name, labels)."""
    response = get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def runs(samples: Samples) -> dict[tuple[str, str], float]:
    """jobrunner_task_runs_total as {(task, outcome): count}."""
    found = {}
    for (name, labels), value in samples.items():
        if name == "jobrunner_task_runs_total":
            found[(dict(labels)["task"], dict(labels)["outcome"])] = value
    return found


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "worker_type"),
    [
        ("sqlite", "process"),
        ("redis", "process"),
        ("postgres", "process"),
        ("sqlite", "thread"),
        ("sqlite", "greenlet"),
    ],
)
def test_counts_of_50_runs_on_4_workers(
    backend: str,
    worker_type: str,
    write_config: Callable[..., Path],
    project: Path,
    request: pytest.FixtureRequest,
) -> None:
    (project / "metrics_tasks.py").write_text(FLAKY)
    config = endpoint_config(
        write_config,
        _backend_lines(backend, project, request),
        f"{{workers: 4, worker_type: {worker_type}}}",
        """
        add: {function: sample_tasks:add}
        fail: {function: sample_tasks:fail}
        flaky: {function: metrics_tasks:flaky, retries: 1}
        """,
    )
    with Runner(config) as runner:
        url = endpoint_url(runner)
        runner.wait_for("Huey consumer started")
        with jobrunner.load(config) as app:
            for i in range(30):
                app.tasks.add(i, 1)
            for _ in range(10):
                app.tasks.fail("on purpose")
            for i in range(10):
                app.tasks.flaky(str(project / f"flaky-{i}"))
        expected = {
            ("add", "complete"): 30,
            ("fail", "error"): 10,
            ("flaky", "error"): 10,
            ("flaky", "retrying"): 10,
            ("flaky", "complete"): 10,
        }
        wait_until(lambda: runs(scrape(url)) == expected, 60, f"runs == {expected}")
        samples = scrape(url)
        main = frozenset({("instance", "main")})

        def value(name: str, **labels: str) -> float:
            return samples[(name, main | frozenset(labels.items()))]

        assert value("jobrunner_task_run_duration_seconds_count", task="add") == 30
        # Each flaky task ran twice: one failed attempt, one that completed.
        assert value("jobrunner_task_run_duration_seconds_count", task="flaky") == 20
        # Every run has ended: all 4 workers idle.
        assert value("jobrunner_workers", state="busy") == 0
        assert value("jobrunner_workers", state="idle") == 4
        assert value("jobrunner_consumers_up") >= 1

        def drained() -> bool:
            # The storage gauges come from a snapshot cached up to 5 s: wait for one taken
            # after the last run.
            fresh = scrape(url)
            return all(
                fresh.get((name, main)) == 0
                for name in (
                    "jobrunner_queue_depth",
                    "jobrunner_in_flight_tasks",
                    "jobrunner_scheduled_tasks",
                    "jobrunner_dead_letters",
                )
            )

        wait_until(drained, 30, "storage gauges at 0")
        assert samples[("jobrunner_config_generation", frozenset())] == 1
        assert runner.stop() == 0
    # The failing tasks log their tracebacks; nothing else may fail.
    assert "Exception in ASGI" not in runner.output
    assert "a bug" not in runner.output


def test_storage_gauges_are_read_once_per_cache_period(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scrapes in a row cost one status snapshot (its few round trips), not one each."""
    config = write_config(
        """
version: 1
http: {listen: "127.0.0.1:0"}
tasks:
  add: {function: sample_tasks:add}
"""
    )
    taken: list[str | None] = []
    real = _gauges.snapshot

    def counting(config: Any, instance: str | None = None) -> Any:
        taken.append(instance)
        return real(config, instance=instance)

    monkeypatch.setattr(_gauges, "snapshot", counting)
    with in_process_runner(config) as runner:
        assert runner.endpoint is not None
        url = runner.endpoint.server.url
        collector = runner.endpoint.metrics.collector
        collector.cache_seconds = 3600.0  # no refresh due during the test, however slow
        for _ in range(20):
            assert ("jobrunner_queue_depth", frozenset({("instance", "default")})) in scrape(url)
        assert taken == ["default"]
        collector.cache_seconds = 0.0  # the counting itself works: every scrape reads now
        for _ in range(3):
            scrape(url)
        assert taken == ["default"] * 4


@pytest.mark.slow
def test_reloads_count_by_result_and_the_generation_follows(
    write_config: Callable[..., Path],
) -> None:
    text = """
version: 1
http: {listen: "127.0.0.1:0"}
tasks:
  add: {function: sample_tasks:add}
"""
    config = write_config(text)
    with Runner(config) as runner:
        url = endpoint_url(runner)
        # The endpoint is up before the file watcher: a save in between would go unseen.
        runner.wait_for("INFO jobrunner: watching ")
        config.write_text(text.lstrip() + "  echo: {function: sample_tasks:echo}\n")
        runner.wait_for("INFO jobrunner: reloaded ")
        config.write_text(text.lstrip() + "  broken: {function: 3}\n")
        runner.wait_for("ERROR jobrunner: reload rejected: ")

        def reloads() -> dict[str, float]:
            samples = scrape(url)
            return {
                dict(labels)["result"]: value
                for (name, labels), value in samples.items()
                if name == "jobrunner_reloads_total"
            }

        wait_until(lambda: reloads() == {"applied": 1, "rejected": 1}, 30, "reload counts")
        assert scrape(url)[("jobrunner_config_generation", frozenset())] == 2
        assert runner.stop() == 0
