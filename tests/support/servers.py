"""Private Redis servers and PostgreSQL databases for tests (never the shared ones)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import benchmarks._env

PG_ADMIN_DSN = os.environ.get("JOBRUNNER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


class RedisServer(benchmarks._env.RedisServer):
    """A ``redis-server`` on a free port, owned by the test run (the benchmarks' own)."""

    missing = ".ci/run installs it"

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


@contextmanager
def private_postgres_database() -> Iterator[str]:
    """Create a database of our own on the shared server; drop it afterwards."""
    import psycopg

    name = f"jobrunner_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
