"""The two systems under test, behind one interface: jobrunner and hand-written plain huey.

A system gives a producer (a huey object plus task handles, in this process) and
the command of its consumer (a subprocess). Each measurement uses a fresh queue
name, so leftovers of one never reach another.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huey import Huey

from benchmarks._env import child_env, jobrunner_command

_serial = itertools.count(1)


@dataclass(frozen=True)
class Backend:
    """A storage both systems share: ``kind`` is ``redis`` or ``sqlite``."""

    kind: str
    target: str  # A Redis URL, or the folder where SQLite files go.

    def location(self, queue: str) -> str:
        if self.kind == "sqlite":
            return str(Path(self.target) / f"{queue}.db")
        return self.target


class Producer:
    """A system's huey object and handles, in the benchmark process."""

    def __init__(self, huey: Huey, enqueue_noop: Callable[[], Any], ping: Callable[[], Any]):
        self.huey = huey
        self.enqueue_noop = enqueue_noop
        self.ping = ping

    def queue_size(self) -> int:
        return int(self.huey.storage.queue_size())

    def flush(self) -> None:
        self.huey.storage.flush_queue()
        self.huey.storage.flush_results()


class System:
    """Base of :class:`Jobrunner` and :class:`PlainHuey`."""

    name = ""

    def __init__(self, backend: Backend, folder: Path) -> None:
        self.backend = backend
        self.folder = folder
        self.queue = f"bench-{self.name}-{os.getpid()}-{next(_serial)}"

    def producer(self) -> Producer:
        raise NotImplementedError

    def consumer_command(self, workers: int | None, worker_type: str | None) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class PlainHuey(System):
    """huey as its documentation shows it: ``@huey.task()`` and ``huey_consumer``."""

    name = "huey"

    def producer(self) -> Producer:
        from benchmarks._plain import make_huey, register

        huey = make_huey(self.backend.kind, self.backend.location(self.queue), self.queue)
        handles = register(huey)
        noop, ping = handles["noop"], handles["ping"]
        # A huey user calls the module-level wrapper: ``noop()``.
        return Producer(huey, lambda: noop(), lambda: ping())

    def consumer_command(self, workers: int | None, worker_type: str | None) -> list[str]:
        return [
            sys.executable,
            "-m",
            "benchmarks._huey_consumer",
            self.backend.kind,
            self.backend.location(self.queue),
            self.queue,
            str(workers or 1),
            worker_type or "thread",
        ]


class Jobrunner(System):
    """jobrunner with its defaults: a ``jobs.yaml``, ``jobrunner.load`` and ``jobrunner run``.

    ``settings`` adds instance keys (a :class:`Variant`), to measure jobrunner with
    some of huey's defaults instead of its own.
    """

    name = "jobrunner"

    def __init__(
        self, backend: Backend, folder: Path, settings: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(backend, folder)
        extra = "".join(f"    {key}: {value}\n" for key, value in settings)
        self.config = folder / f"{self.queue}.yaml"
        location = (
            f"url: {self.backend.target}"
            if backend.kind == "redis"
            else f"filename: {self.backend.location(self.queue)}"
        )
        self.config.write_text(
            "version: 1\n"
            "instances:\n"
            "  bench:\n"
            f"    backend: {backend.kind}\n"
            f"    name: {self.queue}\n"
            f"    {location}\n"
            f"{extra}"
            "tasks:\n"
            "  noop: {function: 'benchmarks._tasks:noop'}\n"
            "  ping: {function: 'benchmarks._tasks:ping'}\n",
            encoding="utf-8",
        )
        self._apps: list[Any] = []

    def producer(self) -> Producer:
        import jobrunner

        app = jobrunner.load(self.config, immediate=False)
        self._apps.append(app)
        # A jobrunner user goes through the handles each call: ``app.tasks.noop()``.
        return Producer(app.huey("bench"), lambda: app.tasks.noop(), lambda: app.tasks.ping())

    def consumer_command(self, workers: int | None, worker_type: str | None) -> list[str]:
        command = [*jobrunner_command(), "run", str(self.config)]
        if workers is not None:
            command += ["--workers", str(workers)]
        if worker_type is not None:
            command += ["--worker-type", worker_type]
        return command

    def close(self) -> None:
        for app in self._apps:
            app.close()


SYSTEMS: tuple[type[System], ...] = (Jobrunner, PlainHuey)


@dataclass(frozen=True)
class Variant:
    """jobrunner with some of huey's settings, measured beside its defaults."""

    label: str
    settings: tuple[tuple[str, str], ...]

    def system(self, backend: Backend, folder: Path) -> Jobrunner:
        return Jobrunner(backend, folder, self.settings)


# On SQLite jobrunner's defaults differ from huey's in durability (synchronous=NORMAL,
# huey's FULL) and delivery (at-least-once): these rows take them away again, to show
# what the jobrunner layer itself costs and what at-least-once costs.
SQLITE_VARIANTS = (
    Variant("fsync: true", (("fsync", "true"),)),
    Variant("fsync: true, at_most_once", (("fsync", "true"), ("delivery", "at_most_once"))),
)


class Consumer:
    """A consumer subprocess; its output goes to a log file kept for post-mortems."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.command = command
        # Logs go to a folder of their own: a log written beside jobs.yaml would wake
        # jobrunner's config watcher on every line, which is not what a user runs.
        log = log.parent / "logs" / log.name
        log.parent.mkdir(exist_ok=True)
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                command,
                cwd=log.parent,
                env=child_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def check(self) -> None:
        """Raise if the consumer has exited."""
        code = self.process.poll()
        if code is not None:
            tail = self.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"consumer {self.command} exited with {code}:\n{tail}")

    def rss_mib(self) -> float:
        """Resident memory of the consumer process (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc status")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the consumer process, all its threads."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def group_cpu_seconds(self) -> float:
        """CPU time of the consumer and its process workers (its process group), so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.pid:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self, timeout: float = 30) -> None:
        """SIGINT (graceful for both consumers); SIGKILL the group when it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # Process workers of a killed consumer may survive it; they are in its group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
