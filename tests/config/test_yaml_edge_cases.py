"""YAML corners that PyYAML gets wrong or crashes on, and what jobrunner makes of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from jobrunner.config import load_config
from jobrunner.errors import ConfigError


def test_merge_key_with_a_scalar_is_an_error_at_its_line(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        """
        version: 1
        tasks:
          a:
            <<: 3
            function: sample_tasks:add
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, check_imports=False)
    (issue,) = caught.value.issues
    assert (issue.line, issue.column, issue.path) == (4, 9, "tasks.a")
    assert issue.message.startswith("invalid merge key: expected a mapping")


def test_merge_key_with_an_alias_merges(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        version: 1
        tasks:
          b: &base
            function: sample_tasks:add
            retries: 4
          a:
            <<: *base
            priority: 7
        """
    )
    config = load_config(path, check_imports=False).config
    assert config.tasks["a"].options.retries == 4
    assert config.tasks["a"].options.priority == 7


def test_key_written_beside_a_merge_key_overrides_the_merged_one(
    write_config: Callable[..., Path],
) -> None:
    # YAML's merge rule: the mapping's own keys win, and among merged mappings
    # (<<: [*first, *second]) the earlier one wins.
    path = write_config(
        """
        version: 1
        tasks:
          fast: &fast
            function: sample_tasks:add
            retries: 1
            priority: 9
          slow: &slow
            function: sample_tasks:add
            retries: 5
            retry_delay: 30
          a:
            <<: [*fast, *slow]
            function: sample_tasks:add
            retries: 2
        """
    )
    config = load_config(path, check_imports=False).config
    options = config.tasks["a"].options
    assert (options.retries, options.priority, options.retry_delay) == (2, 9, 30)


def test_error_in_a_merged_value_points_at_the_anchor(write_config: Callable[..., Path]) -> None:
    path = write_config(
        """
        version: 1
        tasks:
          b: &base
            function: sample_tasks:add
            retries: many
          a:
            <<: *base
            priority: 7
        """
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, check_imports=False)
    places = {(issue.path, issue.line, issue.column) for issue in caught.value.issues}
    assert places == {("tasks.b.retries", 5, 14), ("tasks.a.retries", 5, 14)}


@pytest.mark.parametrize("name", ["off", "yes", "no", "on", "true", "null"])
def test_boolean_looking_names_stay_as_written(
    write_config: Callable[..., Path], name: str
) -> None:
    path = write_config(
        f"""
        version: 1
        tasks:
          {name}:
            function: sample_tasks:add
        """
    )
    config = load_config(path, check_imports=False).config
    assert list(config.tasks) == [name]
