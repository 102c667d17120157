"""State of the referral confirmation (consent, a second referral confirmed, note, queue it) and of a referral's
page: its status, "Cancel" while it is queued, the slip as one SMS in the person's language and in full."""

from __future__ import annotations

import sqlite_utils

from field_app.directory.detail import service_detail
from field_app.domain.referrals import can_cancel, is_open
from field_app.errors import AlreadyReferred, Conflict, ValidationError
from field_app.i18n import N_, _, format_date
from field_app.labels import REFERRAL_STATUSES
from field_app.referrals.service import ReferralSummary, already_referred_message, cancel, open_referral, refer
from field_app.referrals.service import summary as referral_summary
from field_app.referrals.slip import SmsSlip, make_slip, sms_cost
from field_app.returnees.service import get as get_returnee
from field_app.ui.viewmodels.common import Clock

NOTE_MAX = 500
# "SMS in French" as a heading: a language's name inside a sentence (French writes it in lower case)
SMS_HEADINGS = {"fr": N_("SMS in French"), "en": N_("SMS in English"), "bm": N_("SMS in Bambara")}


class SlipViewModel:
    """A referral's page: who, where, its status (cancel while queued), the one-SMS slip in the person's language
    with an sms: link to their phone, and the full slip to read out or share."""

    def __init__(self, db: sqlite_utils.Database, referral_id: str, clock: Clock | None = None):
        self._db = db
        self._clock = clock
        self.referral_id = referral_id
        self.message = ""
        slip = make_slip(db, referral_id)
        self.code = slip.code
        self.text = slip.text()
        self.sms: SmsSlip = slip.sms()
        self.person = slip.person
        self.partner = slip.organization
        self.service = slip.service
        self.phone = slip.phone_display
        self.returnee_id = self._line().returnee_id
        phone = get_returnee(db, self.returnee_id).phone
        self.has_phone = phone is not None
        self.sms_link = slip.sms_link(phone or "")
        self.full_sms_link = slip.full_sms_link(phone or "")
        self.status = self.date = ""
        self.can_cancel = False
        self.sendable = True  # the slip is still worth sending (the referral is open)
        self.refresh()

    def _line(self) -> ReferralSummary:
        return referral_summary(self._db, self.referral_id)

    def refresh(self) -> None:
        """The status as stored now (the router calls this when the page comes back on top)."""
        line = self._line()
        self.status = _(REFERRAL_STATUSES[line.status])
        self.date = format_date(line.created_at.date())
        self.can_cancel = self._clock is not None and can_cancel(line.status)
        self.sendable = is_open(line.status)

    @property
    def sms_heading(self) -> str:
        return _(SMS_HEADINGS.get(self.sms.language, SMS_HEADINGS["fr"]))

    @property
    def sms_cost(self) -> str:
        return sms_cost(self.sms)

    @property
    def left_out(self) -> str:
        """What only the full slip says, to read out ("" when the SMS says it all)."""
        if not self.sms.left_out:
            return ""
        return _("Not in the SMS, read it out: {things}.").format(things=", ".join(self.sms.left_out))

    @property
    def closed_note(self) -> str:
        """Why the slip is not offered for sending any more."""
        return _("This referral is {status}: do not send its slip.").format(status=self.status.lower())

    @property
    def sms_hint(self) -> str:
        if self.has_phone:
            return _("Sends the slip to the returnee’s phone.")
        return _("No phone number recorded: choose the number in the messaging app, or read the slip out.")

    @property
    def cancel_question(self) -> str:
        return _("Cancel the referral of {person} to {partner}?").format(person=self.person, partner=self.partner)

    def cancel(self) -> None:
        """Cancel the referral while it is queued; the status on screen is the stored one afterwards."""
        assert self._clock is not None, "a slip shown without a clock cannot cancel"
        try:
            cancel(self._db, self.referral_id, now=self._clock())
        except Conflict as exc:
            self.message = str(exc)
        else:
            self.message = _("Referral cancelled.")
        self.refresh()


class ReferralViewModel:
    """Who → which partner; a warning when the person already has an open referral to this service (a second one
    is confirmed first); the consent question read out; "Queue the referral" writes it for the next sync."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, returnee_id: str, service_id: str):
        self._db = db
        self._clock = clock
        self.returnee = get_returnee(db, returnee_id)
        self.service_id = service_id
        detail = service_detail(db, service_id)
        self.partner = detail.organization.name  # in full: the person must know whom they agree to share with
        self.service = detail.service.name
        self.consent = False
        self.again = False  # the agent confirmed a second referral to the same service
        self.note = ""
        self.error = ""
        self.slip: SlipViewModel | None = None
        self.prior: ReferralSummary | None = None
        self.refresh()

    def refresh(self) -> None:
        """Look again for an open referral of this person to this service (one may have been cancelled since)."""
        if self.slip is None:
            self.prior = open_referral(self._db, self.returnee.id, self.service_id)

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
    def warning(self) -> str:
        """ "X was already referred to this service on <date> (status)." — or "" when there is no open one."""
        return already_referred_message(self.returnee, self.prior) if self.prior is not None else ""

    @property
    def question(self) -> str:
        return _("Does {name} agree to share their details with {partner}?").format(
            name=self.returnee.full_name, partner=self.partner
        )

    def set_consent(self, value: bool) -> None:
        self.consent = value
        if value and not (self.prior is not None and not self.again):
            self.error = ""

    def set_again(self, value: bool) -> None:
        self.again = value
        if value and self.consent:
            self.error = ""

    def set_note(self, text: str) -> None:
        self.note = text.strip()[:NOTE_MAX]

    def submit(self) -> bool:
        """Queue the referral (consent required; a second open one only once confirmed); True when it is written
        and the slip is ready."""
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
                force=self.again,
            )
        except ValidationError as exc:
            self.error = " ".join(p.message for p in exc.problems)
            return False
        except AlreadyReferred:
            self.refresh()
            self.error = _("Tick “Refer again anyway” to queue a second referral, or open the first one.")
            return False
        self.error = ""
        self.slip = SlipViewModel(self._db, referral.id, self._clock)
        return True

    @property
    def queued_message(self) -> str:
        return _("The referral is queued on this phone: it will be sent at the next sync.")
