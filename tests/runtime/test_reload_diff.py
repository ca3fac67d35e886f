"""What a reload sees as changed, and how it says so in its one log line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from jobrunner.config import Config, load_config
from jobrunner.runtime._diff import diff_configs, storage_moved

BASE = """
version: 1
instances:
  default:
    backend: sqlite
    filename: a.db
tasks:
  count_beans:
    function: sample_tasks:add
    retries: 2
  send:
    function: sample_tasks:echo
schedules:
  old_report:
    function: sample_tasks:echo
    cron: "0 3 * * *"
  hourly:
    task: send
    cron: "0 * * * *"
    args: [eu]
"""


def _load(write_config: Callable[..., Path], text: str, name: str = "jobs.yaml") -> Config:
    return load_config(write_config(text, name), check_imports=False).config


def _diff(write_config: Callable[..., Path], old: str, new: str) -> list[str]:
    before = _load(write_config, old, "old.yaml")
    after = _load(write_config, new, "old.yaml")
    return [str(change) for change in diff_configs(before, after)]


def test_the_issue_example(write_config: Callable[..., Path]) -> None:
    new = BASE.replace("retries: 2", "retries: 3").replace(
        '  old_report:\n    function: sample_tasks:echo\n    cron: "0 3 * * *"\n',
        '  nightly_backup:\n    function: sample_tasks:echo\n    cron: "0 3 * * *"\n',
    )
    assert _diff(write_config, BASE, new) == [
        "+schedule nightly_backup",
        "~task count_beans (retries 2->3)",
        "-schedule old_report",
    ]


def test_identical_files_have_no_changes(write_config: Callable[..., Path]) -> None:
    assert _diff(write_config, BASE, BASE) == []


def test_moving_a_definition_in_the_file_is_no_change(write_config: Callable[..., Path]) -> None:
    moved = BASE.replace("version: 1\n", "version: 1\n# a comment\n\n\n")
    assert _diff(write_config, BASE, moved) == []


def test_schedule_fields(write_config: Callable[..., Path]) -> None:
    new = BASE.replace('cron: "0 * * * *"', 'cron: "*/5 * * * *"').replace(
        "args: [eu]", "args: [us]\n    timezone: Europe/Berlin\n    enabled: false"
    )
    assert _diff(write_config, BASE, new) == [
        "~schedule hourly (cron '0 * * * *'->'*/5 * * * *', timezone 'UTC'->'Europe/Berlin', "
        "args ['eu']->['us'], enabled true->false)"
    ]


def test_a_task_change_reaches_the_schedules_that_run_it(
    write_config: Callable[..., Path],
) -> None:
    new = BASE.replace(
        "  send:\n    function: sample_tasks:echo\n", "  send:\n    function: sample_tasks:add\n"
    )
    assert _diff(write_config, BASE, new) == [
        "~task send (function 'sample_tasks:echo'->'sample_tasks:add')",
        "~schedule hourly (function 'sample_tasks:echo'->'sample_tasks:add')",
    ]


def test_defaults_reach_every_task(write_config: Callable[..., Path]) -> None:
    new = BASE.replace("version: 1\n", "version: 1\ndefaults:\n  priority: 5\n")
    assert _diff(write_config, BASE, new) == [
        "~task count_beans (priority none->5)",
        "~task send (priority none->5)",
        "~schedule hourly (priority none->5)",
        "~schedule old_report (priority none->5)",
    ]


def test_instance_changes(write_config: Callable[..., Path], project: Path) -> None:
    new = BASE.replace("filename: a.db", "filename: b.db\n    consumer: {workers: 8}")
    assert _diff(write_config, BASE, new) == [
        f"~instance default (storage 'sqlite {project}/a.db'->'sqlite {project}/b.db', "
        "workers 4->8)"
    ]
    before = _load(write_config, BASE, "a.yaml").instances["default"]
    after = _load(write_config, new, "b.yaml").instances["default"]
    assert storage_moved(before, after)


def test_a_consumer_change_keeps_the_storage(write_config: Callable[..., Path]) -> None:
    new = BASE.replace("filename: a.db", "filename: a.db\n    consumer: {workers: 2}")
    assert _diff(write_config, BASE, new) == ["~instance default (workers 4->2)"]
    before = _load(write_config, BASE, "a.yaml").instances["default"]
    after = _load(write_config, new, "b.yaml").instances["default"]
    assert not storage_moved(before, after)


def test_secrets_never_show(write_config: Callable[..., Path]) -> None:
    old = BASE.replace(
        "    backend: sqlite\n    filename: a.db",
        "    backend: redis\n    url: redis://:hunter2@127.0.0.1:6390/0\n"
        "    serializer: {secret: s3cret-one}",
    )
    new = old.replace("hunter2", "swordfish").replace("s3cret-one", "s3cret-two")
    (line,) = _diff(write_config, old, new)
    assert line == "~instance default (storage.url changed, serializer changed)"


def test_added_and_removed_instances(write_config: Callable[..., Path]) -> None:
    base = BASE.replace(
        "    function: sample_tasks:add\n",
        "    function: sample_tasks:add\n    instance: default\n",
    )
    base = base.replace(
        "    function: sample_tasks:echo\n",
        "    function: sample_tasks:echo\n    instance: default\n",
    )
    new = base.replace(
        "    filename: a.db\n",
        "    filename: a.db\n  other:\n    backend: sqlite\n    filename: o.db\n",
    )
    assert _diff(write_config, base, new) == ["+instance other"]
    assert _diff(write_config, new, base) == ["-instance other"]
