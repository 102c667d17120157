"""State of the home screen: the people registered most recently (everyone else is one tap away, on "People")
and what is still waiting to be sent."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from field_app.i18n import _, format_number, ngettext
from field_app.labels import pending_words
from field_app.returnees.service import search_people
from field_app.sync.status import pending
from field_app.ui.viewmodels.common import Clock
from field_app.ui.viewmodels.people import registered_on


@dataclass(frozen=True)
class PersonRow:
    returnee_id: str
    name: str
    detail: str


class HomeViewModel:
    """Recent returnees (newest first) and the outbox count; `refresh()` re-reads both."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, recent_limit: int = 10):
        self._db = db
        self._clock = clock
        self._limit = recent_limit
        self.recent: list[PersonRow] = []
        self.everyone = 0  # people registered on this device
        self.pending = 0
        self.refresh()

    def refresh(self) -> None:
        today = self._clock().date()
        page = search_people(self._db, limit=self._limit)
        self.recent = [PersonRow(r.id, r.full_name, registered_on(r, today)) for r in page.people]
        self.everyone = page.total
        self.pending = pending(self._db)

    @property
    def pending_text(self) -> str:
        return pending_words(self.pending)

    @property
    def recent_title(self) -> str:
        return _("Recently registered") if self.recent else _("Nobody registered on this phone yet")

    @property
    def everyone_text(self) -> str:
        """The link to the people list: "See all 15 people registered"."""
        return ngettext("See the {n} person registered", "See all {n} people registered", self.everyone).format(
            n=format_number(self.everyone)
        )
