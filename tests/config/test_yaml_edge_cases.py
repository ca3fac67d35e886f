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
