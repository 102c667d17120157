"""Strict time types for records that cross a door (a device's JSON, a pushed op, an API body).

Pydantic reads a number where a date or a time belongs as a Unix time by default (`1700000000` → 2023-11-14, and
`"1700000000"` too): a bug or a hostile device would then store a date nobody wrote. `Moment` (a date and time)
and `Day` (a date) take ISO 8601 text or a `datetime`/`date` object and refuse numbers — int, float, bool and
text that is only a number — with a short message. Their JSON Schema stays `string` with format `date-time` /
`date`. A `Moment` must also be a time in UTC's years 1 to 9999 (the hub stores UTC). Pure: no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(kind: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, bool | int | float) or (isinstance(value, str | bytes) and _is_number(value)):
            raise ValueError(f"{kind} as ISO 8601 text, not a number")
        return value

    return check


def _is_number(value: str | bytes) -> bool:
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return len(text) < 400 and _NUMBER.fullmatch(text) is not None


def _in_utc_range(value: dt.datetime) -> dt.datetime:
    """A time the hub can write in UTC (0001-01-01T00:00+05:00 is before year 1 there)."""
    try:
        value.astimezone(dt.UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError("a date and time between the years 1 and 9999 in UTC") from exc
    return value


Moment = Annotated[
    dt.datetime,
    BeforeValidator(_not_a_number("a date and time (2026-03-02T09:30:00Z)")),
    AfterValidator(_in_utc_range),
]
Day = Annotated[dt.date, BeforeValidator(_not_a_number("a date (2026-03-02)"))]
