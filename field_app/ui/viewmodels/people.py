"""State of "People": everyone registered on this device, searched by name, phone or slip code, a page at a time.

The search is the use case's (`field_app.returnees.service.search_people`: indexes only), so the screen stays
quick at 10,000 people: it holds the pages loaded so far and asks for the next one on "Show more". The text
survives a look at a person and back (the router keeps this view model while the person's page is on top), and
`refresh()` reads the same pages again, so a change made meanwhile shows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import Sex
from field_app.i18n import _, format_date, format_number, ngettext, pgettext
from field_app.labels import SEX, label
from field_app.returnees.service import PAGE_SIZE, PeoplePage, search_people
from field_app.ui.viewmodels.common import Clock, person_line


@dataclass(frozen=True)
class PersonRow:
    returnee_id: str
    name: str
    detail: str  # sex · age · region · phone · registered on


def registered_on(r: Returnee, today: dt.date) -> str:
    """ "Woman · 22 years · Kayes · registered 1 June 2025" (French agrees "enregistrée" with a woman)."""
    person = " · ".join([label(SEX, r.sex.value), person_line(r, today)])
    if r.sex is Sex.F:
        text = pgettext("woman", "{person} · registered {date}")
    else:
        text = pgettext("man", "{person} · registered {date}")
    return text.format(person=person, date=format_date(r.created_at.date()))


def person_row(r: Returnee, today: dt.date) -> PersonRow:
    detail = registered_on(r, today)
    if r.phone:
        detail = f"{detail} · {r.phone}"
    return PersonRow(r.id, r.full_name, detail)


class PeopleViewModel:
    """The search text, the rows of the pages loaded so far, how many match in all."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, page_size: int = PAGE_SIZE):
        self._db = db
        self._clock = clock
        self.page_size = page_size
        self.text = ""
        self.rows: list[PersonRow] = []
        self.total = 0
        self.everyone = 0  # people on this device, whatever the search
        self.refresh()

    def _read(self, offset: int, limit: int) -> PeoplePage:
        return search_people(self._db, self.text, limit=limit, offset=offset)

    def refresh(self) -> None:
        """Read again what is shown (at least one page)."""
        self._load(max(len(self.rows), self.page_size))

    def _load(self, limit: int) -> None:
        page = self._read(0, limit)
        today = self._clock().date()
        self.rows = [person_row(r, today) for r in page.people]
        self.total = page.total
        self.everyone = page.total if not self.text else search_people(self._db, limit=1).total

    def search(self, text: str) -> None:
        """Show the first page of the people matching `text` (empty: everyone)."""
        text = " ".join(text.split())
        if text == self.text and self.rows:
            return
        self.text = text
        self._load(self.page_size)

    def more(self) -> None:
        """Add the next page."""
        page = self._read(len(self.rows), self.page_size)
        today = self._clock().date()
        self.rows = [*self.rows, *(person_row(r, today) for r in page.people)]
        self.total = page.total

    @property
    def has_more(self) -> bool:
        return len(self.rows) < self.total

    @property
    def count_text(self) -> str:
        """How many are shown of how many: never a silent cut."""
        if not self.text:
            return ngettext("{n} person registered on this device", "{n} people registered on this device",
                            self.total).format(n=format_number(self.total))  # fmt: skip
        if self.total == 0:
            return _("Nobody matches “{text}”.").format(text=self.text)
        return ngettext("{n} person matches “{text}”", "{n} people match “{text}”", self.total).format(
            n=format_number(self.total), text=self.text
        )

    @property
    def shown_text(self) -> str:
        return _("Showing {shown} of {total}").format(
            shown=format_number(len(self.rows)), total=format_number(self.total)
        )

    @property
    def empty_text(self) -> str:
        if self.everyone == 0:
            return _("Nobody is registered on this device yet: register a returnee from the home screen.")
        return _(
            "Try part of the name (any order, accents do not matter), the last digits of the phone, or a slip code."
        )
