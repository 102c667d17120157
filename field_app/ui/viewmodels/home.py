"""State of the home screen: the people registered most recently and what is still waiting to be sent."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from field_app.i18n import _, format_date
from field_app.labels import pending_words
from field_app.returnees.service import recent
from field_app.sync.status import pending
from field_app.ui.viewmodels.common import Clock, person_line


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
        self.pending = 0
        self.refresh()

    def refresh(self) -> None:
        today = self._clock().date()
        self.recent = [
            PersonRow(
                r.id,
                r.full_name,
                _("{person} · registered {date}").format(
                    person=person_line(r, today), date=format_date(r.created_at.date())
                ),
            )
            for r in recent(self._db, limit=self._limit)
        ]
        self.pending = pending(self._db)

    @property
    def pending_text(self) -> str:
        return pending_words(self.pending)

    @property
    def recent_title(self) -> str:
        return _("Recently registered") if self.recent else _("Nobody registered on this phone yet")
