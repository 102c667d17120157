"""Refer a returnee to a service (consent first, a second open referral only when confirmed), cancel a queued
referral, list them a page at a time with names attached.

`refer` refuses a second referral of the same person to the same service while the first is still open (not
cancelled, not closed) with `AlreadyReferred`, unless `force=True`: the confirmation screen and `field-app referral
create --force` both go through it. "My referrals" reads `referral_page` (one JOIN per page of 50, keyset paging);
`referral_lines` is the old way (every referral and its events parsed), kept as the naive reference that the
bench and the equivalence tests compare against.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

from field_app.domain.referrals import EventKind, Referral, ReferralEvent
from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import Sex
from field_app.errors import AlreadyReferred, NotFound, Problem, ValidationError
from field_app.i18n import _, format_date, pgettext
from field_app.labels import REFERRAL_STATUSES, too_long
from field_app.storage.referrals import (
    PageCursor as PageCursor,  # a page's place, for the view models (which never import storage)
)
from field_app.storage.referrals import (
    ReferralSummary as ReferralSummary,
)
from field_app.storage.referrals import (
    StoredReferral,
    add_event,
    count_referrals,
    create_referral,
    get_referral,
    list_referrals,
    open_referrals_to,
    referral_lines_page,
    referral_summary,
)
from field_app.storage.returnees import get_returnee

NOTE_MAX = 500
PAGE = 50  # lines of "My referrals" read at a time


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
    force: bool = False,
    new_id: Callable[[], str] = _uuid,
) -> Referral:
    """Queue a referral (status `queued`) with its outbox entry. The returnee must agree to share with the partner;
    while they have an open referral to this service, a second one is refused (`AlreadyReferred`) unless `force`."""
    if consent_share is not True:
        raise ValidationError(
            [Problem("consent", _("The returnee must agree to share their details with this partner."))]
        )
    note = " ".join((note or "").split()) or None
    if note is not None and len(note) > NOTE_MAX:
        raise ValidationError([Problem("note", too_long(_("Note"), NOTE_MAX))])
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
    with db.atomic():  # the look-up and the write together: no second referral slips in between
        prior = None if force else open_referral(db, returnee.id, service_id)
        if prior is not None:
            raise AlreadyReferred(already_referred_message(returnee, prior), referral_id=prior.id)
        create_referral(db, referral, created)
    return referral


def open_referral(db: sqlite_utils.Database, returnee_id: str, service_id: str) -> ReferralSummary | None:
    """The person's newest referral to this service that is still open (neither cancelled nor closed), if any."""
    found = open_referrals_to(db, returnee_id, service_id)
    return found[0] if found else None


def already_referred_message(returnee: Returnee, prior: ReferralSummary) -> str:
    """ "Fatoumata Traoré was already referred to this service on 2 December 2026 (Waiting to be sent)." — the
    participle agrees with the person in French."""
    if returnee.sex is Sex.F:
        text = pgettext("woman", "{person} was already referred to this service on {date} ({status}).")
    else:
        text = pgettext("man", "{person} was already referred to this service on {date} ({status}).")
    return text.format(
        person=returnee.full_name,
        date=format_date(prior.created_at.date()),
        status=_(REFERRAL_STATUSES[prior.status]),
    )


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
    """Every referral with its names, the old way: two queries and a parse of each referral and its events.

    The naive reference for `referral_page` (bench/referrals.py, tests/storage/test_referrals_page.py); no
    screen or command uses it any more (3.2–4.0 s at 20,000 referrals)."""
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


@dataclass(frozen=True)
class ReferralPage:
    """A page of "My referrals": its lines, where the next page starts (None: no more) and how many in all."""

    lines: list[ReferralSummary]
    next: PageCursor | None
    total: int


def referral_page(
    db: sqlite_utils.Database,
    *,
    returnee_id: str | None = None,
    limit: int = PAGE,
    after: PageCursor | None = None,
) -> ReferralPage:
    """Referrals newest first (one returnee's when given), `limit` at a time from `after`, with the total."""
    page = referral_lines_page(db, returnee_id=returnee_id, limit=limit, after=after)
    return ReferralPage(page.lines, page.next, count_referrals(db, returnee_id=returnee_id))


def summary(db: sqlite_utils.Database, referral_id: str) -> ReferralSummary:
    """One referral as a list line (NotFound otherwise)."""
    return referral_summary(db, referral_id)


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
