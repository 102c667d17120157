"""State of "My referrals": every referral made on this phone, newest first, its status in words."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from field_app.domain.referrals import can_cancel
from field_app.errors import Conflict
from field_app.i18n import _, format_date
from field_app.labels import REFERRAL_STATUSES
from field_app.referrals.service import cancel, referral_lines
from field_app.ui.viewmodels.common import Clock


@dataclass(frozen=True)
class ReferralRow:
    referral_id: str
    person: str
    partner: str  # organisation: service
    status: str
    date: str
    can_cancel: bool


class ReferralsViewModel:
    """All referrals (or one returnee's); queued ones can be cancelled."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, returnee_id: str | None = None):
        self._db = db
        self._clock = clock
        self.returnee_id = returnee_id
        self.rows: list[ReferralRow] = []
        self.message = ""
        self.refresh()

    def refresh(self) -> None:
        self.rows = [
            ReferralRow(
                referral_id=line.stored.referral.id,
                person=line.returnee_name,
                partner=_("{organization}: {service}").format(organization=line.organization, service=line.service),
                status=_(REFERRAL_STATUSES[line.stored.status]),
                date=format_date(line.stored.referral.created_at.date()),
                can_cancel=can_cancel(line.stored.status),
            )
            for line in referral_lines(self._db, self.returnee_id)
        ]

    @property
    def empty_text(self) -> str:
        return _("No referral yet: open a returnee, choose a partner, then Refer.")

    def cancel_question(self, row: ReferralRow) -> str:
        return _("Cancel the referral of {person} to {partner}?").format(person=row.person, partner=row.partner)

    def cancel(self, referral_id: str) -> None:
        try:
            cancel(self._db, referral_id, now=self._clock())
        except Conflict as exc:
            self.message = str(exc)
        else:
            self.message = _("Referral cancelled.")
        self.refresh()
