"""The enqueue time of a message: a small versioned header ahead of huey's message bytes.

huey's messages carry no enqueue time, so a task without an eta has no start delay to
measure. jobrunner puts ``b"\\0jr"``, a version byte, the header's length and, in version 1,
the enqueue time (epoch seconds, a big-endian double) ahead of the bytes huey's serializer
made: 13 bytes. The header is outside the compression and the signature, so a stored
message can be re-stamped (a requeued dead letter) without its secret; it feeds a metric
only, and a forged time can only skew that metric.

No huey message starts with a zero byte (pickle starts with ``0x80``, gzip ``0x1f``, zlib
``0x78``), so a message without the header (plain huey, an older jobrunner) is read as it
is, with no time. A header of a later version is skipped by its length, with no time.
"""

from __future__ import annotations

import math
import struct

MAGIC = b"\0jr"
VERSION = 1
_V1 = struct.Struct(">3sBBd")
SIZE = _V1.size  # 13


_pack = _V1.pack


def header(when: float) -> bytes:
    """The header of a message enqueued at ``when``, to put ahead of huey's bytes."""
    return _pack(MAGIC, VERSION, SIZE, when)


def stamp(data: bytes, when: float) -> bytes:
    """``data`` (huey's message bytes, stamped or not) with the enqueue time ``when``."""
    return _pack(MAGIC, VERSION, SIZE, when) + split(data)[1]


def restamp(data: bytes, when: float) -> bytes:
    """``data`` with the enqueue time ``when`` if it has a header; unchanged otherwise, so a
    message plain huey wrote stays readable by plain huey."""
    return stamp(data, when) if data[:3] == MAGIC else data


def split(data: bytes) -> tuple[float | None, bytes]:
    """The enqueue time in ``data`` (None without a readable one) and huey's message bytes."""
    if data[:3] != MAGIC:
        return None, data
    if len(data) < 5 or data[4] < 5:
        raise ValueError("truncated jobrunner message header")
    if data[3] != VERSION or data[4] != SIZE or len(data) < SIZE:
        return None, data[data[4] :]
    when = _V1.unpack_from(data)[3]
    return (when if math.isfinite(when) else None), data[SIZE:]
