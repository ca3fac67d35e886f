"""SQLite on a full disk: the runner waits it out and recovers by itself once space is freed.

The disk is a 3 MB tmpfs mounted by the test (CI runs as root), unmounted after.
Filled by a producer until SQLite says "database or disk is full", its
write-ahead log has taken the space; freeing a file must be enough for every
queued task to run. A database that cannot even be opened (a read-only folder, a
full disk before the file exists) is one line and exit 1.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import jobrunner
from tests.delivery.support import wait_for_all
from tests.support.processes import Runner, cli

pytestmark = pytest.mark.slow

CONFIG = """
version: 1
instances:
  default:
    backend: sqlite
    filename: {filename}
    consumer: {{workers: 2}}
tasks:
  sleepy:
    function: sample_tasks:sleep_and_record
"""


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Mount a small tmpfs (``mount("3m")``, options after the size); unmount them after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root (CI runs as root)")
    mounted: list[Path] = []

    def make(size: str, *options: str) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", folder],
            check=True,
        )
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", "-l", folder], check=False)


def _fill(folder: Path, keep: int = 0) -> Path:
    """Fill ``folder``'s filesystem, leaving ``keep`` bytes free; return the filler file."""
    filler = folder / "filler"
    stat = os.statvfs(folder)
    size = max(stat.f_bavail * stat.f_frsize - keep, 0)
    with open(filler, "wb") as fh:
        fh.write(b"\0" * size)
    return filler


def test_a_full_disk_is_waited_out_and_every_task_runs_once_space_is_freed(
    mount: Callable[..., Path], project: Path, write_config: Callable[..., Path]
) -> None:
    disk = mount("3m")
    filler = disk / "filler"
    filler.write_bytes(b"\0" * 1_000_000)  # freed later: what the user deletes
    config = write_config(CONFIG.format(filename=disk / "queue.db"))
    out = project / "out.jsonl"
    app = jobrunner.load(config)
    sent = 0
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):  # noqa: PT012
        while True:
            app.tasks.sleepy(str(out), sent, 0.01)
            sent += 1
    app.close()
    assert sent > 50
    with Runner(config, "--no-reload", cwd=project) as runner:
        runner.wait_for(
            "instance default: storage unreachable (OperationalError: database or disk is full)"
        )
        filler.unlink()
        counts = wait_for_all(out, range(sent), timeout=120)
        assert runner.stop(signal.SIGINT) == 0
        output = runner.output
    assert max(counts.values()) <= 2, counts
    assert sum(counts.values()) <= sent + 2  # at most the two in flight twice
    assert "Traceback" not in output
    # Once it goes, once it is back: the log checkpointed, it does not regrow into the space.
    assert output.count("instance default: storage unreachable (") == 1, output
    assert output.count("instance default: storage reachable again after") == 1, output


@pytest.mark.parametrize("fault", ["read-only folder", "full disk"])
def test_a_sqlite_database_that_cannot_be_opened_is_one_line_and_exit_1(
    fault: str, mount: Callable[..., Path], project: Path, write_config: Callable[..., Path]
) -> None:
    if fault == "read-only folder":
        disk = mount("1m", "ro")
    else:
        disk = mount("1m")
        _fill(disk)
    filename = disk / "queue.db"
    config = write_config(CONFIG.format(filename=filename))
    done = cli("run", str(config), cwd=project, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if "cannot open" in x]
    assert f"instance default: cannot open its SQLite database {filename}: " in line
    assert "(its folder must exist and be writable, with free disk space)" in line
