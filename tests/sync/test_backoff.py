"""Backoff after failed syncs: full jitter, doubling ceiling capped at 10 min, Retry-After honoured (pure)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from field_app.sync import backoff


class Edge:
    """A random source that always answers one end of the range (the stdlib's `uniform` interface)."""

    def __init__(self, end: str):
        self.end = end
        self.asked: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return b if self.end == "high" else a


@pytest.mark.parametrize(
    ("failures", "ceiling"),
    [(0, 0.0), (1, 5.0), (2, 10.0), (3, 20.0), (4, 40.0), (7, 320.0), (8, 600.0), (9, 600.0), (10_000, 600.0)],
)
def test_ceiling_doubles_then_stops_at_ten_minutes(failures: int, ceiling: float) -> None:
    assert backoff.ceiling(failures) == ceiling


@pytest.mark.parametrize(
    ("failures", "end", "retry_after", "expected"),
    [
        (1, "high", None, 5.0),
        (1, "low", None, 0.0),  # full jitter: may retry at once
        (3, "high", None, 20.0),
        (3, "low", 12.0, 12.0),  # the hub asked for 12 s: at least that
        (3, "high", 12.0, 20.0),  # the jitter was longer anyway
        (1, "low", 900.0, 600.0),  # a Retry-After past the cap waits the cap, not more
        (20, "high", None, 600.0),
        (2, "low", -3.0, 0.0),  # a negative Retry-After means nothing
        (0, "high", None, 0.0),
    ],
)
def test_delay_table(failures: int, end: str, retry_after: float | None, expected: float) -> None:
    rng = Edge(end)
    assert backoff.delay(failures, rng, retry_after=retry_after) == expected
    assert rng.asked == [(0.0, backoff.ceiling(failures))]  # full jitter: the whole range from 0


def test_next_attempt_adds_the_delay_to_now() -> None:
    now = dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)
    assert backoff.next_attempt(now, 4, Edge("high")) == now + dt.timedelta(seconds=40)
    assert backoff.next_attempt(now, 1, Edge("low"), retry_after=30) == now + dt.timedelta(seconds=30)


def test_a_seeded_random_source_gives_the_same_waits() -> None:
    first = [backoff.delay(n, random.Random(7)) for n in range(1, 12)]
    again = [backoff.delay(n, random.Random(7)) for n in range(1, 12)]
    assert first == again
    assert all(0.0 <= d <= backoff.ceiling(n) for n, d in zip(range(1, 12), first, strict=True))


@given(
    failures=st.integers(min_value=-5, max_value=10**9),
    retry_after=st.none() | st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    seed=st.integers(min_value=0, max_value=2**32),
    cap=st.floats(min_value=0.5, max_value=3600.0),
)
def test_delay_is_within_retry_after_and_cap(failures: int, retry_after: float | None, seed: int, cap: float) -> None:
    d = backoff.delay(failures, random.Random(seed), retry_after=retry_after, cap=cap)
    floor = min(max(retry_after or 0.0, 0.0), cap)
    assert d >= 0.0
    assert floor <= d <= cap
    assert d <= max(backoff.ceiling(failures, cap=cap), floor)  # never longer than this failure count allows
