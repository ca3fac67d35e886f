"""A reload reads again only the definitions whose lines changed (config/_splice.py), and
gets exactly what reading the whole file gets: the same config, the same positions, the
same errors at the same line and column."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchmarks.scale_startup import write_config as write_large_config
from jobrunner.config import Loaded, load_config
from jobrunner.config import _splice as splice
from jobrunner.config import _yaml as yaml_reader
from jobrunner.errors import ConfigError

BASE = """\
# the jobs
version: 1
instances:
  main: {backend: sqlite, filename: q.db}
tasks:
  # the tasks
  t0: {function: sample_tasks:add, retries: 1}
  t1:
    function: sample_tasks:add
    retries: 2

  t2: {function: sample_tasks:add}
schedules:
  s0: {function: sample_tasks:add, cron: '*/5 * * * *', args: [1, 2]}
  s1:
    task: t1
    cron: "0 3 * * *"
    args: [1,
      2]
  s2: {function: sample_tasks:add, cron: '0 * * * *'}   # hourly
  s3:
    function: sample_tasks:record
    cron: '0 4 * * *'
    kwargs:
      path: out.jsonl
      value: |
        hello
        world
"""

# Each edit changes the list of lines: a value, a definition added or removed, a name, an
# indent, a comment, a section, and the errors each can make (in the definition changed or
# in one that did not change: s1 names t1).
EDITS: list[Callable[[list[str]], Any]] = [
    lambda L: L.__setitem__(6, "  t0: {function: sample_tasks:add, retries: 3}"),
    lambda L: L.insert(11, "  t9: {function: sample_tasks:add}"),
    lambda L: L.pop(11),
    lambda L: L.__delitem__(slice(7, 10)),
    lambda L: L.__setitem__(13, "  s0: {function: sample_tasks:add, cron: '*/7 * * * *'}"),
    lambda L: L.__setitem__(13, "  s0: {function: sample_tasks:add, cron: 'bad cron'}"),
    lambda L: L.__setitem__(13, "  s0: {function: sample_tasks:nope, cron: '* * * * *'}"),
    lambda L: L.__setitem__(13, "  s0: {function: sample_tasks:add, cron: '* * * * *'"),
    lambda L: L.__setitem__(13, "  t0: {function: sample_tasks:add, cron: '* * * * *'}"),
    lambda L: L.__setitem__(13, "  s0: {function: sample_tasks:add, cron: '1 * * * *', x: 1}"),
    lambda L: L.__setitem__(13, "  's0': {function: sample_tasks:add, cron: '* * * * *'}"),
    lambda L: L.__setitem__(13, "   s0: {function: sample_tasks:add, cron: '* * * * *'}"),
    lambda L: L.__setitem__(13, " s0: {function: sample_tasks:add, cron: '* * * * *'}"),
    lambda L: L.__setitem__(14, "  s1: {task: t7, cron: '* * * * *'}"),
    lambda L: L.__setitem__(17, "    args: [1,"),
    lambda L: L.__setitem__(18, "      4]"),
    lambda L: L.__setitem__(18, "  s9: 4]"),
    lambda L: L.__setitem__(25, "        hello there"),
    lambda L: L.insert(14, "  # a comment"),
    lambda L: L.insert(14, ""),
    lambda L: L.insert(0, "# top"),
    lambda L: L.insert(0, "  indented: 1"),
    lambda L: L.__setitem__(3, "  main: {backend: sqlite, filename: other.db}"),
    lambda L: L.__setitem__(3, "  main: {backend: sqlite, filename: ${JOBS_DB:-x.db}}"),
    lambda L: L.__setitem__(13, "  s0: {function: sample_tasks:add, cron: '${CRON:-1 * * * *}'}"),
    lambda L: L.__setitem__(1, "version: 2"),
    lambda L: L.insert(2, "timezone: Europe/Paris"),
    lambda L: L.insert(2, "timezone: Europe/Pariss"),
    lambda L: L.__setitem__(9, "    retries: -1"),
    lambda L: L.__setitem__(9, "    retries: !!str 2"),
    lambda L: L.__setitem__(9, "    retries: !custom 2"),
    lambda L: L.__setitem__(12, "schedules:  # the schedules"),
    lambda L: L.__setitem__(12, "schedules: {}"),
    lambda L: L.__setitem__(6, "  t0: &x {function: sample_tasks:add}"),
    lambda L: L.__setitem__(6, "  t0: *x"),
    lambda L: L.__setitem__(6, "  yes: {function: sample_tasks:add}"),
    lambda L: L.__setitem__(6, "  t0: {function: sample_tasks:add, retries: 1}  # c"),
    lambda L: L.__setitem__(6, "\tt0: {function: sample_tasks:add}"),
    lambda L: L.__setitem__(7, "  t1: 'x"),
    lambda L: L.__setitem__(8, "  function: sample_tasks:add"),
    lambda L: L.__setitem__(
        19, "  s2: {function: sample_tasks:add, cron: '0 * * * *', jitter: 5s}"
    ),
    lambda L: L.append("http: {listen: '127.0.0.1:9999'}"),
]


def _outcome(path: Path, previous: Loaded | None) -> tuple[Any, Loaded | None]:
    try:
        loaded = load_config(path, check_imports=True, previous=previous, reloadable=True)
    except ConfigError as exc:
        return ("error", [issue.format() for issue in exc.issues], exc.count), None
    return ("ok", loaded.config, [w.format() for w in loaded.warnings]), loaded


@pytest.mark.parametrize("seed", range(4))
def test_a_load_in_pieces_is_the_load_of_the_whole_file(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    # Every edit here changes a large share of this small file's definitions.
    monkeypatch.setattr(splice, "MAX_CHANGED", 1.0)
    read_in_pieces = splice._read_in_pieces
    in_pieces = 0

    def counted(*args: Any) -> Any:
        nonlocal in_pieces
        found = read_in_pieces(*args)
        in_pieces += found is not None
        return found

    monkeypatch.setattr(splice, "_read_in_pieces", counted)
    rng = random.Random(seed)
    loads = 0
    for _ in range(60):
        lines = BASE.split("\n")
        path = write_config("\n".join(lines))
        _, previous = _outcome(path, None)
        for _ in range(rng.randint(1, 4)):
            rng.choice(EDITS)(lines)
            path.write_text("\n".join(lines))
            got, loaded = _outcome(path, previous)
            whole, _ = _outcome(path, None)  # no previous: the whole file is read
            assert got == whole, "\n".join(lines)
            loads += 1
            previous = loaded or previous
    # The comparison means something only if many loads were read in pieces.
    assert in_pieces > loads // 4


def test_a_reload_of_one_changed_schedule_composes_only_that_schedule(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / "jobs.yaml"
    write_large_config(path, 2000, minute=0)  # what benchmarks/scale_startup.py measures
    first = load_config(path, check_imports=True, reloadable=True)
    composed: list[str] = []
    compose = yaml_reader.compose

    def spy(text: str) -> Any:
        composed.append(text.lstrip("\n"))
        return compose(text)

    # Every compose: of a piece, and of the whole text should a position need it.
    monkeypatch.setattr(yaml_reader, "compose", spy)
    write_large_config(path, 2000, minute=30)
    loaded = load_config(path, check_imports=True, previous=first)
    # `version: 1` and the one schedule: every other definition is taken over.
    assert composed == [
        "version: 1\n",
        "  s0: {function: benchmarks._tasks:noop, cron: '30 */2 * * *'}\n",
    ]
    assert loaded.config == load_config(path, check_imports=True).config
    s0 = loaded.config.schedules["s0"]
    assert (s0.location.line, s0.location.column) == (2000 + 4, 3)
    assert loaded.config.tasks["t5"] is first.config.tasks["t5"]  # reused, as before


def test_a_file_with_an_anchor_is_read_whole(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / "jobs.yaml"
    text = (
        "version: 1\ntasks:\n  t0: &base {function: sample_tasks:add, retries: 1}\n"
        "  t1: *base\n  t2: {function: sample_tasks:add}\n"
    )
    path.write_text(text)
    first = load_config(path, check_imports=True, reloadable=True)
    monkeypatch.setattr(splice, "_read_in_pieces", lambda *args: pytest.fail("read in pieces"))
    path.write_text(text.replace("retries: 1", "retries: 2"))
    loaded = load_config(path, check_imports=True, previous=first)
    assert loaded.config.tasks["t1"].options.retries == 2


def test_a_definition_holding_a_variable_is_read_again_each_time(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / "jobs.yaml"
    text = "version: 1\ntasks:\n" + "".join(
        f"  t{i}: {{function: sample_tasks:add}}\n" for i in range(40)
    )
    text += "  env:\n    function: sample_tasks:add\n    retries: ${RETRIES:-1}\n"
    path.write_text(text)
    monkeypatch.setenv("RETRIES", "2")
    first = load_config(path, check_imports=True, reloadable=True)
    monkeypatch.setenv("RETRIES", "3")
    path.write_text(text.replace("t0:", "t00:"))
    loaded = load_config(path, check_imports=True, previous=first)
    assert loaded.source is not None
    assert loaded.source.pieces() is not None
    assert ("tasks", "env") not in (loaded.source.pieces() or {})
    assert loaded.config.tasks["env"].options.retries == 3
