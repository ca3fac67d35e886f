"""``jobrunner validate`` as users run it: a real subprocess, its output and exit code."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from jobrunner import __version__
from jobrunner.cli import build_parser
from tests.support.processes import ROOT, cli

VALID = """
version: 1
tasks:
  add:
    function: sample_tasks:add
schedules:
  tick:
    task: add
    cron: "* * * * *"
    args: [1, 2]
"""

INVALID = """
version: 1
tasks:
  count_beans:
    function: sample_tasks:add
    retries: -1
schedules:
  report:
    task: count_beans
    cron: "0 8 * * *"
    timezon: UTC
  nightly:
    function: sample_tasks:echo
    cron: "61 3 * * *"
"""


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr


def validate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = cli("validate", *args, cwd=cwd)
    assert_no_traceback(result)
    return result


# --- text output -------------------------------------------------------------------------


def test_invalid_file_lists_every_error_in_line_order(
    write_config: Callable[..., Path], project: Path
) -> None:
    write_config(INVALID)
    result = validate("jobs.yaml", cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "jobs.yaml:5:14: tasks.count_beans.retries: -1 is less than the minimum of 0",
        "jobs.yaml:10:5: schedules.report.timezon: unknown key 'timezon'",
        "  hint: did you mean 'timezone'?",
        "jobs.yaml:13:12: schedules.nightly.cron: invalid cron: minute '61' is not valid",
        "  hint: minute takes 0-59, written as *, */n, a-b, a-b/n or a comma list of those",
        "jobs.yaml: 3 errors",
    ]


# One file per kind of problem; all are checked by a single `jobrunner validate` run.
MALFORMED = {
    "other_backend_option.yaml": (
        "version: 1\ninstances:\n  fast:\n    backend: redis\n    filename: x.db\n",
        "other_backend_option.yaml:5:5: instances.fast.filename: 'filename' is not an option "
        "of backend 'redis'",
    ),
    "unset_variable.yaml": (
        "version: 1\ninstances:\n  fast:\n    backend: redis\n    url: ${JR_CLI_UNSET}\n",
        "unset_variable.yaml:5:10: instances.fast.url: environment variable JR_CLI_UNSET is "
        "not set",
    ),
    "bad_import.yaml": (
        "version: 1\ntasks:\n  add:\n    function: sample_tasks:nope\n",
        "bad_import.yaml:4:15: tasks.add.function: cannot import sample_tasks:nope: module "
        "'sample_tasks' has no attribute 'nope'",
    ),
    "yaml_syntax.yaml": (
        "version: 1\ntasks:\n  add: {function: sample_tasks:add\n",
        "yaml_syntax.yaml:3:8: YAML syntax error: expected ',' or '}', but got '<stream end>' "
        "(while parsing a flow mapping)",
    ),
    "empty.yaml": ("", "empty.yaml: the file is empty"),
    "worker_type.yaml": (
        "version: 1\ninstances:\n  main:\n    consumer: {worker_type: threads}\n",
        "worker_type.yaml:4:29: instances.main.consumer.worker_type: 'threads' is not one of "
        "thread, process, greenlet",
    ),
}


def test_each_malformed_file_is_one_clear_error_and_exit_1(
    write_config: Callable[..., Path], project: Path
) -> None:
    for name, (text, _) in MALFORMED.items():
        write_config(text, name=name)
    result = validate(*MALFORMED, cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    # Per file: the error, its hint, the file's summary line.
    assert len(lines) == 3 * len(MALFORMED)
    for index, (name, (_, error)) in enumerate(MALFORMED.items()):
        error_line, hint_line, summary = lines[3 * index : 3 * index + 3]
        assert error_line == error
        assert hint_line.startswith("  hint: ")
        assert summary == f"{name}: 1 error"


def test_valid_file_says_ok(write_config: Callable[..., Path], project: Path) -> None:
    write_config(VALID)
    result = validate("jobs.yaml", cwd=project)
    assert result.returncode == 0
    assert result.stdout == "jobs.yaml: OK (1 instance, 1 task, 1 schedule)\n"
    assert result.stderr == ""


def test_no_imports_skips_the_import_check(
    write_config: Callable[..., Path], project: Path
) -> None:
    write_config("version: 1\ntasks:\n  later:\n    function: not_installed.anywhere:run\n")
    assert validate("jobs.yaml", cwd=project).returncode == 1
    result = validate("--no-imports", "jobs.yaml", cwd=project)
    assert result.returncode == 0
    assert result.stdout == "jobs.yaml: OK (1 instance, 1 task, 0 schedules)\n"


def test_warnings_are_printed_but_do_not_fail(
    write_config: Callable[..., Path], project: Path
) -> None:
    write_config("version: 1\ninstances:\n  fast:\n    backend: redis\n")
    result = validate("jobs.yaml", cwd=project)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "jobs.yaml:3:3: warning: instances.fast: instance 'fast' uses redis without a "
        "message signing secret"
    )
    assert lines[-1] == "jobs.yaml: OK (1 instance, 0 tasks, 0 schedules)"


# --- JSON output -------------------------------------------------------------------------


def test_json_lists_errors_with_their_fields(
    write_config: Callable[..., Path], project: Path
) -> None:
    write_config(INVALID)
    result = validate("--format", "json", "jobs.yaml", cwd=project)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    [entry] = report["files"]
    assert (entry["file"], entry["valid"], entry["warnings"]) == ("jobs.yaml", False, [])
    assert entry["errors"] == [
        {
            "file": "jobs.yaml",
            "line": 5,
            "column": 14,
            "path": "tasks.count_beans.retries",
            "message": "-1 is less than the minimum of 0",
            "hint": None,
            "severity": "error",
        },
        {
            "file": "jobs.yaml",
            "line": 10,
            "column": 5,
            "path": "schedules.report.timezon",
            "message": "unknown key 'timezon'",
            "hint": "did you mean 'timezone'?",
            "severity": "error",
        },
        {
            "file": "jobs.yaml",
            "line": 13,
            "column": 12,
            "path": "schedules.nightly.cron",
            "message": "invalid cron: minute '61' is not valid",
            "hint": "minute takes 0-59, written as *, */n, a-b, a-b/n or a comma list of those",
            "severity": "error",
        },
    ]


def test_json_for_a_valid_file(write_config: Callable[..., Path], project: Path) -> None:
    write_config(VALID)
    result = validate("--format", "json", "jobs.yaml", cwd=project)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "valid": True,
        "files": [
            {
                "file": "jobs.yaml",
                "valid": True,
                "summary": "1 instance, 1 task, 1 schedule",
                "errors": [],
                "error_count": 0,
                "warnings": [],
            }
        ],
    }


def test_json_for_several_files(write_config: Callable[..., Path], project: Path) -> None:
    write_config(VALID, name="good.yaml")
    write_config(INVALID, name="bad.yaml")
    result = validate("--format", "json", "good.yaml", "bad.yaml", "missing.yaml", cwd=project)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    files = report["files"]
    assert [(f["file"], f["valid"], len(f["errors"])) for f in files] == [
        ("good.yaml", True, 0),
        ("bad.yaml", False, 3),
        ("missing.yaml", False, 1),
    ]
    assert files[2]["errors"][0]["message"] == "no such file"
    assert (files[2]["errors"][0]["line"], files[2]["errors"][0]["column"]) == (0, 0)


def test_several_valid_files_exit_0(write_config: Callable[..., Path], project: Path) -> None:
    write_config(VALID, name="one.yaml")
    write_config(VALID, name="two.yaml")
    result = validate("one.yaml", "two.yaml", cwd=project)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "one.yaml: OK (1 instance, 1 task, 1 schedule)",
        "two.yaml: OK (1 instance, 1 task, 1 schedule)",
    ]


# --- exit codes --------------------------------------------------------------------------


def test_missing_file_exits_1(project: Path) -> None:
    result = validate("nope.yaml", cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "nope.yaml: no such file",
        "  hint: pass the path of your jobs.yaml",
        "nope.yaml: 1 error",
    ]


def test_folder_exits_1(project: Path) -> None:
    (project / "conf").mkdir()
    result = validate("conf", cwd=project)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "conf: is a folder, not a file"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("validate",), "the following arguments are required: FILE", id="no_file"),
        pytest.param(
            ("validate", "--strict", "jobs.yaml"),
            "unrecognized arguments: --strict",
            id="unknown_option",
        ),
        pytest.param(
            ("validate", "--format", "xml", "jobs.yaml"),
            "argument --format: invalid choice: 'xml'",
            id="bad_format",
        ),
    ],
)
def test_bad_usage_exits_2(project: Path, args: tuple[str, ...], message: str) -> None:
    result = cli(*args, cwd=project)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert message in result.stderr
    assert result.stderr.startswith("usage: jobrunner")


def test_bare_jobrunner_lists_its_commands(project: Path) -> None:
    result = cli(cwd=project)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert result.stdout.startswith("usage: jobrunner")
    for command in ("validate", "run", "dead-letters", "plan", "list", "pause"):
        assert f"    {command}" in result.stdout, command


def test_version_exits_0(project: Path) -> None:
    result = cli("--version", cwd=project)
    assert result.returncode == 0
    assert result.stdout == f"jobrunner {__version__}\n"


# --- shipped files and docs --------------------------------------------------------------


def test_root_jobs_yaml_and_every_example_validate() -> None:
    files = [
        "jobs.yaml",
        *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("examples/*.yaml")),
    ]
    assert len(files) >= 5
    result = cli("validate", *files, cwd=ROOT)
    assert_no_traceback(result)
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert [line.split(": OK (")[0] for line in lines] == files


def test_every_option_of_validate_and_run_is_documented() -> None:
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    subparsers = next(a for a in build_parser()._actions if a.choices and "run" in a.choices)
    for command in ("validate", "run"):
        assert f"## `jobrunner {command}`" in doc
        for action in subparsers.choices[command]._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert re.search(rf"`{re.escape(flag)}[` ]", doc), (command, flag)
