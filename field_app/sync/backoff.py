"""When to try again after a failed sync: exponential backoff with full jitter, capped, honouring Retry-After.

Full jitter (`uniform(0, min(cap, base * 2**(failures - 1)))`) spreads the retries of many phones that lost the
same link at the same moment, so they do not all hit the hub again together. A hub that says `Retry-After: N`
is waited for at least N seconds — up to the cap: a device never goes silent for longer than `CAP_S` (10 min).
Pure: the random source is passed in (tests give a seeded `random.Random`), and so is the time.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

BASE_S = 5.0  # the longest first wait after one failure
CAP_S = 600.0  # never wait longer than 10 minutes
_MAX_EXPONENT = 32  # 5 s * 2**32 is far past the cap; avoids huge floats after days of failures


class Uniform(Protocol):
    """The one thing backoff needs from a random source (`random.Random` has it)."""

    def uniform(self, a: float, b: float) -> float: ...


def ceiling(failures: int, *, base: float = BASE_S, cap: float = CAP_S) -> float:
    """The upper bound of the wait after `failures` consecutive failures (0 when nothing failed)."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2.0 ** min(failures - 1, _MAX_EXPONENT)))


def delay(
    failures: int,
    rng: Uniform,
    *,
    retry_after: float | None = None,
    base: float = BASE_S,
    cap: float = CAP_S,
) -> float:
    """Seconds to wait before the next attempt: within [min(retry_after or 0, cap), cap], never negative."""
    jitter = rng.uniform(0.0, ceiling(failures, base=base, cap=cap))
    jitter = min(max(jitter, 0.0), cap)  # a random source is only trusted so far
    floor = min(max(retry_after or 0.0, 0.0), cap)
    return max(jitter, floor)


def next_attempt(
    now: dt.datetime,
    failures: int,
    rng: Uniform,
    *,
    retry_after: float | None = None,
    base: float = BASE_S,
    cap: float = CAP_S,
) -> dt.datetime:
    """The time of the next attempt after `failures` consecutive failures, as of `now`."""
    return now + dt.timedelta(seconds=delay(failures, rng, retry_after=retry_after, base=base, cap=cap))
