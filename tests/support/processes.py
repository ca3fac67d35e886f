"""Run the real ``jobrunner`` command in a subprocess and watch its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def env(**extra: str) -> dict[str, str]:
    """The environment of a jobrunner subprocess: this checkout importable, unbuffered output."""
    result = dict(os.environ)
    result["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), result.get("PYTHONPATH", "")) if p
    )
    result["PYTHONUNBUFFERED"] = "1"
    result.pop("JOBRUNNER_IMMEDIATE", None)
    result.update(extra)
    return result


def cli(
    *args: str, cwd: Path | None = None, timeout: float = 60, **extra: str
) -> subprocess.CompletedProcess[str]:
    """Run ``jobrunner ARGS`` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "jobrunner", *args],
        cwd=cwd,
        env=env(**extra),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class Runner:
    """``jobrunner run`` in the background, its output going to a log file."""

    def __init__(self, config: Path, *args: str, cwd: Path | None = None, **extra: str) -> None:
        self.config = config
        self.log_path = config.parent / f"runner-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobrunner", "run", str(config), *args],
            cwd=cwd or config.parent,
            env=env(**extra),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, text: str, timeout: float = 30, count: int = 1) -> str:
        """Wait until ``text`` appears ``count`` times in the output; return the output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.output
            if out.count(text) >= count:
                return out
            if self.process.poll() is not None:
                raise AssertionError(
                    f"runner exited with {self.process.returncode} before "
                    f"{text!r} appeared:\n{self.output}"
                )
            time.sleep(0.05)
        raise AssertionError(f"{text!r} did not appear within {timeout}s:\n{self.output}")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30) -> int:
        """Send ``signum`` and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
            self._log.close()
        return code

    # Defined after stop(): in the class body this name would shadow the module
    # `signal` that stop()'s default argument reads.
    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self._log.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.process.poll() is None:
            self.kill()
