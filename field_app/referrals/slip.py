"""The referral slip the returnee keeps: partner, town, phone, what to bring. Short: one SMS, or read out."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from field_app.directory.detail import service_detail
from field_app.i18n import _, format_date
from field_app.labels import DOCUMENTS, label
from field_app.storage.referrals import get_referral
from field_app.storage.returnees import get_returnee


@dataclass(frozen=True)
class Slip:
    referral_id: str
    code: str  # the first 8 characters of the id: what the partner asks for
    person: str
    organization: str
    service: str
    town: str | None
    phone: str | None  # E.164, for tel:/sms:
    phone_as_written: str | None
    bring: list[str]  # localised names of the documents the service requires
    bring_if_any: list[str]  # asked for when the person has them (a diploma…): not a reason to stay away
    date: dt.date

    def text(self) -> str:
        """The slip as one message (SMS, or read aloud)."""
        lines = [
            _("Passerelle referral {code}").format(code=self.code),
            _("{person}: go to {organization} — {service}").format(
                person=self.person, organization=self.organization, service=self.service
            ),
        ]
        if self.town:
            lines.append(_("Where: {town}").format(town=self.town))
        if self.phone_as_written:
            lines.append(_("Phone: {phone}").format(phone=self.phone_as_written))
        if self.bring:
            lines.append(_("Bring: {documents}").format(documents=", ".join(self.bring)))
        if self.bring_if_any:
            lines.append(_("Also, if you have them: {documents}").format(documents=", ".join(self.bring_if_any)))
        lines.append(_("Date: {date}").format(date=format_date(self.date)))
        return "\n".join(lines)

    def sms_link(self, to: str) -> str:
        """An sms: link that opens the phone's messaging app with the slip filled in."""
        from urllib.parse import quote

        return f"sms:{to}?body={quote(self.text())}"


def make_slip(db: sqlite_utils.Database, referral_id: str) -> Slip:
    stored = get_referral(db, referral_id)
    referral = stored.referral
    returnee = get_returnee(db, referral.returnee_id)
    detail = service_detail(db, referral.service_id)
    office = next((o for o in detail.offices if o.region == returnee.region.value), None) or (
        detail.offices[0] if detail.offices else None
    )
    contact = next((c for c in detail.contacts if c.e164), None)
    required = list(dict.fromkeys(detail.eligibility.documents))
    optional = [d for d in dict.fromkeys(detail.eligibility.documents_if_available) if d not in required]
    return Slip(
        referral_id=referral.id,
        code=referral.id[:8].upper(),
        person=returnee.full_name,
        organization=_name_people_know(detail.organization.name, detail.organization.short_name),
        service=detail.service.name,
        town=office.town if office else None,
        phone=contact.e164 if contact else None,
        phone_as_written=contact.phone if contact else None,
        bring=[label(DOCUMENTS, d.value) for d in required],
        bring_if_any=[label(DOCUMENTS, d.value) for d in optional],
        date=referral.created_at.date(),
    )


def _name_people_know(name: str, short: str | None) -> str:
    """The full name, with the acronym people will hear on the spot: "Centre de Formation … (CFPS)"."""
    return f"{name} ({short})" if short and short != name else name
