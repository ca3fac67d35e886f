"""Loading the config for commands that read it but run nothing (plan, list, pause)."""

from __future__ import annotations

import sys

from jobrunner.config import Config, load_config


def load_quietly(path: str) -> Config:
    """The config of ``path`` without importing task modules; warnings go to stderr."""
    loaded = load_config(path, check_imports=False)
    for warning in loaded.warnings:
        print(warning.format(), file=sys.stderr)
    return loaded.config
