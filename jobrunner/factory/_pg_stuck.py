"""A PostgreSQL connection left mid-command is replaced, not reused.

When the socket closes while psycopg waits to send (a terminated backend, a dropped
network), psycopg raises ``OperationalError("connection socket closed")`` from its wait
loop without marking the connection broken: libpq still holds the unfinished command, the
connection reports ``TransactionStatus.ACTIVE``, and every later command on it fails with
"another command is already in progress". huey's storage keeps a connection until it is
``closed`` or ``broken``, so such a connection would turn one dropped send into an outage
that never ends. Between two commands of ours a connection is never ACTIVE: one that is
gets closed and a new one made.
"""

from __future__ import annotations

from typing import Any


def stuck(conn: Any) -> bool:
    """Whether ``conn`` (not in use by anyone) still holds a command that never finished."""
    from psycopg.pq import TransactionStatus  # here: psycopg is an optional dependency

    return not conn.closed and conn.info.transaction_status == TransactionStatus.ACTIVE


class PostgresFreshAfterLostSend:
    """Mixin for huey's ``PostgresStorage``: its connections are checked before each use.

    ``conn`` is read under the storage's lock (huey's ``db()``), and the listening
    connection is one per thread, so neither can be mid-command for another caller.
    """

    _conn: Any
    _listen_local: Any
    _close_quiet: Any  # huey's PostgresStorage's

    @property
    def conn(self) -> Any:
        if self._conn is not None and stuck(self._conn):
            self._close_quiet(self._conn)
            self._conn = None
        return super().conn  # type: ignore[misc]

    def _listen_conn(self) -> Any:
        conn = getattr(self._listen_local, "conn", None)
        if conn is not None and stuck(conn):
            self._close_quiet(conn)
            self._listen_local.conn = None
        return super()._listen_conn()  # type: ignore[misc]
