"""Connection settings checked without a server: drivers, URL and DSN syntax, signing, secrets."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from jobrunner.config import load_config
from jobrunner.errors import ConfigError
from tests.support.processes import cli, env

SECRET = "s3cr3t-Value-9f2c"
PASSWORD = "pw-Hunter-2e7a"


def errors(path: Path, **environ: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ=environ)
    return [issue.format() for issue in caught.value.issues]


def instance(write_config: Callable[..., Path], body: str) -> Path:
    return write_config(f"version: 1\ninstances:\n  q: {body}\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "{backend: redis, url: 'http://127.0.0.1:6379/0'}",
            "instances.q.url: invalid Redis URL http://127.0.0.1:6379/0: the scheme must be "
            "redis://, rediss:// (TLS) or unix://",
        ),
        (
            "{backend: redis, url: 'redis://127.0.0.1:63x9/0'}",
            "instances.q.url: invalid Redis URL redis://127.0.0.1:63x9/0: the port must be a "
            "number from 1 to 65535",
        ),
        (
            "{backend: redis, url: 'redis://127.0.0.1:6379/zero'}",
            "instances.q.url: invalid Redis URL redis://127.0.0.1:6379/zero: the database after "
            "the last / must be a number",
        ),
        (
            "{backend: redis, host: 'redis://127.0.0.1'}",
            "instances.q.host: host is a URL, not a host name",
        ),
        (
            "{backend: postgres, dsn: 'mysql://u@127.0.0.1/app'}",
            "instances.q.dsn: invalid PostgreSQL URL mysql://u@127.0.0.1/app: the scheme must be "
            "postgresql://",
        ),
        (
            "{backend: postgres, dsn: 'host=127.0.0.1 dbname'}",
            "instances.q.dsn: invalid PostgreSQL connection string: ",
        ),
    ],
    ids=["redis_scheme", "redis_port", "redis_db", "redis_host_url", "pg_scheme", "pg_syntax"],
)
def test_connection_strings_are_checked(
    body: str, message: str, write_config: Callable[..., Path]
) -> None:
    [error] = errors(instance(write_config, body))
    assert "jobs.yaml:3:" in error
    assert message in error


@pytest.mark.parametrize(
    "target",
    [
        "url: 'redis://127.0.0.1:6379/0'",
        "url: 'redis://localhost/0'",
        "url: 'redis://[::1]:6379/0'",
        "url: 'unix:///run/redis.sock'",
        "host: 127.0.0.1",
    ],
)
def test_loopback_without_a_secret_is_a_warning(
    target: str, write_config: Callable[..., Path]
) -> None:
    path = instance(write_config, f"{{backend: redis, {target}}}")
    [warning] = load_config(path).warnings
    assert warning.severity == "warning"
    assert warning.message == "instance 'q' uses redis without a message signing secret"
    assert warning.hint is not None
    assert 'serializer: {secret: "${JOBRUNNER_SECRET}"}' in warning.hint


@pytest.mark.parametrize(
    "body",
    [
        "{backend: redis, url: 'redis://10.0.0.5:6379/0'}",
        "{backend: redis, host: redis.internal}",
        "{backend: postgres, dsn: 'postgresql://u@db.internal/app'}",
        "{backend: postgres, dsn: 'host=10.1.2.3 dbname=app'}",
    ],
)
def test_a_shared_server_off_loopback_needs_a_secret_or_the_opt_out(
    body: str, write_config: Callable[..., Path]
) -> None:
    [error] = errors(instance(write_config, body))
    assert "is not on a loopback address, without a message signing secret" in error
    assert "serializer: {unsigned: true}" in error
    opted_out = instance(write_config, body[:-1] + ", serializer: {unsigned: true}}")
    assert load_config(opted_out).warnings == []
    signed = instance(write_config, body[:-1] + ", serializer: {secret: abc}}")
    assert load_config(signed).warnings == []


def test_a_secret_and_the_opt_out_together_are_refused(write_config: Callable[..., Path]) -> None:
    path = instance(
        write_config, "{backend: redis, host: r.internal, serializer: {secret: a, unsigned: true}}"
    )
    [error] = errors(path)
    assert "unsigned: true contradicts the secret given next to it" in error


def test_values_from_the_environment_never_appear_in_messages(
    write_config: Callable[..., Path],
) -> None:
    path = write_config(
        """
        version: 1
        instances:
          q:
            backend: redis
            port: ${REDIS_PW}
            serializer: ${JOBRUNNER_SECRET}
          r:
            backend: redis
            url: ${REDIS_URL}
        """
    )
    found = errors(
        path,
        REDIS_PW=PASSWORD,
        JOBRUNNER_SECRET=SECRET,
        REDIS_URL=f"http://:{PASSWORD}@10.0.0.5/0",
    )
    text = "\n".join(found)
    assert "instances.q.port: expected an integer, got the string '***'" in text
    assert "instances.q.serializer: expected a mapping, got the string '***'" in text
    assert "instances.r.url: invalid Redis URL" in text
    assert SECRET not in text
    assert PASSWORD not in text


def test_values_under_secret_keys_never_appear_in_messages(
    write_config: Callable[..., Path],
) -> None:
    long_secret = SECRET * 10
    path = write_config(
        f"""
        version: 1
        instances:
          q:
            backend: redis
            url: "redis://:{PASSWORD}@127.0.0.1:6379/x"
            password: {{nested: {SECRET}}}
            serializer: {{secret: [{long_secret}]}}
          p:
            backend: postgres
            dsn: "postgresql://u:{PASSWORD}@127.0.0.1:5x/app"
        """
    )
    text = "\n".join(errors(path))
    assert "redis://:***@127.0.0.1:6379/x" in text
    assert "postgresql://u:***@127.0.0.1:5x/app" in text
    assert "instances.q.password: expected a string, got a mapping" in text
    for secret in (SECRET, PASSWORD, long_secret[:60]):
        assert secret not in text


def test_a_secret_stays_hidden_at_start_up(
    write_config: Callable[..., Path], project: Path
) -> None:
    write_config(
        "version: 1\ninstances:\n  q:\n    backend: redis\n    serializer: ${JOBRUNNER_SECRET}\n"
    )
    for command in ("validate", "run", "list"):
        result = cli(command, "jobs.yaml", cwd=project, JOBRUNNER_SECRET=SECRET)
        assert result.returncode == 1, result
        assert "expected a mapping, got the string '***'" in result.stdout + result.stderr
        assert SECRET not in result.stdout + result.stderr


# Every command, with psycopg made unimportable (as when jobrunner[postgres] is not installed).
WITHOUT_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = None; "
    "from jobrunner.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["run"],
        ["list"],
        ["plan"],
        ["pause", "tick"],
        ["resume", "tick"],
        ["dead-letters"],
    ],
    ids=lambda c: c[0],
)
def test_a_missing_driver_is_a_user_error_at_the_instance_line(
    command: list[str], write_config: Callable[..., Path], project: Path
) -> None:
    write_config(
        """
        version: 1
        instances:
          db:
            backend: postgres
            dsn: postgresql://u@127.0.0.1:1/app
        schedules:
          tick: {function: sample_tasks:echo, cron: "* * * * *"}
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG, command[0], "jobs.yaml", *command[1:]],
        cwd=project,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert (
        "jobs.yaml:3:3: instances.db: backend postgres needs the Python package psycopg, "
        'which is not installed\n  hint: pip install "jobrunner[postgres]"'
    ) in output
    assert "Traceback" not in output


def test_every_yaml_a_hint_suggests_is_valid_yaml() -> None:
    from tests.config.test_malformed import CASES

    hints = [e.hint for case in CASES for e in case.values[1] if e.hint]
    hints.append(load_config_hint())
    suggested = [
        piece
        for hint in hints
        for piece in re.findall(r"`([^`]+)`|(?:add|or) (serializer: \{.*?\})(?:,| to|$)", hint)
        for piece in piece
        if ": " in piece
    ]
    assert len(suggested) >= 5
    for piece in suggested:
        assert isinstance(yaml.safe_load(piece.replace("...", "x")), dict), piece


def load_config_hint() -> str:
    """The hint of the signing error, which suggests two lines."""
    from jobrunner.config._connections import SIGNING_HINT

    return f"add {SIGNING_HINT}, or serializer: {{unsigned: true}} to accept that"


def test_greenlet_workers_without_gevent_are_a_user_error(
    write_config: Callable[..., Path], project: Path
) -> None:
    write_config(
        "version: 1\ninstances:\n  q:\n    backend: sqlite\n    consumer: {worker_type: greenlet}\n"
    )
    code = WITHOUT_PSYCOPG.replace("'psycopg'", "'gevent'")
    result = subprocess.run(
        [sys.executable, "-c", code, "validate", "jobs.yaml"],
        cwd=project,
        env=env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert (
        "jobs.yaml:5:29: instances.q.consumer.worker_type: greenlet workers need the Python "
        'package gevent, which is not installed\n  hint: pip install "jobrunner[gevent]"'
    ) in result.stdout
