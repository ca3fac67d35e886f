"""The config watcher: every way of saving a file is noticed, and a burst is one change."""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from watchdog.events import FileSystemEvent

from jobrunner.runtime._watch import ConfigWatcher, symlinks_to

# Only how long a failing test waits: every wait below is for a condition.
TIMEOUT = 60.0


class Calls:
    """Counts the watcher's callbacks, with the file's text each one read, as a reload does."""

    def __init__(self, path: Path | None = None) -> None:
        self.count = 0
        self.seen: list[str] = []
        self._path = path
        self._cond = threading.Condition()

    def __call__(self) -> None:
        try:
            text = self._path.read_text() if self._path is not None else ""
        except FileNotFoundError:  # between a delete and the new file
            text = ""
        with self._cond:
            self.count += 1
            self.seen.append(text)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> int:
        with self._cond:
            self._cond.wait_for(lambda: self.count >= count, timeout)
            return self.count

    def wait_until_seen(self, text: str, timeout: float = TIMEOUT) -> bool:
        """Wait for a callback that read ``text`` in the file."""
        with self._cond:
            return self._cond.wait_for(lambda: any(text in s for s in self.seen), timeout)

    def settle(self, seconds: float = 0.6) -> int:
        """The count after ``seconds``: an absence check, which a slow machine can only pass."""
        time.sleep(seconds)
        return self.count


@pytest.fixture(params=["native", "polling"])
def watched(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Calls]]:
    """A jobs.yaml being watched (natively, and by polling every 0.1 s)."""
    path = tmp_path / "jobs.yaml"
    path.write_text("version: 1\n")
    calls = Calls(path)
    watcher = ConfigWatcher(path, calls, poll=0.1 if request.param == "polling" else None)
    # start() returns with the inotify watch added, or the polling observer's first
    # snapshot taken (watchdog does both before its thread starts): no wait needed.
    watcher.start()
    try:
        yield path, calls
    finally:
        watcher.stop()


def test_plain_write_is_noticed(watched: tuple[Path, Calls]) -> None:
    path, calls = watched
    path.write_text("version: 1\ntasks: {}\n")
    assert calls.wait_until_seen("tasks: {}")


def test_atomic_rename_over_is_noticed(watched: tuple[Path, Calls]) -> None:
    path, calls = watched
    temp = path.with_name(".jobs.yaml.swp")
    temp.write_text("version: 1\n# saved by an editor\n")
    os.replace(temp, path)
    assert calls.wait_until_seen("saved by an editor")


def test_delete_then_recreate_is_noticed(watched: tuple[Path, Calls]) -> None:
    path, calls = watched
    path.unlink()
    path.write_text("version: 1\n# recreated\n")
    assert calls.wait_until_seen("recreated")


class Notices:
    """When the watcher took each event about the file, as an interval around its stamp.

    The watcher stamps an event inside ``notice()``; ``before`` and ``after`` bracket
    that stamp, so the test can tell which gaps between events may have been as long
    as the quiet spell, without trusting the scheduler.
    """

    def __init__(self, watcher: ConfigWatcher, path: Path) -> None:
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        self._inner = watcher.notice
        self._names = {str(path)}
        watcher.notice = self  # type: ignore[method-assign]  # the handler calls this

    def __call__(self, event: FileSystemEvent) -> None:
        names = {os.fsdecode(event.src_path), os.fsdecode(getattr(event, "dest_path", "") or "")}
        before = time.monotonic()
        self._inner(event)
        if names & self._names:
            with self._lock:
                self.spans.append((before, time.monotonic()))

    def most_bursts(self, quiet: float) -> int:
        """How many bursts, ``quiet`` apart, the events seen so far can be at most."""
        with self._lock:
            spans = list(self.spans)
        return 1 + sum(1 for a, b in itertools.pairwise(spans) if b[1] - a[0] >= quiet)


@pytest.mark.parametrize("poll", [None, 0.1], ids=["native", "polling"])
def test_a_burst_of_writes_is_one_change(tmp_path: Path, poll: float | None) -> None:
    """Events closer together than the quiet spell are one change, however they are spread.

    The writes are 5 ms apart, but on a loaded machine the writer, or a thread between the
    kernel and the watcher, can stall for longer than the quiet spell: those are then two
    bursts, rightly. So the test bounds the callbacks by the bursts in the events the
    watcher really took (a stalled debouncer may merge more, never split more); with the
    usual timing that is one callback for all the writes. A quiet spell of a second makes
    that the usual case.
    """
    path = tmp_path / "jobs.yaml"
    path.write_text("version: 1\n")
    calls = Calls()
    quiet = 1.0
    watcher = ConfigWatcher(path, calls, poll=poll, quiet=quiet, max_delay=3600.0)
    notices = Notices(watcher, path)
    watcher.start()
    try:
        for i in range(20):
            path.write_text(f"version: 1\n# {i}\n")
            time.sleep(0.005)
            if i == 9:  # the first half noticed before the second: a burst of several events
                _wait(lambda: len(notices.spans) >= 1)
        _wait(lambda: len(notices.spans) >= 2 and calls.count >= 1)
        calls.settle(2 * quiet)  # an extra callback would come a quiet spell after an event
        count = calls.count  # before the events: each callback follows its events
        assert 1 <= count <= notices.most_bursts(quiet), (count, notices.spans)
    finally:
        watcher.stop()


def _wait(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


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
    calls = Calls(path)
    watcher = ConfigWatcher(path, calls, poll=poll)
    watcher.start()
    try:
        _configmap(tmp_path, "2024_02")
        assert calls.wait_until_seen("2024_02")
        # The symlinks now lead elsewhere: the next flip must be noticed too.
        _configmap(tmp_path, "2024_03")
        assert calls.wait_until_seen("2024_03")
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
