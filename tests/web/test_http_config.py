"""The ``http:`` section and ``--http``: loopback or a token, a busy port, the token itself."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from jobrunner.config import load_config
from jobrunner.config._http import is_loopback, parse_listen
from jobrunner.errors import ConfigError
from tests.support.processes import Runner, cli
from tests.web.support import endpoint_url, get

TASKS = """
version: 1
tasks:
  add: {function: sample_tasks:add}
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9187", ("127.0.0.1", 9187)),
        (":0", ("127.0.0.1", 0)),
        ("[::1]:80", ("::1", 80)),
        ("0.0.0.0:9187", ("0.0.0.0", 9187)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_listen_addresses_parse(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["9187", "host:", "::1:80", "1.2.3.4:70000", "a:b"])
def test_bad_listen_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"HOST:PORT|brackets|out of range"):
        parse_listen(text)


def test_loopback_is_only_this_machine() -> None:
    assert [is_loopback(h) for h in ("127.0.0.1", "127.3.4.5", "::1", "localhost")] == [True] * 4
    assert [is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.1", "example.org")] == [False] * 4


def test_non_loopback_without_token_is_a_located_error(
    write_config: Callable[..., Path], project: Path
) -> None:
    path = write_config(
        TASKS
        + """
http:
  public: false
  listen: "0.0.0.0:9187"
"""
    )
    result = cli("validate", str(path), cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    # The value of `listen`: line 7 of the file, column 11.
    assert lines[0] == (
        f"{path}:7:11: http.listen: listening on 0.0.0.0:9187 (not loopback) without a token"
    )
    assert lines[1].startswith('  hint: add token: "${JOBRUNNER_HTTP_TOKEN}"')
    assert "Traceback" not in result.stderr


def test_a_token_or_public_allows_any_address(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JOBRUNNER_HTTP_TOKEN", "s3cret-token")
    path = write_config(TASKS + 'http: {listen: "0.0.0.0:1", token: "${JOBRUNNER_HTTP_TOKEN}"}\n')
    http = load_config(path).config.http
    assert http is not None
    assert http.token == "s3cret-token"
    assert "s3cret" not in repr(http)
    path = write_config(TASKS + 'http: {listen: "[::]:1", public: true}\n')
    assert load_config(path).config.http is not None


def test_bad_listen_is_a_located_error(write_config: Callable[..., Path]) -> None:
    path = write_config(TASKS + 'http: {listen: "9187"}\n')
    with pytest.raises(ConfigError) as error:
        load_config(path)
    (issue,) = error.value.issues
    assert (issue.line, issue.path) == (4, "http.listen")
    assert "expected HOST:PORT" in issue.message


def test_no_http_section_no_endpoint(write_config: Callable[..., Path]) -> None:
    assert load_config(write_config(TASKS)).config.http is None


def test_http_flag_refuses_a_public_address_without_token(
    write_config: Callable[..., Path], project: Path
) -> None:
    path = write_config(TASKS)
    result = cli("run", str(path), "--http", "0.0.0.0:0", cwd=project)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0].startswith(
        "jobrunner: error: --http: listening on 0.0.0.0:0 (not loopback) without a token;"
    )


def test_a_busy_port_is_one_clear_line(write_config: Callable[..., Path], project: Path) -> None:
    path = write_config(TASKS)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = cli("run", str(path), "--http", f"127.0.0.1:{port}", cwd=project)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [
        f"jobrunner: error: cannot listen on 127.0.0.1:{port}: the port is in use (another "
        "runner?); choose another port in http.listen or --http, or :0 for a free one"
    ]
    assert "Traceback" not in result.stderr


def test_requests_without_the_token_get_401(
    write_config: Callable[..., Path], project: Path
) -> None:
    path = write_config(
        TASKS
        + 'http: {listen: ":0", token: "${JOBRUNNER_HTTP_TOKEN}"}\n'
        + "instances:\n  default: {backend: sqlite, serializer: {secret: sig-secret-456}}\n"
    )
    with Runner(path, JOBRUNNER_HTTP_TOKEN="tok-123") as runner:
        url = endpoint_url(runner)
        assert "token required" in runner.output
        denied = get(f"{url}/metrics")
        assert denied.status_code == 401
        assert denied.headers["www-authenticate"] == "Bearer"
        assert get(f"{url}/metrics", Authorization="Bearer wrong").status_code == 401
        allowed = get(f"{url}/metrics", Authorization="Bearer tok-123")
        assert allowed.status_code == 200
        assert "jobrunner_build_info" in allowed.text
        # Probes stay open: orchestrators probe without credentials.
        assert get(f"{url}/healthz").status_code == 200
        bodies = [
            allowed.text,
            denied.text,
            get(f"{url}/readyz").text,
            get(f"{url}/healthz").text,
        ]
        assert runner.stop() == 0
    for text in [*bodies, runner.output]:
        assert "tok-123" not in text
        assert "sig-secret-456" not in text


def test_a_literal_token_is_a_warning(write_config: Callable[..., Path]) -> None:
    path = write_config(TASKS + 'http: {listen: ":0", token: "abc"}\n')
    (warning,) = load_config(path).warnings
    assert (warning.path, warning.severity) == ("http.token", "warning")
    assert warning.message == "the token is written in the file"
