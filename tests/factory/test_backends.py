"""Building huey objects: the right class and options per backend, paths, safe log targets."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import huey
import pytest
from huey.serializer import SignedSerializer
from huey.storage import SqliteStorage

import jobrunner
from jobrunner.config.model import InstanceConfig, Location
from jobrunner.factory import safe_target
from jobrunner.factory._enqueue_time import EnqueueTimes

CLASSES = {
    "sqlite": huey.SqliteHuey,
    "redis": huey.RedisHuey,
    "redis-expire": huey.RedisExpireHuey,
    "priority-redis": huey.PriorityRedisHuey,
    "postgres": huey.PostgresHuey,
    "file": huey.FileHuey,
    "memory": huey.MemoryHuey,
}

# Neither Redis nor PostgreSQL is contacted while building: redis-py connects on
# first use, and create_tables: false keeps huey's PostgreSQL storage from doing so.
CONFIG = """
version: 1
instances:
  sqlite: {backend: sqlite}
  redis: {backend: redis, url: "redis://127.0.0.1:1/0"}
  redis-expire: {backend: redis-expire, url: "redis://127.0.0.1:1/0", expire_time: 30}
  priority-redis: {backend: priority-redis, host: 127.0.0.1, port: 1}
  postgres: {backend: postgres, dsn: "postgresql://u@127.0.0.1:1/x", create_tables: false}
  file: {backend: file, path: files}
  memory: {backend: memory}
  custom:
    backend: custom
    storage_class: flavour_storage:MyStorage
    options: {filename: custom.db, flavour: mint}
"""

MYSTORAGE = """
from huey.storage import SqliteStorage


class MyStorage(SqliteStorage):
    def __init__(self, name="huey", flavour=None, **kwargs):
        super().__init__(name, **kwargs)
        self.flavour = flavour
"""


@pytest.fixture
def app(write_config: Callable[..., Path], project: Path) -> Iterator[jobrunner.App]:
    (project / "flavour_storage.py").write_text(MYSTORAGE)
    yield jobrunner.load(write_config(CONFIG))
    sys.modules.pop("flavour_storage", None)  # the next test writes its own


@pytest.mark.parametrize("backend", sorted(CLASSES))
def test_each_backend_builds_its_huey_class(app: jobrunner.App, backend: str) -> None:
    # huey's class with the enqueue-time stamping mixed in (factory/_enqueue_time.py).
    assert type(app.huey(backend)).__bases__ == (EnqueueTimes, CLASSES[backend])
    assert app.huey(backend).name == backend


def test_custom_backend_uses_the_storage_class_with_its_options(app: jobrunner.App) -> None:
    built = app.huey("custom")
    assert type(built).__bases__ == (EnqueueTimes, huey.Huey)
    assert type(built.storage).__name__ == "MyStorage"
    assert isinstance(built.storage, SqliteStorage)
    assert built.storage.flavour == "mint"
    assert built.storage.filename == "custom.db"


def test_backend_options_reach_the_storage(app: jobrunner.App) -> None:
    assert app.huey("redis-expire").storage._expire_time == 30
    pool = app.huey("priority-redis").storage.pool
    assert pool.connection_kwargs["port"] == 1
    assert app.huey("postgres").storage.dsn == "postgresql://u@127.0.0.1:1/x"
    # A Result.get(blocking=True) on Redis is woken by a push, not by polling.
    assert app.huey("redis").storage.notify_result


def test_redis_notify_result_can_be_turned_off(write_config: Callable[..., Path]) -> None:
    config = write_config(
        """
        version: 1
        instances:
          r: {backend: redis, url: "redis://127.0.0.1:1/0", notify_result: false}
        """
    )
    assert not jobrunner.load(config).huey("r").storage.notify_result


@pytest.mark.parametrize(
    ("settings", "synchronous"),
    [
        ("", 1),  # NORMAL: no fsync per commit in WAL mode (docs/performance.md)
        ("fsync: false", 1),  # never huey's OFF, which can corrupt on a power cut
        ("fsync: true", 2),  # FULL, huey's default
        ("journal_mode: delete", 2),  # NORMAL is only safe enough with WAL
    ],
)
def test_sqlite_commits_without_fsync_unless_asked(
    write_config: Callable[..., Path], settings: str, synchronous: int
) -> None:
    config = write_config(
        f"""
        version: 1
        instances:
          db: {{backend: sqlite, {settings}}}
        tasks:
          t: {{function: sample_tasks:add}}
        """
    )
    app = jobrunner.load(config)
    app.tasks.t(1, 2)  # a commit, on the connection the pragma was set on
    storage = app.huey("db").storage
    with storage.db() as cursor:
        assert cursor.execute("pragma synchronous").fetchone()[0] == synchronous
    assert storage.queue_size() == 1
    app.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_blocking_result_get_polls_from_one_millisecond(
    write_config: Callable[..., Path],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    # huey's first wait is 50 ms: no round trip on a SQL storage took less.
    if backend == "postgres":
        dsn = request.getfixturevalue("postgres_dsn")
        lines = f"backend: postgres, dsn: '{dsn}', name: polls{os.getpid()}"
    else:
        lines = "backend: sqlite"
    app = jobrunner.load(write_config(f"version: 1\ninstances:\n  db: {{{lines}}}\n"))
    storage = app.huey("db").storage
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:  # the consumer stores the result while the producer waits
            storage.put_data("k", b"done", is_result=True)

    monkeypatch.setattr(time, "sleep", sleep)
    assert storage.wait_result("k", timeout=5)
    assert waits == pytest.approx([0.001, 0.00115, 0.0013225])
    assert storage.pop_data("k") == b"done"
    app.close()


def test_relative_paths_resolve_against_the_yaml_folder(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sub = project / "conf"
    sub.mkdir()
    config = sub / "jobs.yaml"
    config.write_text(
        "version: 1\ninstances:\n"
        "  s: {backend: sqlite, filename: queue.db}\n"
        "  f: {backend: file, path: files}\n"
    )
    elsewhere = tmp_path_factory.mktemp("cwd")
    monkeypatch.chdir(elsewhere)
    app = jobrunner.load(config)
    assert Path(app.huey("s").storage.filename) == sub / "queue.db"
    assert (sub / "queue.db").exists()
    assert not (elsewhere / "queue.db").exists()
    assert Path(app.huey("f").storage.path) == sub / "files"


def test_relative_config_path_still_resolves_against_its_folder(
    project: Path,
) -> None:
    sub = project / "conf"
    sub.mkdir()
    (sub / "jobs.yaml").write_text(
        "version: 1\ninstances:\n  s: {backend: sqlite, filename: queue.db}\n"
    )
    app = jobrunner.load("conf/jobs.yaml")
    assert Path(app.huey("s").storage.filename) == sub / "queue.db"


def test_absolute_and_memory_sqlite_filenames_are_kept(
    write_config: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    absolute = tmp_path_factory.mktemp("abs") / "q.db"
    config = write_config(
        f"""
        version: 1
        instances:
          a: {{backend: sqlite, filename: "{absolute}"}}
          m: {{backend: sqlite, filename: ":memory:"}}
        """
    )
    app = jobrunner.load(config)
    assert app.huey("a").storage.filename == str(absolute)
    assert app.huey("m").storage.filename == ":memory:"


def test_default_instance_is_sqlite_beside_the_file(
    write_config: Callable[..., Path], project: Path
) -> None:
    config = write_config(
        """
        version: 1
        tasks:
          add: {function: sample_tasks:add}
        """,
        name="myjobs.yaml",
    )
    app = jobrunner.load(config)
    assert list(app.instances) == ["default"]
    assert isinstance(app.huey(), huey.SqliteHuey)
    assert app.huey("default").storage.filename == str(project / "myjobs.db")
    assert app.tasks.add.huey is app.huey("default")


def test_instance_name_key_sets_the_queue_name(write_config: Callable[..., Path]) -> None:
    config = write_config(
        """
        version: 1
        instances:
          main: {backend: memory, name: shared-queue}
        """
    )
    assert jobrunner.load(config).huey("main").name == "shared-queue"


def test_huey_level_options(write_config: Callable[..., Path]) -> None:
    config = write_config(
        """
        version: 1
        instances:
          plain: {backend: memory}
          tuned:
            backend: memory
            results: false
            store_none: true
            utc: false
            compression: true
            serializer: {secret: s3cret, salt: pepper}
        """
    )
    app = jobrunner.load(config)
    plain, tuned = app.huey("plain"), app.huey("tuned")
    assert (plain.results, plain.store_none, plain.utc, plain.immediate) == (
        True,
        False,
        True,
        False,
    )
    assert (tuned.results, tuned.store_none, tuned.utc) == (False, True, False)
    assert isinstance(tuned.serializer, SignedSerializer)
    assert tuned.serializer.salt == b"pepper"
    assert tuned.serializer.comp
    assert not isinstance(plain.serializer, SignedSerializer)


# safe_target: where an instance stores its data, for log lines, never with a password.


def _instance(backend: str, **storage: object) -> InstanceConfig:
    return InstanceConfig(
        name="x",
        backend=backend,
        location=Location("jobs.yaml", 1, 1),
        queue_name="x",
        storage=storage,
    )


@pytest.mark.parametrize(
    ("instance", "shown"),
    [
        (_instance("redis", url="redis://:hunter2@cache:6379/1"), "redis://:***@cache:6379/1"),
        (_instance("redis", url="redis://app:hunter2@cache/0"), "redis://app:***@cache/0"),
        (_instance("redis", url="rediss://cache:6380/2"), "rediss://cache:6380/2"),
        (
            _instance("redis", url="redis://cache/0?password=hunter2"),
            "redis://cache/0?password=***",
        ),
        (
            _instance("redis-expire", host="cache", port=7000, db=3, password="hunter2"),
            "redis://cache:7000/3",
        ),
        (_instance("priority-redis"), "redis://127.0.0.1:6379/0"),
        (
            _instance("postgres", dsn="postgresql://app:hunter2@db:5432/jobs"),
            "postgresql://app:***@db:5432/jobs",
        ),
        (
            _instance("postgres", dsn="host=db password=hunter2 dbname=jobs"),
            "host=db password=*** dbname=jobs",
        ),
        (
            _instance("postgres", dsn="host=db password = hunter2 dbname=jobs"),
            "host=db password=*** dbname=jobs",
        ),
        (
            _instance("postgres", dsn="host=db password='hunter2 with spaces' dbname=jobs"),
            "host=db password=*** dbname=jobs",
        ),
        (
            _instance("postgres", dsn="postgresql://db/jobs?sslmode=require&password=hunter2"),
            "postgresql://db/jobs?sslmode=require&password=***",
        ),
        (_instance("sqlite", filename="/data/jobs.db"), "/data/jobs.db"),
        (_instance("file", path="/data/queue"), "/data/queue"),
        (_instance("memory"), "memory"),
    ],
)
def test_safe_target_never_shows_a_password(instance: InstanceConfig, shown: str) -> None:
    assert safe_target(instance) == shown
    assert "hunter2" not in safe_target(instance)


def test_safe_target_of_a_postgres_instance_without_dsn() -> None:
    assert safe_target(_instance("postgres")) == "libpq defaults"


def test_safe_target_of_a_custom_instance_names_its_class() -> None:
    instance = InstanceConfig(
        name="x",
        backend="custom",
        location=Location("jobs.yaml", 1, 1),
        queue_name="x",
        storage={"password": "hunter2"},
        storage_class="pkg.mod:Store",
    )
    assert safe_target(instance) == "pkg.mod:Store"


def test_runners_creating_the_postgres_tables_at_once_on_a_fresh_database_all_succeed() -> None:
    """PostgreSQL's ``create table if not exists`` is not safe against itself: twelve at once
    on a fresh database, as replicas starting together, failed with UniqueViolation on
    huey's own storage; jobrunner's takes an advisory lock around it and its own tables."""
    import threading

    from jobrunner.delivery import store_for
    from jobrunner.factory._backends import PostgresStorage
    from tests.support.servers import private_postgres_database

    with private_postgres_database() as dsn:
        errors: list[BaseException] = []
        barrier = threading.Barrier(12)

        def start() -> None:
            barrier.wait()
            try:
                storage = PostgresStorage(name="q", dsn=dsn)
                store = store_for(storage)
                assert store is not None
                store.setup()
                storage.close()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=start) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []


def test_a_postgres_server_down_at_start_gets_its_tables_on_the_first_connection(
    postgres_dsn: str,
) -> None:
    import uuid

    import psycopg

    from jobrunner.factory._backends import PostgresStorage

    prefix = f"t{uuid.uuid4().hex[:8]}"
    down = PostgresStorage(name="q", dsn=postgres_dsn.replace(":5432/", ":1/"), table_prefix=prefix)
    assert down._schema_pending  # no error: the runner starts and reports the outage
    with pytest.raises(psycopg.OperationalError):
        down.enqueue(b"x")
    down.dsn = postgres_dsn  # the server is back
    down.enqueue(b"x")
    assert down.queue_size() == 1
    assert not down._schema_pending
    down.close()
