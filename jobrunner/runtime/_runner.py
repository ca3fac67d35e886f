"""Run the consumers of every instance of a config in one process, and stop them cleanly.

huey's ``Consumer.run()`` owns the main thread and its signals, and runs one
instance. Here each consumer is only ``start()``-ed; this module keeps the
main thread, the signal handlers and the health checks for all of them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from types import FrameType
from typing import TYPE_CHECKING

import huey
from huey.consumer import Consumer

from jobrunner import events
from jobrunner.app import App, gc_paused
from jobrunner.config import ConsumerConfig, InstanceConfig, LoggingConfig, load_config
from jobrunner.errors import RunnerError, UnknownNameError
from jobrunner.factory import release_held_locks, safe_target
from jobrunner.runtime._consumer import make_consumer, with_overrides
from jobrunner.runtime._greenlet import GREENLET, prepare_greenlets
from jobrunner.runtime._hooks import install_hooks
from jobrunner.runtime._reload import Attempt, Reloader
from jobrunner.runtime._watch import ConfigWatcher
from jobrunner.runtime._web import make_endpoint

if TYPE_CHECKING:
    from jobrunner.web import Endpoint

log = logging.getLogger("jobrunner")


@dataclass(frozen=True)
class RunOptions:
    """What ``jobrunner run`` was asked for on the command line."""

    instances: tuple[str, ...] = ()
    workers: int | None = None
    worker_type: str | None = None
    periodic: bool | None = None
    reload: bool = True
    reload_poll: float | None = None
    http: str | None = None  # --http ADDR: the endpoint's listen address (overrides the file)
    # Called with the file's `logging:` once it is loaded (the CLI sets up its logging).
    configure_logging: Callable[[LoggingConfig], None] | None = None


class Runner:
    """Loads a config, starts one consumer per instance and supervises them."""

    def __init__(self, path: str, options: RunOptions | None = None) -> None:
        self.path = path
        self.options = options or RunOptions()
        self._wake = threading.Event()
        self._signals: list[int] = []
        self.consumers: dict[str, Consumer] = {}
        self.app: App | None = None
        self.reloader: Reloader | None = None
        self.watcher: ConfigWatcher | None = None
        self._reload_requested = threading.Event()
        # When the supervisor loop last ran (time.monotonic()): /healthz reads it.
        self.heartbeat = time.monotonic()
        self.endpoint: Endpoint | None = None
        self._reload_reason = "file change"
        self._loading: _Load | None = None

    def start(self) -> None:
        """Load and validate the config, import every function, start the consumers."""
        with gc_paused():
            loaded = load_config(self.path, check_imports=True, reloadable=True)
        if self.options.configure_logging is not None:
            self.options.configure_logging(loaded.config.logging)
        names = self.options.instances or tuple(loaded.config.instances)
        for name in names:
            if name not in loaded.config.instances:
                raise UnknownNameError("instance", name, loaded.config.instances)
        # Before anything starts or is logged: this may start the process again,
        # patched for greenlets (see _greenlet.py).
        prepare_greenlets(
            name
            for name in names
            if not loaded.config.instances[name].immediate
            and self.settings_for(loaded.config.instances[name]).worker_type == GREENLET
        )
        self.endpoint = make_endpoint(self, loaded.config.http, self.options.http)
        if self.endpoint is not None:
            self.endpoint.bind()  # a busy port fails here, before any task is taken
        for warning in loaded.warnings:
            log.warning("%s", warning.format())
        # This process is the runner's own: what the load built lives as long as it does, so
        # it goes to the permanent generation, out of every later collection's way.
        with gc_paused(freeze=True):
            app = App(loaded.config, immediate=False)
            app.bind()
        events.hub().generation = 1
        for name in names:
            install_hooks(app.huey(name), loaded.config.instances[name])
        self.app = app
        for name in names:
            instance = loaded.config.instances[name]
            if instance.immediate:
                log.warning(
                    "instance %s is in immediate mode (its tasks run in the caller); "
                    "no consumer started for it",
                    name,
                )
                continue
            self.consumers[name] = self.make_instance_consumer(name, instance, app.huey(name))
        if not self.consumers:
            raise RunnerError("no instance to run: every selected instance is in immediate mode")
        config = loaded.config
        log.info(
            "loaded %s: %d instance(s), %d task(s), %d schedule(s)",
            self.path,
            len(config.instances),
            len(config.tasks),
            len(config.schedules),
        )
        # Before the consumers start: a signal that arrives while they start (while
        # process workers fork) is queued for _supervise instead of being lost.
        self._install_signal_handlers()
        for consumer in self.consumers.values():
            consumer.start()
        if self.endpoint is not None:
            self.endpoint.start()
        self.reloader = Reloader(self, loaded)
        if self.options.reload:
            self.watcher = ConfigWatcher(
                self.path, self._request_reload, poll=self.options.reload_poll
            )
            self.watcher.start()
            log.info(
                "watching %s for changes (%s); SIGHUP reloads too",
                self.path,
                self.watcher.method,
            )

    def settings_for(self, instance: InstanceConfig) -> ConsumerConfig:
        """The consumer settings of ``instance`` with the command line's overrides applied."""
        return with_overrides(
            instance.consumer,
            workers=self.options.workers,
            worker_type=self.options.worker_type,
            periodic=self.options.periodic,
        )

    def make_instance_consumer(
        self, name: str, instance: InstanceConfig, app_huey: huey.Huey, *, drain: bool = False
    ) -> Consumer:
        """The (unstarted) consumer of ``instance``; ``drain``: schedules off, no log line."""
        settings = self.settings_for(instance)
        if drain:
            return make_consumer(
                app_huey, replace(settings, periodic=False), lease=instance.lease, instance=instance
            )
        log.info(
            "instance %s: %s %s, %d %s worker(s), schedules %s",
            name,
            instance.backend,
            safe_target(instance),
            settings.workers,
            settings.worker_type,
            "on" if settings.periodic else "off",
            extra={"instance": name},
        )
        return make_consumer(app_huey, settings, lease=instance.lease, instance=instance)

    def app_or_fail(self) -> App:
        """The running App (after :meth:`start`)."""
        if self.app is None:
            raise RunnerError("the runner is not started")
        return self.app

    def _request_reload(self) -> None:
        # Runs on the watcher's thread: the reload itself runs on the main thread.
        self._reload_requested.set()
        self._wake.set()

    def run(self) -> int:
        """Start, then supervise until SIGINT or SIGTERM; return the exit code."""
        self.start()
        restart = self._supervise()
        if not self.stop(graceful=True):
            # A second signal cut the running tasks off: not a clean stop (exit 130).
            raise KeyboardInterrupt
        if restart:
            log.info("restarting (SIGHUP)")
            sys.stdout.flush()
            sys.stderr.flush()
            os.execv(sys.executable, [sys.executable, *sys.argv])
        log.info("stopped")
        return 0

    def _supervise(self) -> bool:
        next_check = {name: time.monotonic() for name in self.consumers}
        while True:
            self._wake.wait(0.5)
            self._wake.clear()
            self.heartbeat = time.monotonic()
            while self._signals:
                signum = self._signals.pop(0)
                hangup = signum == getattr(signal, "SIGHUP", None)
                if hangup:
                    log.info("received %s", signal.Signals(signum).name)
                else:
                    log.info(
                        "received %s: stopping once running tasks finish; "
                        "a second SIGINT or SIGTERM interrupts them",
                        signal.Signals(signum).name,
                    )
                if hangup and self.options.reload:
                    self._reload_reason = "SIGHUP"
                    self._reload_requested.set()
                    continue
                return hangup
            self._reload_step()
            if self.reloader is not None:
                self.reloader.tick()
            now = time.monotonic()
            for name, consumer in self.consumers.items():
                if now >= next_check.setdefault(name, now):
                    next_check[name] = now + consumer._health_check_interval
                    if consumer._health_check:
                        consumer.check_worker_health()

    def _reload_step(self) -> None:
        """Start a requested reload's load on its own thread, or apply one that is loaded.

        The load (parse, validate, import) may take any time; this loop keeps handling
        signals meanwhile, and a stop abandons the load (a daemon thread).
        """
        if self.reloader is None:
            return
        if self._loading is None:
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                reason, self._reload_reason = self._reload_reason, "file change"
                self._loading = _Load(self.reloader, reason, self._wake)
            return
        if not self._loading.done.is_set():
            return
        loading, self._loading = self._loading, None
        try:
            if loading.failure is not None:
                raise loading.failure
            if loading.attempt is not None:
                self.reloader.finish(loading.attempt)
        except Exception:  # a bug must not take the running consumers down with it
            log.exception("reload failed unexpectedly (a bug: please report it)")
        if self._reload_requested.is_set():
            self._wake.set()  # saved again while loading: load again

    def stop(self, *, graceful: bool = True) -> bool:
        """Stop every consumer; with ``graceful``, running tasks finish first.

        A second SIGINT or SIGTERM during a graceful stop interrupts the workers;
        the return value is False then.
        """
        if self.watcher is not None:
            self.watcher.stop()
        # Consumers a reload let go of (finishing their tasks, or draining an old storage).
        retiring = self.reloader.retiring if self.reloader is not None else []
        consumers = [*self.consumers.items(), *((r.instance, r.consumer) for r in retiring)]
        threads = [
            threading.Thread(
                target=consumer.stop,
                kwargs={"graceful": graceful},
                name=f"stop-{name}",
                daemon=True,
            )
            for name, consumer in consumers
        ]
        for thread in threads:
            thread.start()
        interrupted = False
        while any(t.is_alive() for t in threads):
            for thread in threads:
                thread.join(0.1)
            if graceful and self._signals:
                log.warning("second signal: interrupting running tasks")
                self._signals.clear()
                for _, consumer in consumers:
                    consumer._interrupt_workers()
                # Thread workers cannot be interrupted: stop waiting for them. They
                # are daemon threads, so they end with the process (as in huey's own
                # consumer on a second SIGINT). What they run goes back on the queue
                # now rather than when the lease expires.
                for _, consumer in consumers:
                    if consumer.delivery is not None:
                        consumer.delivery.stop()
                interrupted = True
                break
        for _, consumer in consumers:
            consumer.huey.notify_interrupted_tasks()
        for lock in release_held_locks():
            log.warning("released lock %s of a run that did not finish", lock)
        if self.reloader is not None:
            self.reloader.leftover_warnings()
        events.hub().stop()  # flushes what the consumers emitted last
        if self.endpoint is not None:
            self.endpoint.stop()
        return not interrupted

    def _install_signal_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if signum is not None:
                signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals.append(signum)
        self._wake.set()


class _Load:
    """One reload's load stage, run on a daemon thread; ``wake`` is set when it is done."""

    def __init__(self, reloader: Reloader, reason: str, wake: threading.Event) -> None:
        self.attempt: Attempt | None = None
        self.failure: Exception | None = None
        self.done = threading.Event()
        self._reloader = reloader
        self._reason = reason
        self._wake = wake
        threading.Thread(target=self._run, name="config-load", daemon=True).start()

    def _run(self) -> None:
        try:
            self.attempt = self._reloader.load(self._reason)
        except Exception as exc:  # handed to the main thread, which logs it
            self.failure = exc
        finally:
            self.done.set()
            self._wake.set()
