"""Enqueue throughput (no consumer) and drain throughput (a full queue, then a consumer)."""

from __future__ import annotations

import time

from benchmarks._report import Section, check, comparison, ratio
from benchmarks._settings import Settings
from benchmarks._stats import Measure
from benchmarks._systems import SQLITE_VARIANTS, SYSTEMS, Backend, Consumer, Producer, System

MIN_RATIO = 0.95
DRAIN_POLL = 0.02  # seconds between two looks at the queue while it drains
# An enqueue run takes about a second, in this process: three times as many runs
# as a drain's cost little and keep a slow second of the machine out of the median.
ENQUEUE_RUNS_PER_REPEAT = 3


def _ordered(systems: list[tuple[str, System]], repeat: int) -> list[tuple[str, System]]:
    # Alternate who goes first: caches, the page cache and the other load on
    # the machine then favour neither side.
    return systems if repeat % 2 == 0 else systems[::-1]


def _systems(backend: Backend, settings: Settings) -> list[tuple[str, System]]:
    """jobrunner and huey by name, then jobrunner with huey's settings by variant label."""
    systems: list[tuple[str, System]] = [
        (cls.name, cls(backend, settings.folder)) for cls in SYSTEMS
    ]
    if backend.kind == "sqlite":
        systems += [(v.label, v.system(backend, settings.folder)) for v in SQLITE_VARIANTS]
    return systems


def _variant_rows(
    section: Section,
    backend: str,
    case: str,
    values: dict[str, list[float]],
    unit: str,
    huey: Measure,
) -> None:
    # No target: the targets are about what a user runs, jobrunner's defaults. These
    # rows show what those defaults change; the layer's own cost per task is counted
    # without a drain's noise by benchmarks/instructions.py (docs/performance.md).
    for variant in SQLITE_VARIANTS if backend == "sqlite" else ():
        measure = Measure.of(values[variant.label], unit)
        comparison(section, f"{backend} ({variant.label})", case, measure, huey)


def _enqueue(producer: Producer, count: int) -> float:
    producer.flush()
    enqueue = producer.enqueue_noop
    start = time.perf_counter()
    for _ in range(count):
        enqueue()
    elapsed = time.perf_counter() - start
    if producer.queue_size() != count:
        raise RuntimeError(f"enqueued {count} tasks but the queue holds {producer.queue_size()}")
    producer.flush()
    return count / elapsed


def enqueue(settings: Settings) -> Section:
    runs = settings.repeats * ENQUEUE_RUNS_PER_REPEAT
    section = Section(
        "Enqueue throughput",
        f"{settings.enqueue_tasks:,} calls of a no-op task handle in a loop, no consumer "
        "running (jobrunner: `app.tasks.noop()`; huey: `noop()`); "
        f"{runs} runs per figure, the systems taking turns. Higher is better.",
    )
    for backend in settings.backends:
        systems = _systems(backend, settings)
        producers = {name: s.producer() for name, s in systems}
        rates: dict[str, list[float]] = {name: [] for name, _ in systems}
        # One untimed round warms imports, connections and the SQLite file.
        for name, _ in systems:
            _enqueue(producers[name], min(200, settings.enqueue_tasks))
        for repeat in range(runs):
            for name, _ in _ordered(systems, repeat):
                rates[name].append(_enqueue(producers[name], settings.enqueue_tasks))
        jr, hu = Measure.of(rates["jobrunner"], "rate"), Measure.of(rates["huey"], "rate")
        r = ratio(jr, hu) or 0.0
        target = check(section, f"{backend.kind}", r >= MIN_RATIO, f">= {MIN_RATIO}x")
        case = f"{settings.enqueue_tasks:,} tasks"
        comparison(section, backend.kind, case, jr, hu, target)
        _variant_rows(section, backend.kind, case, rates, "rate", hu)
        for _, system in systems:
            system.close()
    return section


def _drain(
    system: System, producer: Producer, settings: Settings, workers: int, kind: str
) -> tuple[float, float]:
    """Tasks per second, and consumer CPU microseconds per task, of one drain."""
    count = settings.drain_tasks
    producer.flush()
    for _ in range(count):
        producer.enqueue_noop()
    log = settings.folder / f"{system.queue}-drain-{workers}{kind}-{time.monotonic_ns()}.log"
    consumer = Consumer(system.consumer_command(workers, kind), log)
    try:
        # Timed from the first task taken to the empty queue: consumer start-up
        # (imports, config validation) is not drain throughput.
        interval = 0.002 if system.backend.kind == "redis" else 0.005
        deadline = time.monotonic() + 60 + count / 20
        size = producer.queue_size()
        while size >= count:
            consumer.check()
            if time.monotonic() > deadline:
                raise RuntimeError(f"{system.name} consumer took no task; log in {consumer.log}")
            time.sleep(interval)
            size = producer.queue_size()
        first_size, start, cpu = size, time.perf_counter(), consumer.group_cpu_seconds()
        while size > 0:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{system.name} consumer did not drain the queue; log in {consumer.log}"
                )
            # Looking less often during the drain: on two cores a read every few
            # milliseconds competes with the consumer it measures. The end is seen up
            # to 20 ms late, about 0.4% of a drain, alike for both systems.
            time.sleep(DRAIN_POLL)
            size = producer.queue_size()
        elapsed = time.perf_counter() - start
        cpu = consumer.group_cpu_seconds() - cpu
    finally:
        consumer.stop()
    consumer.log.unlink(missing_ok=True)
    return first_size / elapsed, cpu / first_size * 1e6


def drain(settings: Settings) -> tuple[Section, Section]:
    rates_section = Section(
        "Drain throughput",
        f"{settings.drain_tasks:,} no-op tasks queued, then a consumer started with N workers; "
        "timed from the first task taken to the empty queue. Both consumers log each task at "
        "INFO, as `huey_consumer` and `jobrunner run` do by default. Higher is better.",
    )
    cost_section = Section(
        "Drain CPU cost",
        "CPU time (user + system) the consumer and its worker processes used per task during "
        "the drains above. Less sensitive than throughput to other load on the machine. "
        "Lower is better.",
    )
    for backend in settings.backends:
        for workers, kind in settings.drain_cases:
            systems = _systems(backend, settings)
            producers = {name: s.producer() for name, s in systems}
            rates: dict[str, list[float]] = {name: [] for name, _ in systems}
            costs: dict[str, list[float]] = {name: [] for name, _ in systems}
            for repeat in range(settings.repeats):
                for name, system in _ordered(systems, repeat):
                    rate, cost = _drain(system, producers[name], settings, workers, kind)
                    rates[name].append(rate)
                    costs[name].append(cost)
            jr, hu = Measure.of(rates["jobrunner"], "rate"), Measure.of(rates["huey"], "rate")
            r = ratio(jr, hu) or 0.0
            plural = kind + ("es" if kind == "process" else "s")
            case = f"{workers} {kind if workers == 1 else plural}"
            target = check(
                rates_section, f"{backend.kind} {case}", r >= MIN_RATIO, f">= {MIN_RATIO}x"
            )
            comparison(rates_section, backend.kind, case, jr, hu, target)
            _variant_rows(rates_section, backend.kind, case, rates, "rate", hu)
            huey_cost = Measure.of(costs["huey"], "us")
            comparison(
                cost_section, backend.kind, case, Measure.of(costs["jobrunner"], "us"), huey_cost
            )
            _variant_rows(cost_section, backend.kind, case, costs, "us", huey_cost)
            for _, system in systems:
                system.close()
    return rates_section, cost_section
