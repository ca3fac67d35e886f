"""A private PostgreSQL database for a benchmark run (the tests' admin DSN, a database of ours)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

ADMIN_DSN = os.environ.get("JOBRUNNER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def private_database() -> Iterator[str]:
    """Create a database of our own on the server of ``JOBRUNNER_TEST_PG``; drop it afterwards."""
    import psycopg

    name = f"jobrunner_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
