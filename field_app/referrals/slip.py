"""The referral slip the returnee keeps: partner, town, a number to call, what to bring, the code.

Two forms. The full slip (`Slip.text`), in the agent's language, to read out or to share: the partner's name in
full with its acronym, the service, the office's town, the phone written to be dialled ("+223 66 89 68 87", not
"+223/66.89.68.87" as the 2022 fiche printed it), every document to bring, the date. And the SMS (`Slip.sms`), in
the person's own language (the first of their languages the app speaks; French otherwise), cut to fit ONE SMS:
the code, the partner as people call it (its acronym), the number in E.164 (tappable on any phone), then as much
as still fits, in this order — the town, the service, what to bring (the list, or how many documents), the
person's name. What did not fit is named (`SmsSlip.left_out`) so the agent reads it out; if even the essentials
take more than one SMS, `SmsSlip.size` says how many.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import quote

import sqlite_utils

from field_app.directory.detail import service_detail
from field_app.domain.returnees import Returnee
from field_app.i18n import DEFAULT_LANGUAGE, LANGUAGES, _, format_date, in_language, ngettext, pgettext
from field_app.labels import DOCUMENTS, label
from field_app.referrals.sms import SmsSize, sms_safe, sms_size
from field_app.storage.referrals import get_referral
from field_app.storage.returnees import get_returnee


@dataclass(frozen=True)
class SmsSlip:
    """The slip as one SMS: its text (GSM look-alikes where they keep the meaning), what it costs, the
    language it is in, and what only the full slip says (in the agent's language, to read out)."""

    text: str
    size: SmsSize
    language: str
    left_out: tuple[str, ...]


@dataclass(frozen=True)
class Slip:
    referral_id: str
    code: str  # the first 8 characters of the id: what the partner asks for
    person: str
    organization: str  # the full name, with the acronym people will hear on the spot
    partner: str  # the name people use: the acronym when there is one
    service: str
    town: str | None
    phone: str | None  # E.164, for tel: and sms:, and in the SMS
    phone_as_written: str | None  # as the source printed it (kept, never shown to the returnee)
    date: dt.date
    documents: tuple[str, ...] = ()  # codes of the documents the service requires
    documents_if_any: tuple[str, ...] = ()  # asked for when the person has them (a diploma…)
    language: str = DEFAULT_LANGUAGE  # the person's language, for the SMS
    phone_display: str | None = field(default=None)  # the number spaced for reading: "+223 66 89 68 87"

    @property
    def bring(self) -> list[str]:
        """The documents to bring, in the current language."""
        return [label(DOCUMENTS, d) for d in self.documents]

    @property
    def bring_if_any(self) -> list[str]:
        return [label(DOCUMENTS, d) for d in self.documents_if_any]

    def text(self) -> str:
        """The full slip as one message (to read aloud or share), in the current language."""
        lines = [
            _("Passerelle referral {code}").format(code=self.code),
            _("{person}: go to {organization} — {service}").format(
                person=self.person, organization=self.organization, service=self.service
            ),
        ]
        if self.town:
            lines.append(_("Where: {town}").format(town=self.town))
        if self.phone_display:
            lines.append(_("Phone: {phone}").format(phone=self.phone_display))
        if self.bring:
            lines.append(_("Bring: {documents}").format(documents=", ".join(self.bring)))
        if self.bring_if_any:
            lines.append(_("Also, if you have them: {documents}").format(documents=", ".join(self.bring_if_any)))
        lines.append(_("Date: {date}").format(date=format_date(self.date)))
        return "\n".join(lines)

    def sms(self, lang: str | None = None) -> SmsSlip:
        """The slip cut to one SMS, in `lang` (default: the person's language); see the module docstring."""
        with in_language(lang or self.language) as code:
            parts = _sms_parts(self)
            chosen = {"code", "partner", "phone"}
            for name in ("town", "service", "bring", "bring_count", "person"):
                if name not in parts or (name == "bring_count" and "bring" in chosen):
                    continue
                if sms_size(_sms_text(parts, chosen | {name})).fits_one:
                    chosen.add(name)
            text = _sms_text(parts, chosen)
        left = []  # in the agent's language: they read it out
        if "town" in parts and "town" not in chosen:
            left.append(_("the town"))
        if "service" not in chosen:
            left.append(_("the service"))
        if self.documents and "bring" not in chosen:
            left.append(_("the documents to bring"))
        if self.documents_if_any:
            left.append(_("the documents to bring if they have them"))
        return SmsSlip(text, sms_size(text), code, tuple(left))

    def sms_link(self, to: str) -> str:
        """An sms: link that opens the phone's messaging app with the one-SMS slip filled in."""
        return f"sms:{to}?body={quote(self.sms().text)}"

    def full_sms_link(self, to: str) -> str:
        """An sms: link with the full slip (several SMS)."""
        return f"sms:{to}?body={quote(sms_safe(self.text()))}"


_SMS_ORDER = ("code", "person", "partner", "service", "town", "phone", "bring", "bring_count")


def _sms_parts(slip: Slip) -> dict[str, str]:
    """Each piece the SMS may hold, in the current language, already made GSM-safe."""
    parts = {
        "code": pgettext("sms", "Passerelle {code}").format(code=slip.code),
        "person": pgettext("sms", "For {person}").format(person=slip.person),
        "partner": slip.partner,
        "service": slip.service,
    }
    if slip.town:
        parts["town"] = _("Where: {town}").format(town=slip.town)
    if slip.phone:
        parts["phone"] = pgettext("sms", "Tel {phone}").format(phone=slip.phone)
    if slip.documents:
        parts["bring"] = _("Bring: {documents}").format(documents=", ".join(slip.bring))
        n = len(slip.documents)
        parts["bring_count"] = ngettext(
            "Bring {n} document (see the slip)", "Bring {n} documents (see the slip)", n
        ).format(n=n)
    return {k: sms_safe(v) for k, v in parts.items()}


def _sms_text(parts: dict[str, str], chosen: set[str]) -> str:
    """The chosen pieces, one line each, the partner and its service on one line."""
    lines: list[str] = []
    for name in _SMS_ORDER:
        if name not in chosen or name not in parts:
            continue
        if name == "service" and lines and "partner" in chosen:
            lines[-1] = f"{lines[-1]}: {parts[name]}"
        else:
            lines.append(parts[name])
    return "\n".join(lines)


def sms_cost(sms: SmsSlip) -> str:
    """ "1 SMS · 148 characters", or how many SMS the text takes when it cannot fit in one."""
    length = ngettext("{n} character", "{n} characters", sms.size.units).format(n=sms.size.units)
    if sms.size.fits_one:
        return _("1 SMS · {length}").format(length=length)
    takes = ngettext("This message takes {n} SMS", "This message takes {n} SMS", sms.size.parts)
    return f"{takes.format(n=sms.size.parts)} · {length}"


def slip_language(returnee: Returnee, default: str = DEFAULT_LANGUAGE) -> str:
    """The first of the person's languages the app speaks; `default` (French) when none is."""
    return next((lang.value for lang in returnee.languages if lang.value in LANGUAGES), default)


def dialable(e164: str) -> str:
    """A number in E.164 spaced as people read it ("+223 66 89 68 87"), through phonenumbers."""
    import phonenumbers  # only when a slip is made: it is not needed to start the app

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


def make_slip(db: sqlite_utils.Database, referral_id: str) -> Slip:
    """The slip of a referral made on this device (NotFound otherwise)."""
    stored = get_referral(db, referral_id)
    referral = stored.referral
    returnee = get_returnee(db, referral.returnee_id)
    detail = service_detail(db, referral.service_id)
    office = next((o for o in detail.offices if o.region == returnee.region.value), None) or (
        detail.offices[0] if detail.offices else None
    )
    contact = next((c for c in detail.contacts if c.e164), None)
    required = list(dict.fromkeys(d.value for d in detail.eligibility.documents))
    optional = [d.value for d in dict.fromkeys(detail.eligibility.documents_if_available) if d.value not in required]
    short = detail.organization.short_name
    return Slip(
        referral_id=referral.id,
        code=referral.id[:8].upper(),
        person=returnee.full_name,
        organization=_name_people_know(detail.organization.name, short),
        partner=short or detail.organization.name,
        service=detail.service.name,
        town=office.town if office else None,
        phone=contact.e164 if contact else None,
        phone_as_written=contact.phone if contact else None,
        phone_display=dialable(contact.e164) if contact and contact.e164 else None,
        date=referral.created_at.date(),
        documents=tuple(required),
        documents_if_any=tuple(optional),
        language=slip_language(returnee),
    )


def _name_people_know(name: str, short: str | None) -> str:
    """The full name, with the acronym people will hear on the spot: "Centre de Formation … (CFPS)"."""
    return f"{name} ({short})" if short and short != name else name
