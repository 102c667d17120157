"""State of "My referrals": the referrals on this phone (or one person's), newest first, 50 at a time.

Each page is one indexed query (`referrals.service.referral_page`); "More" reads the next page after the last line
shown. Cancelling a queued referral redraws that line from the database at once (status and the Cancel button),
and `refresh` (the router calls it when the screen comes back on top) reads again as many lines as were shown, so
"More" is not lost on return.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from field_app.domain.referrals import can_cancel
from field_app.errors import Conflict
from field_app.i18n import _, format_date, format_number, ngettext
from field_app.labels import REFERRAL_STATUSES
from field_app.referrals.service import PAGE, PageCursor, ReferralSummary, cancel, referral_page
from field_app.referrals.service import summary as referral_summary
from field_app.ui.viewmodels.common import Clock


@dataclass(frozen=True)
class ReferralRow:
    referral_id: str
    person: str
    partner: str  # organisation: service
    status: str
    date: str
    can_cancel: bool


def referral_row(line: ReferralSummary) -> ReferralRow:
    return ReferralRow(
        referral_id=line.id,
        person=line.returnee_name or _("Someone not registered on this phone"),
        partner=_("{organization}: {service}").format(organization=line.organization, service=line.service),
        status=_(REFERRAL_STATUSES[line.status]),
        date=format_date(line.created_at.date()),
        can_cancel=can_cancel(line.status),
    )


class ReferralsViewModel:
    """All referrals (or one returnee's), a page at a time; queued ones can be cancelled."""

    def __init__(
        self, db: sqlite_utils.Database, clock: Clock, returnee_id: str | None = None, *, page: int = PAGE
    ) -> None:
        self._db = db
        self._clock = clock
        self.returnee_id = returnee_id
        self.page = page
        self.rows: list[ReferralRow] = []
        self.total = 0
        self._next: PageCursor | None = None
        self.message = ""
        self.refresh()

    def refresh(self) -> None:
        """The first lines again, as many as were shown (at least a page)."""
        self._load(max(self.page, len(self.rows)), after=None)

    def more(self) -> None:
        """The next page under the lines shown."""
        if self._next is not None:
            self._load(self.page, after=self._next)

    def _load(self, limit: int, *, after: PageCursor | None) -> None:
        found = referral_page(self._db, returnee_id=self.returnee_id, limit=limit, after=after)
        rows = [referral_row(line) for line in found.lines]
        self.rows = rows if after is None else self.rows + rows
        self._next, self.total = found.next, found.total

    @property
    def has_more(self) -> bool:
        return self._next is not None

    @property
    def count_text(self) -> str:
        """ "50 of 20,000 referrals" (all of them: "3 referrals")."""
        if len(self.rows) >= self.total:
            return ngettext("{n} referral", "{n} referrals", self.total).format(n=format_number(self.total))
        return ngettext("{n} of {total} referral", "{n} of {total} referrals", self.total).format(
            n=format_number(len(self.rows)), total=format_number(self.total)
        )

    @property
    def more_text(self) -> str:
        return _("More ({n} of {total} shown)").format(n=format_number(len(self.rows)), total=format_number(self.total))

    @property
    def empty_text(self) -> str:
        return _("No referral yet: open a returnee, choose a partner, then Refer.")

    def cancel_question(self, row: ReferralRow) -> str:
        return _("Cancel the referral of {person} to {partner}?").format(person=row.person, partner=row.partner)

    def cancel(self, referral_id: str) -> None:
        """Cancel a queued referral; its line shows the stored status at once (the others stay where they are)."""
        try:
            cancel(self._db, referral_id, now=self._clock())
        except Conflict as exc:
            self.message = str(exc)
        else:
            self.message = _("Referral cancelled.")
        fresh = referral_row(referral_summary(self._db, referral_id))
        self.rows = [fresh if r.referral_id == referral_id else r for r in self.rows]
