"""The benchmark's surroundings: a private redis-server, subprocess environment, machine facts."""

from __future__ import annotations

import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RedisServer:
    """A ``redis-server`` of our own on a free port (never the shared one on 6379).

    The tests use it too (``tests/support/servers.py``), with their own ``missing``
    hint: CI must fail, not skip, when the binary is not there.
    """

    missing = "or pass --backend sqlite to benchmark SQLite only"

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(
                f"redis-server is not installed (apt-get install redis-server); {self.missing}"
            )
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def version(self) -> str:
        import redis

        info = redis.Redis.from_url(self.url).info("server")
        return str(info.get("redis_version", "?"))


def child_env() -> dict[str, str]:
    """Environment of a consumer subprocess: this checkout importable, no eager mode."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.pop("JOBRUNNER_IMMEDIATE", None)
    return env


def jobrunner_command() -> list[str]:
    """How to start ``jobrunner``: the console script beside this Python, else ``-m``."""
    script = Path(sys.executable).with_name("jobrunner")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "jobrunner"]


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def machine(redis_version: str | None) -> dict[str, str]:
    """What the figures were measured on."""
    return {
        "cpu": f"{_cpu_model()}, {os.cpu_count()} logical CPUs (nproc)",
        "ram": _ram(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "huey": _package("huey"),
        "redis-py": _package("redis"),
        "redis-server": redis_version or "not used",
        "sqlite": sqlite3.sqlite_version,
        "jobrunner": _package("jobrunner"),
    }
