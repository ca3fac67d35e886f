"""Loading the config for commands that read it but run nothing (plan, list, pause), and
what such a command must not create."""

from __future__ import annotations

import sys
from pathlib import Path

from jobrunner.config import Config, InstanceConfig, load_config


def load_quietly(path: str) -> Config:
    """The config of ``path`` without importing task modules; warnings go to stderr."""
    loaded = load_config(path, check_imports=False)
    for warning in loaded.warnings:
        print(warning.format(), file=sys.stderr)
    return loaded.config


def storage_exists(instance: InstanceConfig) -> bool:
    """Whether the storage of a local backend exists: a command that only reads must not
    create it (a SQLite file or queue folder that does not exist holds nothing)."""
    if instance.backend == "sqlite":
        filename = str(instance.storage.get("filename"))
        return filename == ":memory:" or Path(filename).exists()
    if instance.backend == "file":
        return Path(str(instance.storage.get("path"))).exists()
    return True
