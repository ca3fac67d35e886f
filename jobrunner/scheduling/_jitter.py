"""Deterministic start jitter, so many jobs on one schedule do not all hit the queue at once.

The delay is a pure function of the schedule name and the tick, hashed with a stable digest, so
a restarted or second scheduler process computes the very same delay for the same tick.
"""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime

# 53 bits fill a double's mantissa exactly, giving a uniform fraction in [0, 1) without rounding
# up to 1.0.
_FRACTION_BITS = 53


def jitter_offset(schedule: str, tick: datetime, jitter: float) -> float:
    """A delay in ``[0, jitter)`` seconds for ``schedule`` at ``tick``; 0.0 when jitter <= 0.

    ``tick`` must be aware; only its UTC minute matters, matching the tick's identity.
    """
    if jitter <= 0:
        return 0.0
    if not math.isfinite(jitter):
        raise ValueError(f"jitter must be finite, got {jitter!r}")
    if tick.tzinfo is None or tick.utcoffset() is None:
        raise ValueError("tick must be timezone-aware")
    minute = tick.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
    digest = hashlib.sha256(f"{schedule}\x00{minute}".encode()).digest()
    fraction = (int.from_bytes(digest[:8], "big") >> (64 - _FRACTION_BITS)) / (1 << _FRACTION_BITS)
    # The product can still round up to `jitter` itself; the contract is a half-open interval.
    return min(fraction * jitter, math.nextafter(jitter, 0.0))
