"""Checks of an instance's connection settings that need no server: driver, syntax, signing.

``validate`` catches here what would otherwise fail only when a command connects:
a driver that is not installed, a Redis URL with a wrong scheme or a port that is
not a number, a PostgreSQL connection string libpq cannot parse. It also decides
whether unsigned messages are allowed: a shared server that is not on a loopback
address needs a signing secret, or the explicit ``serializer: {unsigned: true}``.
Messages show connection strings masked (:func:`mask_url`), never as written.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from jobrunner.config._yaml import Document
from jobrunner.config.model import SerializerConfig
from jobrunner.errors import Issue

_REDIS_BACKENDS = frozenset({"redis", "redis-expire", "priority-redis"})
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_POSTGRES_SCHEMES = ("postgresql", "postgres")
# The driver each backend imports, and how to install it.
_DRIVERS = {
    "postgres": ("psycopg", 'pip install "jobrunner[postgres]"'),
    **{backend: ("redis", "pip install redis") for backend in _REDIS_BACKENDS},
}
SIGNING_HINT = 'serializer: {secret: "${JOBRUNNER_SECRET}"}'

# libpq's `keyword = value` form: the value may be quoted and hold spaces.
_KEYWORD_PASSWORD = re.compile(r"(?<!\S)(\w*password)\s*=\s*(?:'(?:[^'\\]|\\.)*'|\S+)")
# A password can also ride in a URL's query string (libpq and redis-py read it there).
_QUERY_PASSWORD = re.compile(r"([?&]\w*password=)[^&#]*")


def mask_url(url: str) -> str:
    """``url`` with its password (user info or query string) replaced by ``***``."""
    if "://" not in url:
        return _KEYWORD_PASSWORD.sub(r"\1=***", url)
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "the URL (not shown: it cannot be parsed)"
    netloc = parts.netloc
    if password is not None:
        netloc = netloc.replace(f":{password}@", ":***@", 1)
    query = _QUERY_PASSWORD.sub(r"\1***", f"?{parts.query}")[1:]
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def check_connection(
    name: str,
    backend: str,
    raw: Mapping[str, Any],
    serializer: SerializerConfig,
    doc: Document,
    issues: list[Issue],
) -> None:
    """Append the issues of instance ``name``'s driver, connection string and signing."""
    where = ("instances", name)
    if any(path[:2] == where for path in doc.broken):
        return  # a value is unreadable (an unset variable...): reported already
    driver = _DRIVERS.get(backend)
    if driver is not None and not _importable(driver[0]):
        issues.append(
            doc.issue(
                where,
                f"backend {backend} needs the Python package {driver[0]}, which is not installed",
                driver[1],
                key=True,
            )
        )
        return
    hosts: list[str] | None = None
    if backend in _REDIS_BACKENDS:
        hosts = _redis_hosts(raw, where, doc, issues)
    elif backend == "postgres":
        hosts = _postgres_hosts(raw.get("dsn", ""), (*where, "dsn"), doc, issues)
    if hosts is None:
        return
    _check_signing(name, backend, hosts, serializer, doc, issues)


def check_greenlet_driver(
    name: str, consumer: Mapping[str, Any], doc: Document, issues: list[Issue]
) -> None:
    """Greenlet workers need gevent, the other optional package (``jobrunner[gevent]``)."""
    if consumer.get("worker_type") == "greenlet" and not _importable("gevent"):
        issues.append(
            doc.issue(
                ("instances", name, "consumer", "worker_type"),
                "greenlet workers need the Python package gevent, which is not installed",
                'pip install "jobrunner[gevent]", or use worker_type: thread',
            )
        )


def _importable(module: str) -> bool:
    # Imported, not just found: an install whose binary part is missing fails only here,
    # and the storage imports it anyway as soon as the instance is built.
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _redis_hosts(
    raw: Mapping[str, Any], where: tuple[str, ...], doc: Document, issues: list[Issue]
) -> list[str] | None:
    url = raw.get("url")
    if not isinstance(url, str):
        host = raw.get("host", "localhost")
        if isinstance(host, str) and "://" in host:
            issues.append(
                doc.issue(
                    (*where, "host"),
                    "host is a URL, not a host name",
                    "give the URL as `url:` instead, or just the host name here",
                )
            )
            return None
        return [host] if isinstance(host, str) else None
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        issues.append(
            doc.issue(
                (*where, "url"),
                f"invalid Redis URL {shown}: the port must be a number from 1 to 65535",
                "e.g. redis://127.0.0.1:6379/0",
            )
        )
        return None
    if parts.scheme not in _REDIS_SCHEMES:
        issues.append(
            doc.issue(
                (*where, "url"),
                f"invalid Redis URL {shown}: the scheme must be redis://, rediss:// (TLS) or "
                "unix://",
                "e.g. redis://127.0.0.1:6379/0 or unix:///run/redis.sock?db=0",
            )
        )
        return None
    db = parts.path.strip("/") if parts.scheme != "unix" else ""
    if db and not db.isdigit():
        issues.append(
            doc.issue(
                (*where, "url"),
                f"invalid Redis URL {shown}: the database after the last / must be a number",
                "e.g. redis://127.0.0.1:6379/0",
            )
        )
        return None
    if parts.scheme == "unix":
        return ["/"]
    return [parts.hostname or "localhost"]


def _postgres_hosts(
    dsn: Any, where: tuple[str, ...], doc: Document, issues: list[Issue]
) -> list[str] | None:
    if not isinstance(dsn, str):
        return None
    if "://" in dsn:
        problem = _url_problem(dsn)
        if problem:
            issues.append(
                doc.issue(
                    where,
                    f"invalid PostgreSQL URL {mask_url(dsn)}: {problem}",
                    "e.g. postgresql://user@127.0.0.1:5432/app, or host=127.0.0.1 dbname=app",
                )
            )
            return None
    from psycopg import conninfo  # only imported once the driver is known to be there

    try:
        params = conninfo.conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg.ProgrammingError, with libpq's own wording
        # libpq quotes pieces of the string, which may be a password: drop them.
        reason = re.sub(r'"[^"]*"', '"..."', str(exc).strip().splitlines()[0])
        issues.append(
            doc.issue(
                where,
                f"invalid PostgreSQL connection string: {reason}",
                "e.g. postgresql://user@127.0.0.1:5432/app, or host=127.0.0.1 dbname=app",
            )
        )
        return None
    host = str(params.get("hostaddr") or params.get("host") or "/")
    return [part or "/" for part in host.split(",")]


def _url_problem(dsn: str) -> str | None:
    try:
        parts = urlsplit(dsn)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        return "the port must be a number from 1 to 65535"
    if parts.scheme not in _POSTGRES_SCHEMES:
        return "the scheme must be postgresql://"
    return None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: a loopback name or address, or a socket path."""
    if host.startswith("/") or host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_signing(
    name: str,
    backend: str,
    hosts: list[str],
    serializer: SerializerConfig,
    doc: Document,
    issues: list[Issue],
) -> None:
    where = ("instances", name)
    if serializer.secret and serializer.unsigned:
        issues.append(
            doc.issue(
                (*where, "serializer", "unsigned"),
                "unsigned: true contradicts the secret given next to it",
                "remove unsigned: true to sign messages with the secret",
                key=True,
            )
        )
        return
    if serializer.secret or serializer.unsigned:
        return
    if all(is_loopback(host) for host in hosts):
        issues.append(
            doc.issue(
                where,
                f"instance {name!r} uses {backend} without a message signing secret",
                "anyone who can write to the server can run code in your workers; add "
                + SIGNING_HINT,
                key=True,
                severity="warning",
            )
        )
        return
    issues.append(
        doc.issue(
            where,
            f"instance {name!r} uses a {backend} server that is not on a loopback address, "
            "without a message signing secret",
            "anyone who can write to that server could run code in your workers; add "
            + SIGNING_HINT
            + ", or serializer: {unsigned: true} to accept that (docs/delivery.md)",
            key=True,
        )
    )
