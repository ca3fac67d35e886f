"""Issue #17: every command that only looks leaves a storage never used exactly as it found it.

Each read-only command runs (a real ``jobrunner`` subprocess) against a fresh storage
of each backend: a PostgreSQL database created empty for the test, a private Redis
server, a SQLite path and a queue folder in a temp folder. Afterwards the database has
no table, the server no key, and neither the SQLite file (nor its -wal/-shm) nor the
folder exists. Where the command must say that the storage was never used, it says so
in one line (exit 1); docs/cli.md ("Read-only commands create nothing") has the rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import jobrunner
from benchmarks._env import free_port
from tests.support.processes import cli
from tests.support.servers import RedisServer, private_postgres_database

SECRET = "s3cret-never-printed"
NEVER_USED = "(no consumer or producer has used it yet)"

COMMANDS = {
    "status": ["status"],
    "history": ["history"],
    "events": ["events", "--timeout", "1"],  # it follows: one second is enough to look
    "list": ["list"],
    "list-no-state": ["list", "--no-state"],
    "plan": ["plan", "-c", "1"],
    "dead-letters": ["dead-letters"],
    "dead-letters-instance": ["dead-letters", "--instance", "main", "--format", "json"],
    "validate": ["validate"],
    "health": ["health", "--timeout", "5"],  # asks a runner's endpoint; none runs here
}

# What a command that describes the storage itself says about one never used (exit 1);
# every other command exits 0 there. Redis cannot tell never used from empty.
DESCRIBES_STORAGE = {"status", "history", "events"}


@dataclass
class Storage:
    """A storage never used, as a jobs.yaml instance, and how to tell what it holds."""

    instance: str  # the inside of the instance's flow mapping
    holds: Callable[[], list[str]]  # what exists now: tables, keys or files


@pytest.fixture(params=["sqlite", "postgres", "redis", "file"])
def fresh(
    request: pytest.FixtureRequest, project: Path, redis_server: RedisServer
) -> Iterator[tuple[str, Storage]]:
    backend: str = request.param
    if backend == "postgres":
        import psycopg

        with private_postgres_database() as dsn:

            def tables() -> list[str]:
                with psycopg.connect(dsn) as conn:
                    rows = conn.execute(
                        "select schemaname || '.' || tablename from pg_tables "
                        "where schemaname not in ('pg_catalog', 'information_schema')"
                    ).fetchall()
                return [str(row[0]) for row in rows]

            yield backend, Storage(f'backend: postgres, dsn: "{dsn}"', tables)
        return
    if backend == "redis":
        import redis

        client = redis.Redis.from_url(redis_server.url)
        client.flushall()  # the server is this test session's own

        def keys() -> list[str]:
            return [f"{db}: {info}" for db, info in client.info("keyspace").items()]

        yield backend, Storage(f'backend: redis, url: "{redis_server.url}"', keys)
        client.flushall()
        return
    data = project / "data"
    data.mkdir()

    def files() -> list[str]:
        return sorted(p.name for p in data.iterdir())

    if backend == "sqlite":
        yield backend, Storage("backend: sqlite, filename: data/q.db", files)
    else:
        instance = "backend: file, path: data/spool, delivery: at_most_once"
        yield backend, Storage(instance, files)


def _expected(command: str, backend: str) -> tuple[int, str]:
    """The exit code and a text the output holds."""
    if command == "health":
        return 1, "no runner answers"
    if backend == "file" and command == "history":
        return 0, "no history yet"  # a file storage keeps none: nothing to read
    if backend == "file" and command.startswith("dead-letters"):
        return 1, "only the sqlite, redis and postgres backends do"
    if command in DESCRIBES_STORAGE and backend != "redis":
        return 1, NEVER_USED
    return 0, {
        "status": "queued 0",
        "history": "no matching runs",
        "events": "following 1 instance",
        "list": "active",
        "list-no-state": "not read",
        "plan": "every minute",
        "dead-letters": "no dead letters (main)",
        "dead-letters-instance": '"main": []',
        "validate": "OK (1 instance, 1 task, 1 schedule)",
    }[command]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_read_only_command_creates_nothing(
    command: str,
    fresh: tuple[str, Storage],
    project: Path,
    write_config: Callable[..., Path],
) -> None:
    backend, storage = fresh
    config = write_config(
        f"""
        version: 1
        http: {{listen: "127.0.0.1:{free_port()}"}}
        instances:
          main: {{{storage.instance}, serializer: {{secret: "{SECRET}"}}}}
        tasks:
          t: {{function: sample_tasks:echo}}
        schedules:
          s: {{task: t, cron: "* * * * *"}}
        """
    )
    before = storage.holds()
    result = cli(*COMMANDS[command][:1], str(config), *COMMANDS[command][1:], cwd=project)
    code, text = _expected(command, backend)
    output = result.stdout + result.stderr
    assert (result.returncode, text in output) == (code, True), output
    assert "Traceback" not in output
    assert SECRET not in output
    if code == 1:
        errors = [line for line in result.stderr.splitlines() if line.startswith("jobrunner:")]
        assert len(errors) == 1, result.stderr
    assert storage.holds() == before == []


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_listing_dead_letters_creates_no_delivery_table(
    backend: str, project: Path, write_config: Callable[..., Path], postgres_dsn: str
) -> None:
    """A producer created huey's tables, no consumer the delivery store's: a look adds none."""
    prefix = f"p{uuid.uuid4().hex[:12]}"  # a session database: the tables of this test only
    instance = (
        "{backend: sqlite, filename: q.db}"
        if backend == "sqlite"
        else f'{{backend: postgres, dsn: "{postgres_dsn}", table_prefix: {prefix}}}'
    )
    config = write_config(
        f"""
        version: 1
        instances:
          main: {instance}
        tasks:
          t: {{function: sample_tasks:echo}}
        """
    )
    app = jobrunner.load(config)
    app.tasks.t(1)
    app.close()
    before = _tables(backend, project / "q.db", postgres_dsn, prefix)
    assert before  # huey's own
    for command in ("status", "list", "dead-letters"):
        result = cli(command, str(config), cwd=project)
        assert result.returncode == 0, result.stderr
    assert "no dead letters (main)" in result.stdout
    assert _tables(backend, project / "q.db", postgres_dsn, prefix) == before


def _tables(backend: str, path: Path, dsn: str, prefix: str) -> list[str]:
    if backend == "sqlite":
        import sqlite3

        with sqlite3.connect(path) as conn:
            rows = conn.execute("select name from sqlite_master where type = 'table'").fetchall()
        return sorted(str(row[0]) for row in rows)
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select tablename from pg_tables where tablename like %s", (f"{prefix}%",)
        ).fetchall()
    return sorted(str(row[0]) for row in rows)
