"""Refer a returnee to a service (consent first), cancel a queued referral, list them with names attached."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from field_app.domain.referrals import EventKind, Referral, ReferralEvent
from field_app.errors import NotFound, Problem, ValidationError
from field_app.i18n import _
from field_app.storage.referrals import StoredReferral, add_event, create_referral, get_referral, list_referrals
from field_app.storage.returnees import get_returnee

NOTE_MAX = 500


def _uuid() -> str:
    return str(uuid.uuid4())


def refer(
    db: sqlite_utils.Database,
    *,
    returnee_id: str,
    service_id: str,
    consent_share: bool,
    now: dt.datetime,
    note: str | None = None,
    new_id: Callable[[], str] = _uuid,
) -> Referral:
    """Queue a referral (status `queued`) with its outbox entry. The returnee must agree to share with the partner."""
    if consent_share is not True:
        raise ValidationError(
            [Problem("consent", _("The returnee must agree to share their details with this partner."))]
        )
    note = " ".join((note or "").split()) or None
    if note is not None and len(note) > NOTE_MAX:
        raise ValidationError(
            [Problem("note", _("{label} is too long (at most {n} characters).").format(label=_("Note"), n=NOTE_MAX))]
        )
    returnee = get_returnee(db, returnee_id)
    row = db.execute("SELECT organization_id FROM services WHERE id = ?", [service_id]).fetchone()
    if row is None:
        raise NotFound(_("no service with id {id}").format(id=service_id))
    referral = Referral(
        id=new_id(),
        returnee_id=returnee.id,
        service_id=service_id,
        organization_id=row[0],
        region=returnee.region.value,
        consent_share_at=now,
        created_at=now,
        note=note,
    )
    created = ReferralEvent(id=new_id(), referral_id=referral.id, kind=EventKind.CREATED, at=now)
    create_referral(db, referral, created)
    return referral


def cancel(
    db: sqlite_utils.Database, referral_id: str, *, now: dt.datetime, new_id: Callable[[], str] = _uuid
) -> StoredReferral:
    """Cancel a referral that is still queued on this phone (a `revoked` event, queued for the hub too)."""
    get_referral(db, referral_id)
    return add_event(db, ReferralEvent(id=new_id(), referral_id=referral_id, kind=EventKind.REVOKED, at=now))


@dataclass(frozen=True)
class ReferralLine:
    """A referral with the names a person recognises."""

    stored: StoredReferral
    returnee_name: str
    organization: str
    service: str


def referral_lines(db: sqlite_utils.Database, returnee_id: str | None = None) -> list[ReferralLine]:
    names = {
        r[0]: (r[1], r[2])
        for r in db.execute(
            "SELECT s.id, o.name, s.name FROM services s JOIN organizations o ON o.id = s.organization_id"
        ).fetchall()
    }
    people = {r[0]: f"{r[1]} {r[2]}" for r in db.execute("SELECT id, given_name, family_name FROM returnees")}
    lines = []
    for stored in list_referrals(db, returnee_id):
        org, service = names.get(
            stored.referral.service_id, (stored.referral.organization_id, stored.referral.service_id)
        )
        lines.append(ReferralLine(stored, people.get(stored.referral.returnee_id, "?"), org, service))
    return lines


def get(db: sqlite_utils.Database, referral_id: str) -> StoredReferral:
    """A stored referral and its current status (NotFound otherwise)."""
    return get_referral(db, referral_id)


def returnee_of_event(db: sqlite_utils.Database, event_id: str) -> str | None:
    """The returnee of the referral an event belongs to (None when the event is not stored here)."""
    row = db.execute(
        "SELECT r.returnee_id FROM referral_events e JOIN referrals r ON r.id = e.referral_id WHERE e.id = ?",
        [event_id],
    ).fetchone()
    return str(row[0]) if row and row[0] else None
