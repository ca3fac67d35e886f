"""Files made to hurt the loader are refused early with one clear error; big honest ones load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jobrunner.config import load_config
from jobrunner.errors import MAX_SHOWN, ConfigError
from tests.support.processes import cli

LEVELS = list(zip("abcdefgh", "bcdefghi", strict=True))

# A "billion laughs": 9 levels of 9 aliases, 9**9 (387 million) strings once expanded.
LAUGHS = "version: 1\nx-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"x-{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in LEVELS
)

# The same bomb through merge keys, which PyYAML flattens into copies.
MERGE_LAUGHS = "version: 1\nx-a: &a {k0: 1, k1: 1, k2: 1, k3: 1, k4: 1, k5: 1, k6: 1}\n" + "".join(
    f"x-{b}: &{b} {{<<: [{', '.join([f'*{a}'] * 9)}]}}\n" for a, b in LEVELS
)


@pytest.mark.parametrize("text", [LAUGHS, MERGE_LAUGHS], ids=["sequences", "merge_keys"])
def test_nested_aliases_are_refused_without_expanding_them(
    text: str, write_config: Callable[..., Path]
) -> None:
    path = write_config(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert issue.message == (
        "the file holds more than 1,000,000 values (each alias counted as a copy of what it "
        "refers to); refused"
    )


def test_a_file_over_8_mb_is_refused_before_it_is_parsed(write_config: Callable[..., Path]) -> None:
    path = write_config("version: 1\n# " + "x" * (8 * 1024 * 1024) + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert issue.message == "the file is larger than 8 MB; refused"


@pytest.mark.slow
def test_ten_thousand_tasks_and_schedules_are_accepted(write_config: Callable[..., Path]) -> None:
    lines = ["version: 1", "tasks:"]
    lines += [f"  t{i}: {{function: sample_tasks:add, retries: 2}}" for i in range(10_000)]
    lines += ["schedules:"]
    lines += [f"  s{i}: {{task: t{i}, cron: '*/5 * * * *'}}" for i in range(10_000)]
    config = load_config(write_config("\n".join(lines) + "\n")).config
    assert (len(config.tasks), len(config.schedules)) == (10_000, 10_000)


def test_at_most_100_errors_are_printed_then_a_count(
    write_config: Callable[..., Path], project: Path
) -> None:
    write_config("version: 1\ntasks:\n" + "  a: {function: sample_tasks:add}\n" * 5000)
    result = cli("validate", "jobs.yaml", cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    duplicates = [line for line in lines if "tasks.a: duplicate key 'a'" in line]
    assert len(duplicates) == MAX_SHOWN
    assert lines[-2:] == ["... and 4,899 more problems not shown", "jobs.yaml: 4999 errors"]


def test_a_long_value_is_shortened_in_its_message(write_config: Callable[..., Path]) -> None:
    path = write_config("x" * 8000)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert issue.message == (
        f"expected a mapping at the top level, got the string {'x' * 60!r}... (8,000 characters)"
    )


def test_top_level_x_keys_are_accepted_and_ignored(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        version: 1
        x-retrying: &retrying {retries: 3, retry_delay: 10s}
        x-note: anything at all
        tasks:
          add: {function: sample_tasks:add, <<: *retrying}
        """
    )
    config = load_config(path).config
    assert config.tasks["add"].options.retries == 3
    assert list(config.tasks) == ["add"]


def test_thousands_of_errors_of_every_stage_are_counted(
    write_config: Callable[..., Path],
) -> None:
    # Each schedule breaks the schema, a time zone and a task reference: every stage has
    # thousands of errors to report and compare (pairwise, this took minutes).
    lines = ["version: 1", "tasks:", "  real: {function: sample_tasks:add}", "schedules:"]
    lines += [
        f"  s{i}: {{task: gone{i}, cron: '* * * * *', extra: 1, timezone: Mars/Base{i}}}"
        for i in range(3000)
    ]
    with pytest.raises(ConfigError) as caught:
        load_config(write_config("\n".join(lines) + "\n"))
    assert caught.value.count == 9000
    text = caught.value.format()
    assert text.splitlines()[-1] == "... and 8,900 more problems not shown"


def test_a_file_of_more_than_a_million_values_is_refused_before_it_is_composed(
    write_config: Callable[..., Path],
) -> None:
    # 4.4 MB, under the size limit: counted on the parser's events, not on a node tree.
    path = write_config("version: 1\nx-many:\n" + "- 1\n" * 1_100_000)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    [issue] = caught.value.issues
    assert issue.message.startswith("the file holds more than 1,000,000 values")
