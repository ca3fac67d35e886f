"""Which store serves which huey storage: Redis, PostgreSQL and SQLite have at-least-once."""

from __future__ import annotations

from huey.storage import BaseStorage, PostgresStorage, RedisStorage, SqliteStorage

from jobrunner.delivery._store import Store


def store_for(storage: BaseStorage) -> Store | None:
    """The at-least-once store over ``storage``, or None when its backend has none."""
    if isinstance(storage, RedisStorage):
        from jobrunner.delivery._redis import redis_store

        return redis_store(storage)
    if isinstance(storage, PostgresStorage):
        from jobrunner.delivery._postgres_store import PostgresStore

        return PostgresStore(storage)
    if isinstance(storage, SqliteStorage):
        from jobrunner.delivery._sqlite_store import SqliteStore

        return SqliteStore(storage)
    return None
