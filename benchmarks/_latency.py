"""Enqueue-to-result round trips with a running consumer, warm and after it idled; idle cost.

Every (backend, system) consumer runs at once, so the idle wait is paid once a
repeat; each consumer is measured while the others sit idle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from benchmarks._report import Section, check, comparison
from benchmarks._settings import Settings
from benchmarks._stats import Measure, percentile
from benchmarks._systems import SYSTEMS, Consumer, Producer, System

# Round-trip p50 jobrunner must reach out of the box, by backend (issue 5).
P50_TARGET_MS = {"redis": 5.0, "sqlite": 30.0}
WORKERS = 4
WARMUP_CALLS = 20


@dataclass
class _Run:
    system: System
    producer: Producer
    consumer: Consumer | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.samples.setdefault(key, []).append(value)


def _round_trip(producer: Producer) -> float:
    start = time.perf_counter()
    value = producer.ping().get(blocking=True, timeout=30)
    elapsed = time.perf_counter() - start
    if value != 1:
        raise RuntimeError(f"ping returned {value!r}")
    return elapsed * 1000


def _series(run: _Run, calls: int, suffix: str) -> None:
    samples = [_round_trip(run.producer) for _ in range(calls)]
    run.add("p50" + suffix, percentile(samples, 50))
    run.add("p99" + suffix, percentile(samples, 99))


def _start(run: _Run, settings: Settings, repeat: int) -> None:
    log = settings.folder / f"{run.system.queue}-latency-{repeat}.log"
    run.producer.flush()
    run.consumer = Consumer(run.system.consumer_command(WORKERS, "thread"), log)


def _wait_ready(run: _Run) -> None:
    assert run.consumer is not None
    try:
        run.producer.ping().get(blocking=True, timeout=120)
    except Exception as exc:
        run.consumer.check()
        raise RuntimeError(
            f"{run.system.name} consumer never answered; log in {run.consumer.log}"
        ) from exc
    for _ in range(WARMUP_CALLS):
        _round_trip(run.producer)


def latency(settings: Settings) -> tuple[Section, Section]:
    idle = f"{settings.idle:g} s"
    runs: list[_Run] = []
    for backend in settings.backends:
        for cls in SYSTEMS:
            system = cls(backend, settings.folder)
            runs.append(_Run(system, system.producer()))
    for repeat in range(settings.repeats):
        order = runs if repeat % 2 == 0 else runs[::-1]
        try:
            for run in order:
                _start(run, settings, repeat)
            for run in order:
                _wait_ready(run)
                _series(run, settings.calls, "")
            cpu_start = {
                id(r): (time.monotonic(), r.consumer.cpu_seconds()) for r in order if r.consumer
            }
            time.sleep(settings.idle)
            for run in order:
                assert run.consumer is not None
                run.consumer.check()
                wall0, cpu0 = cpu_start[id(run)]
                run.add(
                    "cpu", 100 * (run.consumer.cpu_seconds() - cpu0) / (time.monotonic() - wall0)
                )
                run.add("rss", run.consumer.rss_mib())
            for run in order:
                run.add("first", _round_trip(run.producer))
                _series(run, settings.calls, " idle")
        finally:
            for run in order:
                if run.consumer is not None:
                    run.consumer.stop()
                    run.consumer.log.unlink(missing_ok=True)
                    run.consumer = None

    trips = Section(
        "Round-trip latency",
        f"Enqueue a task that returns a value and wait for it with `result.get(blocking=True)`, "
        f"{settings.calls} calls one after another, against a consumer with {WORKERS} thread "
        f"workers: right after start, then again after the consumer sat idle for {idle} (its "
        "first call alone, then the series). p50/p99 per run; median of the runs (min-max). "
        "Lower is better.",
    )
    resources = Section(
        "Idle consumer",
        f"A consumer with {WORKERS} thread workers after the first series, during {idle} of "
        "idling: resident memory at the end, CPU time used over the idle time. Lower is better.",
    )
    for backend in settings.backends:
        jr_run, hu_run = (
            next(r for r in runs if r.system.backend is backend and r.system.name == name)
            for name in ("jobrunner", "huey")
        )
        limit = P50_TARGET_MS[backend.kind]
        for key, case in (
            ("p50", "p50"),
            ("p99", "p99"),
            ("first", f"first call after {idle} idle"),
            ("p50 idle", f"p50 after {idle} idle"),
            ("p99 idle", f"p99 after {idle} idle"),
        ):
            jr = Measure.of(jr_run.samples[key], "ms")
            hu = Measure.of(hu_run.samples[key], "ms")
            target = ""
            if key.startswith("p50"):
                target = check(
                    trips, f"{backend.kind} {case}", jr.median <= limit, f"<= {limit:g} ms"
                )
            comparison(trips, backend.kind, case, jr, hu, target)
        for key, case, unit in (
            ("rss", f"RSS, {WORKERS} thread workers", "MiB"),
            ("cpu", f"CPU while idle, {WORKERS} thread workers", "%"),
        ):
            comparison(
                resources,
                backend.kind,
                case,
                Measure.of(jr_run.samples[key], unit),
                Measure.of(hu_run.samples[key], unit),
            )
    for run in runs:
        run.system.close()
    return trips, resources
