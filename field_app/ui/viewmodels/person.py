"""State of a person's page: who they are (their record in labelled lines) and their referrals, newest first.

From here the agent refers the person (the eligible-partners-nearby screen, then a partner, then Refer) or edits
their record. The referrals are read a page at a time (`field_app.referrals.service.referral_page`, one JOIN), so a
person with many stays quick; "see all" opens "My referrals" for this person.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from field_app.domain.referrals import can_cancel
from field_app.domain.returnees import Returnee
from field_app.i18n import _, format_date, format_number, ngettext
from field_app.labels import REFERRAL_STATUSES
from field_app.referrals.service import referral_page
from field_app.returnees.service import details, get
from field_app.ui.viewmodels.common import Clock
from field_app.ui.viewmodels.people import registered_on

SHOWN_REFERRALS = 10


@dataclass(frozen=True)
class ReferralRow:
    referral_id: str
    partner: str  # organisation: service
    status: str
    date: str
    code: str
    open: bool  # still waiting to be sent (it can be cancelled from the list)


class PersonViewModel:
    """One registered person: the summary line, the record's lines, the latest referrals and how many in all."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, returnee_id: str | None):
        self._db = db
        self._clock = clock
        self.returnee_id = returnee_id or ""
        self.person: Returnee = get(db, self.returnee_id)  # NotFound: the router shows the problem
        self.summary = ""
        self.lines: list[tuple[str, str]] = []
        self.referrals: list[ReferralRow] = []
        self.referral_total = 0
        self.refresh()

    def refresh(self) -> None:
        today = self._clock().date()
        self.person = get(self._db, self.returnee_id)
        self.summary = registered_on(self.person, today)
        self.lines = details(self._db, self.person, today)
        page = referral_page(self._db, returnee_id=self.returnee_id, limit=SHOWN_REFERRALS)
        self.referral_total = page.total
        self.referrals = [
            ReferralRow(
                referral_id=line.id,
                partner=_("{organization}: {service}").format(organization=line.organization, service=line.service),
                status=_(REFERRAL_STATUSES[line.status]),
                date=format_date(line.created_at.date()),
                code=line.code,
                open=can_cancel(line.status),
            )
            for line in page.lines
        ]

    @property
    def name(self) -> str:
        return self.person.full_name

    @property
    def phone(self) -> str | None:
        return self.person.phone

    @property
    def refer_label(self) -> str:
        return _("Refer {name}").format(name=self.name)

    @property
    def referrals_title(self) -> str:
        n = self.referral_total
        return ngettext("{n} referral", "{n} referrals", n).format(n=format_number(n)) if n else _("Referrals")

    @property
    def empty_referrals(self) -> str:
        return _("No referral yet: choose a partner nearby with “Refer”.")

    @property
    def see_all(self) -> str | None:
        """The link to every referral of this person, when not all are shown."""
        if self.referral_total <= len(self.referrals):
            return None
        return ngettext("See the {n} referral", "See all {n} referrals", self.referral_total).format(
            n=format_number(self.referral_total)
        )

    def code_text(self, row: ReferralRow) -> str:
        return _("Slip code {code}").format(code=row.code)
