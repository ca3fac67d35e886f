"""The config watcher: every way of saving a file is noticed, and a burst is one change."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobrunner.runtime._watch import ConfigWatcher, symlinks_to

TIMEOUT = 10.0


class Calls:
    """Counts the watcher's callbacks and lets a test wait for the next one."""

    def __init__(self) -> None:
        self.count = 0
        self._cond = threading.Condition()

    def __call__(self) -> None:
        with self._cond:
            self.count += 1
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self.count >= count, timeout)
            return self.count

    def settle(self, seconds: float = 0.6) -> int:
        """The count once nothing more arrives for ``seconds``."""
        time.sleep(seconds)
        return self.count


@pytest.fixture(params=["native", "polling"])
def watched(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Calls]]:
    """A jobs.yaml being watched (natively, and by polling every 0.1 s)."""
    path = tmp_path / "jobs.yaml"
    path.write_text("version: 1\n")
    calls = Calls()
    watcher = ConfigWatcher(path, calls, poll=0.1 if request.param == "polling" else None)
    watcher.start()
    time.sleep(0.2)  # a polling observer compares with its first snapshot
    try:
        yield path, calls
    finally:
        watcher.stop()


def test_plain_write_is_noticed(watched: tuple[Path, Calls]) -> None:
    path, calls = watched
    path.write_text("version: 1\ntasks: {}\n")
    assert calls.wait_for(1) == 1


def test_atomic_rename_over_is_noticed(watched: tuple[Path, Calls]) -> None:
    path, calls = watched
    temp = path.with_name(".jobs.yaml.swp")
    temp.write_text("version: 1\n# saved by an editor\n")
    os.replace(temp, path)
    assert calls.wait_for(1) == 1


def test_delete_then_recreate_is_noticed(watched: tuple[Path, Calls]) -> None:
    path, calls = watched
    path.unlink()
    path.write_text("version: 1\n# recreated\n")
    assert calls.wait_for(1) >= 1


@pytest.mark.parametrize("poll", [None, 0.1], ids=["native", "polling"])
def test_a_burst_of_writes_is_one_change(tmp_path: Path, poll: float | None) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text("version: 1\n")
    calls = Calls()
    # A quiet spell of a second, not the default 0.1 s: the writes below are 5 ms apart, but
    # a loaded machine may pause this thread longer than 0.1 s between two of them.
    watcher = ConfigWatcher(path, calls, poll=poll, quiet=1.0, max_delay=10.0)
    watcher.start()
    time.sleep(0.2)  # a polling observer compares with its first snapshot
    try:
        for i in range(20):
            path.write_text(f"version: 1\n# {i}\n")
            time.sleep(0.005)
        assert calls.wait_for(1) >= 1
        assert calls.settle(2.0) == 1
    finally:
        watcher.stop()


def test_other_files_in_the_folder_are_ignored(watched: tuple[Path, Calls]) -> None:
    path, calls = watched
    (path.parent / "runner.log").write_text("a log line\n")
    (path.parent / "other.yaml").write_text("version: 1\n")
    assert calls.settle() == 0


def test_reading_the_file_is_not_a_change(watched: tuple[Path, Calls]) -> None:
    path, calls = watched
    path.read_text()
    assert calls.settle() == 0


def _configmap(folder: Path, version: str) -> None:
    """Publish ``jobs.yaml`` the way Kubernetes' atomic writer updates a ConfigMap volume.

    The data lives in a timestamped folder; ``..data`` points at it and
    ``jobs.yaml`` points at ``..data/jobs.yaml``. An update writes a new folder,
    creates ``..data_tmp`` and renames it over ``..data``.
    """
    data = folder / f"..{version}"
    data.mkdir()
    (data / "jobs.yaml").write_text(f"version: 1\n# {version}\n")
    tmp = folder / "..data_tmp"
    tmp.symlink_to(data.name)
    os.replace(tmp, folder / "..data")
    link = folder / "jobs.yaml"
    if not link.is_symlink():
        link.symlink_to("..data/jobs.yaml")


@pytest.mark.parametrize("poll", [None, 0.1], ids=["native", "polling"])
def test_configmap_symlink_swap_is_noticed(tmp_path: Path, poll: float | None) -> None:
    _configmap(tmp_path, "2024_01")
    path = tmp_path / "jobs.yaml"
    calls = Calls()
    watcher = ConfigWatcher(path, calls, poll=poll)
    watcher.start()
    time.sleep(0.2)
    try:
        _configmap(tmp_path, "2024_02")
        assert calls.wait_for(1) >= 1
        assert "2024_02" in path.read_text()
        # The symlinks now lead elsewhere: the next flip must be noticed too.
        settled = calls.settle(0.4)
        _configmap(tmp_path, "2024_03")
        assert calls.wait_for(settled + 1) >= settled + 1
    finally:
        watcher.stop()


def test_symlinks_to_lists_the_configmap_links(tmp_path: Path) -> None:
    _configmap(tmp_path, "2024_01")
    assert symlinks_to(str(tmp_path / "jobs.yaml")) == [
        str(tmp_path / "jobs.yaml"),
        str(tmp_path / "..data"),
    ]
    plain = tmp_path / "plain.yaml"
    plain.write_text("version: 1\n")
    assert symlinks_to(str(plain)) == []


def test_a_symlink_loop_does_not_hang(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    assert len(symlinks_to(str(tmp_path / "a"))) <= 41


def test_a_failing_callback_does_not_stop_the_watcher(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text("version: 1\n")
    calls = Calls()

    def flaky() -> None:
        calls()
        if calls.count == 1:
            raise RuntimeError("boom")

    watcher = ConfigWatcher(path, flaky)
    watcher.start()
    try:
        path.write_text("version: 1\n# 1\n")
        assert calls.wait_for(1) == 1
        time.sleep(0.3)
        path.write_text("version: 1\n# 2\n")
        assert calls.wait_for(2) == 2
    finally:
        watcher.stop()
