"""Pieces shared by the view models: the injected clock, choice options, a person in one line."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from field_app.directory.places import places
from field_app.domain.returnees import Returnee
from field_app.i18n import ngettext
from field_app.labels import region_name

Clock = Callable[[], dt.datetime]  # the composition root passes `lambda: datetime.now(UTC)`; tests a fixed time


@dataclass(frozen=True)
class Option:
    """One choice in a dropdown or a group of chips: a stable code and its words."""

    key: str
    text: str


def years_old(returnee: Returnee, today: dt.date) -> str:
    age = returnee.age_on(today)
    return ngettext("{n} year", "{n} years", age).format(n=age)


def person_line(returnee: Returnee, today: dt.date) -> str:
    """Age and region, e.g. "22 years · Kayes" (no phone: this line is shown in lists)."""
    return " · ".join([years_old(returnee, today), region_name(returnee.region.value)])


def place_options(db: sqlite_utils.Database, region: str | None = None) -> list[Option]:
    """Gazetteer places (all of Mali, or one region's), capitals first, then by name."""
    return [Option(pid, name) for pid, name in places(db, region=region)]
