"""Freshness: an entry is to be confirmed by phone once its facts are more than twelve months old."""

from __future__ import annotations

import datetime as dt

import pytest

from field_app.domain.directory import status_on
from field_app.domain.freshness import add_months, is_stale
from field_app.domain.vocabulary import ServiceStatus

D = dt.date


@pytest.mark.parametrize(
    ("collected", "today", "stale"),
    [
        (D(2022, 12, 31), D(2026, 12, 2), True),  # the bundled directory today
        (D(2022, 11, 15), D(2023, 11, 15), False),  # the anniversary: twelve months, not more
        (D(2022, 11, 15), D(2023, 11, 16), True),  # a day after
        (D(2026, 6, 1), D(2026, 12, 2), False),  # verified six months ago
        (D(2024, 2, 29), D(2025, 2, 28), False),  # a leap day's anniversary is 28 February
        (D(2024, 2, 29), D(2025, 3, 1), True),
        (D(2026, 12, 2), D(2026, 12, 1), False),  # a date in the future is not stale
    ],
)
def test_is_stale(collected: dt.date, today: dt.date, stale: bool) -> None:
    assert is_stale(collected, today) is stale


def test_the_threshold_can_be_given() -> None:
    assert is_stale(D(2026, 1, 1), D(2026, 3, 2), after_months=2)
    assert not is_stale(D(2026, 1, 1), D(2026, 3, 1), after_months=2)


def test_add_months_clamps_to_the_month_end() -> None:
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2026, 11, 30), 3) == D(2027, 2, 28)
    assert add_months(D(2022, 12, 31), 12) == D(2023, 12, 31)


# --- a service's status on a day: its stated period outranks the 2022 "active" ---

A, E, P, S, F = (ServiceStatus.ACTIVE, ServiceStatus.ENDED, ServiceStatus.PLANNED, ServiceStatus.SUSPENDED,
                 ServiceStatus.FULL)  # fmt: skip
TODAY = D(2026, 12, 2)


@pytest.mark.parametrize(
    ("status", "start", "end", "expected"),
    [
        (A, None, None, A),
        (A, D(2019, 1, 1), D(2022, 12, 31), E),  # a project that ended
        (A, None, TODAY, A),  # its last day: still running
        (A, None, D(2026, 12, 1), E),  # the day after its last
        (A, D(2027, 1, 1), None, P),  # not open yet
        (P, D(2023, 1, 1), None, P),  # planned stays planned until someone says it opened
        (P, None, D(2023, 12, 31), E),  # a plan whose period is over
        (S, None, D(2024, 1, 1), E),
        (F, D(2020, 1, 1), D(2030, 1, 1), F),
        (E, None, D(2030, 1, 1), E),  # ended early stays ended
    ],
)
def test_status_on(status: ServiceStatus, start: dt.date | None, end: dt.date | None, expected: ServiceStatus) -> None:
    assert status_on(status, start, end, TODAY) is expected


def test_ended_is_stored_as_inactive() -> None:
    assert ServiceStatus.ENDED is ServiceStatus.INACTIVE and ServiceStatus("inactive") is ServiceStatus.ENDED
