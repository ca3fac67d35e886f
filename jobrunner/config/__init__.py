"""Configuration: the ``jobs.yaml`` loading pipeline and the typed objects it produces."""

from __future__ import annotations

from jobrunner.config._load import Loaded, load_config
from jobrunner.config._schema import load_schema, schema_path
from jobrunner.config.model import (
    Config,
    ConsumerConfig,
    EventsConfig,
    InstanceConfig,
    Location,
    LoggingConfig,
    ScheduleConfig,
    SerializerConfig,
    TaskConfig,
    TaskOptions,
)

__all__ = [
    "Config",
    "ConsumerConfig",
    "EventsConfig",
    "InstanceConfig",
    "Loaded",
    "Location",
    "LoggingConfig",
    "ScheduleConfig",
    "SerializerConfig",
    "TaskConfig",
    "TaskOptions",
    "load_config",
    "load_schema",
    "schema_path",
]
