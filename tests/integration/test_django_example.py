"""examples/django end to end: migrate, ``jobrunner run`` its jobs.yaml, enqueue, see the row."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import jobrunner
from tests.support.processes import ROOT, Runner, cli, env

EXAMPLE = ROOT / "examples" / "django"


@pytest.mark.slow
def test_the_django_example_writes_its_model_from_a_task(tmp_path: Path) -> None:
    pytest.importorskip("django")
    site = tmp_path / "django"
    shutil.copytree(EXAMPLE, site, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=site,
        env=env(),
        check=True,
        timeout=120,
    )
    config = site / "jobs.yaml"
    checked = cli("validate", str(config), cwd=site)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    with Runner(config) as runner:
        runner.wait_for("INFO jobrunner: loaded ")
        # The producer (this process) imports neither Django nor the task module.
        with jobrunner.load(config) as app:
            row_id = app.tasks.record_visit("from-test").get(blocking=True, timeout=60)
        assert runner.stop(signal.SIGINT) == 0

    with sqlite3.connect(site / "site.db") as db:
        rows = db.execute("select id, source from notes_visit").fetchall()
    assert rows == [(row_id, "from-test")]
