"""Shared fixtures: a project folder with task functions, private Redis and PostgreSQL."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.servers import RedisServer, private_postgres_database

SUPPORT = Path(__file__).parent / "support"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder with ``sample_tasks.py`` in it, importable, as the working directory."""
    shutil.copy(SUPPORT / "sample_tasks.py", tmp_path / "sample_tasks.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("JOBRUNNER_IMMEDIATE", raising=False)
    yield tmp_path
    sys.modules.pop("sample_tasks", None)


@pytest.fixture
def write_config(project: Path) -> Callable[..., Path]:
    """Write a jobs.yaml (dedented) into the project folder; return its path."""
    import textwrap

    def write(text: str, name: str = "jobs.yaml") -> Path:
        path = project / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A private redis-server for the whole test session (fails if none can start)."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The URL of the private Redis, emptied after each test (it is ours alone)."""
    import redis

    yield redis_server.url
    if redis_server.process is not None:
        redis.Redis.from_url(redis_server.url).flushall()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A private PostgreSQL database for the session, dropped afterwards."""
    with private_postgres_database() as dsn:
        yield dsn


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow",
        action="store_true",
        help="also run the slow real-time and fault-injection tests (CI does)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    selected = [item for item in items if "slow" not in item.keywords]
    deselected = [item for item in items if "slow" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
