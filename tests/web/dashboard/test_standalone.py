"""``jobrunner dashboard``: the stand-alone dashboard, no consumer, its errors and its events."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

import jobrunner
from jobrunner.scheduling._state import ScheduleState
from tests.support.processes import cli, env
from tests.web.dashboard.support import CONFIG

_ADDRESS = re.compile(r"INFO jobrunner\.dashboard: dashboard on (http://\S+)/")


def test_a_public_address_without_token_is_one_clear_error(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(CONFIG)
    result = cli("dashboard", str(config), "--listen", "0.0.0.0:0", cwd=project)
    assert result.returncode == 1
    assert result.stderr.startswith("jobrunner: error: --listen: listening on 0.0.0.0:0")
    assert "JOBRUNNER_HTTP_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_port_is_one_clear_error(write_config: Callable[..., Path], project: Path) -> None:
    config = write_config(CONFIG)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("dashboard", str(config), "--listen", f"127.0.0.1:{port}", cwd=project)
    assert result.returncode == 1
    assert "the port is in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_serves_the_fleet_and_records_who_acted(
    write_config: Callable[..., Path], project: Path
) -> None:
    import subprocess
    import sys
    import time

    config = write_config(CONFIG)
    app = jobrunner.load(config)
    app.tasks.add(1, 2)  # creates the storage, as a producer of the fleet would
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
        deadline = time.monotonic() + 30
        while not (found := _ADDRESS.search(log.read_text())):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        base = found.group(1)
        with httpx.Client(base_url=base, timeout=10) as client:
            overview = client.get("/")
            assert overview.status_code == 200
            assert "fleet" in overview.text
            assert '<dd data-count="pending">1</dd>' in overview.text
            token = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/schedules").text)
            assert token is not None
            form = {"csrf": token.group(1), "confirm": "yes", "back": "/schedules"}
            assert client.post("/schedules/tick/pause", data=form).status_code == 303
        assert ScheduleState(app.huey().storage).paused("tick") is not None
        process.send_signal(2)
        assert process.wait(30) == 0
        actions = app.history(status="action")
        assert len(actions) == 1
        assert actions[0].schedule == "tick"
        assert actions[0].data is not None
        assert actions[0].data["action"] == "pause"
        assert actions[0].data["by"] == "dashboard 127.0.0.1"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        app.close()
