"""How old a directory entry's facts are, and whether they are old enough to be confirmed by phone. Pure.

The directory was collected in November–December 2022; an office that checks an entry sets its date anew
("verified today"). Anything older than `STALE_AFTER_MONTHS` is shown as "information from <date> — call to
confirm". `today` is passed in: the domain never reads a clock.
"""

from __future__ import annotations

import calendar
import datetime as dt

STALE_AFTER_MONTHS = 12


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by `months`, clamped to the month's last day (2024-02-29 + 12 months = 2025-02-28)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def is_stale(collected: dt.date, today: dt.date, *, after_months: int = STALE_AFTER_MONTHS) -> bool:
    """True when facts collected on `collected` are more than `after_months` months old on `today`: on the
    anniversary they are not yet stale, the day after they are."""
    return today > add_months(collected, after_months)
