"""State of the referral confirmation (consent, note, queue it) and of the slip the returnee keeps."""

from __future__ import annotations

import sqlite_utils

from field_app.directory.detail import service_detail
from field_app.errors import ValidationError
from field_app.i18n import _
from field_app.referrals.service import get as get_referral
from field_app.referrals.service import refer
from field_app.referrals.slip import make_slip
from field_app.returnees.service import get as get_returnee
from field_app.ui.viewmodels.common import Clock

NOTE_MAX = 500


class SlipViewModel:
    """A queued referral's slip: its text, and an sms: link to the returnee's phone (or to be filled in)."""

    def __init__(self, db: sqlite_utils.Database, referral_id: str):
        self.referral_id = referral_id
        stored = get_referral(db, referral_id)
        self.returnee_id = stored.referral.returnee_id
        slip = make_slip(db, referral_id)
        self.text = slip.text()
        self.code = slip.code
        phone = get_returnee(db, self.returnee_id).phone
        self.has_phone = phone is not None
        self.sms_link = slip.sms_link(phone or "")

    @property
    def sms_hint(self) -> str:
        if self.has_phone:
            return _("Sends the slip to the returnee’s phone.")
        return _("No phone number recorded: choose the number in the messaging app, or read the slip out.")


class ReferralViewModel:
    """Who → which partner; the consent question read out; "Queue the referral" writes it for the next sync."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, returnee_id: str, service_id: str):
        self._db = db
        self._clock = clock
        self.returnee = get_returnee(db, returnee_id)
        self.service_id = service_id
        detail = service_detail(db, service_id)
        self.partner = detail.organization.name  # in full: the person must know whom they agree to share with
        self.service = detail.service.name
        self.consent = False
        self.note = ""
        self.error = ""
        self.slip: SlipViewModel | None = None

    @property
    def summary(self) -> str:
        """Who goes where, in two lines (no arrow: the offline font has no glyph for it)."""
        return "\n".join(
            [
                _("Who: {person}").format(person=self.returnee.full_name),
                _("To: {partner} — {service}").format(partner=self.partner, service=self.service),
            ]
        )

    @property
    def question(self) -> str:
        return _("Does {name} agree to share their details with {partner}?").format(
            name=self.returnee.full_name, partner=self.partner
        )

    def set_consent(self, value: bool) -> None:
        self.consent = value
        if value:
            self.error = ""

    def set_note(self, text: str) -> None:
        self.note = text.strip()[:NOTE_MAX]

    def submit(self) -> bool:
        """Queue the referral (consent required); True when it is written and the slip is ready."""
        if self.slip is not None:
            return True
        try:
            referral = refer(
                self._db,
                returnee_id=self.returnee.id,
                service_id=self.service_id,
                consent_share=self.consent,
                now=self._clock(),
                note=self.note or None,
            )
        except ValidationError as exc:
            self.error = " ".join(p.message for p in exc.problems)
            return False
        self.error = ""
        self.slip = SlipViewModel(self._db, referral.id)
        return True

    @property
    def queued_message(self) -> str:
        return _("The referral is queued on this phone: it will be sent at the next sync.")
