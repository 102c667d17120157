"""A partner's service as the detail screen and the referral slip need it: offer, conditions, costs, contacts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from field_app.domain.directory import CostOption, Eligibility, Organization, Service
from field_app.errors import NotFound
from field_app.i18n import _


@dataclass(frozen=True)
class ContactLine:
    """One way to reach the partner; `links` are ready for the phone (tel:, sms:, WhatsApp, mailto:)."""

    who: str
    phone: str | None  # as written in the source
    e164: str | None
    email: str | None

    @property
    def tel(self) -> str | None:
        return f"tel:{self.e164}" if self.e164 else None

    @property
    def sms(self) -> str | None:
        return f"sms:{self.e164}" if self.e164 else None

    @property
    def whatsapp(self) -> str | None:
        return f"https://wa.me/{self.e164.lstrip('+')}" if self.e164 else None

    @property
    def mailto(self) -> str | None:
        return f"mailto:{self.email}" if self.email else None


@dataclass(frozen=True)
class Office:
    name: str | None
    town: str
    region: str
    address: str | None


@dataclass(frozen=True)
class ServiceDetail:
    organization: Organization
    service: Service
    eligibility: Eligibility
    costs: list[CostOption]
    offices: list[Office]
    contacts: list[ContactLine]
    assured_date: dt.date


def service_detail(db: sqlite_utils.Database, service_id: str) -> ServiceDetail:
    """Everything known about one service, read from the local directory."""
    row = db.execute(
        "SELECT o.document FROM services s JOIN organizations o ON o.id = s.organization_id WHERE s.id = ?",
        [service_id],
    ).fetchone()
    if row is None:
        raise NotFound(_("no service with id {id}").format(id=service_id))
    org = Organization.model_validate_json(row[0])
    local_id = service_id.split("/", 1)[1]
    service = next(s for s in org.services if s.id == local_id)
    towns = {r[0]: r[1] for r in db.execute("SELECT id, name FROM localities").fetchall()}
    offices = [
        Office(loc.name, towns.get(loc.locality, loc.locality), loc.region.value, loc.address)
        for loc in org.locations_of(service)
    ]
    return ServiceDetail(
        organization=org,
        service=service,
        eligibility=org.service_eligibility(service),
        costs=org.costs_of(service),
        offices=offices,
        contacts=contact_lines(org),
        assured_date=org.assured_date,
    )


def contact_lines(org: Organization) -> list[ContactLine]:
    """Focal points first (a named person answers), then the organisation's own lines and e-mails."""
    lines: list[ContactLine] = []
    for contact in org.contacts:
        who = ", ".join(filter(None, [contact.name, contact.title]))
        count = max(len(contact.phones), len(contact.emails), 1)
        for i in range(count):
            phone = contact.phones[i] if i < len(contact.phones) else None
            email = contact.emails[i] if i < len(contact.emails) else None
            if phone or email:
                lines.append(
                    ContactLine(who, phone.as_written if phone else None, phone.e164 if phone else None, email)
                )
    for phone in org.phones:
        lines.append(ContactLine(org.short_name or org.name, phone.as_written, phone.e164, None))
    for email in org.emails:
        lines.append(ContactLine(org.short_name or org.name, None, None, email))
    return lines
