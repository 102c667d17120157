"""Referrals and their events in the local database; each write goes with its outbox entry, in one transaction.

The `status`, `flagged`, `last_event_at`, `follow_up`, `reason` and `outcome` columns are caches of the events,
recomputed (`refresh`) whenever an event is added here or merged from the hub. Referrals made on other devices
(an office's region, a supervisor's country) arrive as pulled `referral` changes (`put_pulled_referral`): they
keep the device that made them in `origin_device` and the person, when shared, in `shared_persons`.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass

import sqlite_utils

from field_app.domain.referrals import (
    OPEN,
    EventKind,
    Referral,
    ReferralEvent,
    ReferralStatus,
    can_cancel,
    fold,
    in_order,
)
from field_app.errors import Conflict, NotFound, StorageError
from field_app.i18n import _
from field_app.storage import outbox
from field_app.storage.shared_persons import put_shared_person
from field_app.sync.protocol import ReferralChange


@dataclass(frozen=True)
class StoredReferral:
    referral: Referral
    status: ReferralStatus
    events: tuple[ReferralEvent, ...]
    updated_at: dt.datetime


def create_referral(db: sqlite_utils.Database, referral: Referral, created: ReferralEvent) -> None:
    """Write a queued referral, its `created` event and its outbox entry: all three or none."""
    if created.kind is not EventKind.CREATED or created.referral_id != referral.id:
        raise ValueError("the first event must be this referral's `created` event")
    try:
        with db.atomic():
            db.table("referrals").insert(
                {
                    "id": referral.id,
                    "returnee_id": referral.returnee_id,
                    "service_id": referral.service_id,
                    "organization_id": referral.organization_id,
                    "region": referral.region,
                    "status": ReferralStatus.QUEUED.value,
                    "flagged": "[]",
                    "document": referral.model_dump_json(),
                    "created_at": referral.created_at.isoformat(),
                    "updated_at": created.at.isoformat(),
                    "last_event_at": created.at.isoformat(),
                    "code": referral.id[:8].upper(),
                }
            )
            _insert_event(db, created)
            outbox.enqueue(
                db,
                entity="referral",
                entity_id=referral.id,
                op="create",
                payload={"referral": referral.model_dump(mode="json"), "events": [created.model_dump(mode="json")]},
                now=created.at,
            )
    except sqlite3.IntegrityError as exc:
        raise Conflict(_("this referral already exists, or its returnee is unknown")) from exc
    except sqlite3.Error as exc:
        raise StorageError(_("could not save: {reason}").format(reason=exc)) from exc


def add_event(db: sqlite_utils.Database, event: ReferralEvent) -> StoredReferral:
    """Append an event made on this device (e.g. `revoked`), refresh the status, queue it for the hub."""
    current = get_referral(db, event.referral_id)
    if event.actor is None:  # the hub records who made each event: this device, once it is enrolled
        device = db.execute("SELECT device_id FROM sync_state WHERE id = 1").fetchone()
        if device is not None:
            event = event.model_copy(update={"actor": device[0]})
    if event.kind is EventKind.REVOKED and not can_cancel(current.status):
        raise Conflict(_("only a queued referral can be cancelled"))
    try:
        with db.atomic():
            _insert_event(db, event)
            refresh(db, event.referral_id)
            outbox.enqueue(
                db,
                entity="referral_event",
                entity_id=event.id,
                op="append",
                payload=event.model_dump(mode="json"),
                now=event.at,
            )
    except sqlite3.Error as exc:
        raise StorageError(_("could not save: {reason}").format(reason=exc)) from exc
    return get_referral(db, event.referral_id)


def merge_event(db: sqlite_utils.Database, event: ReferralEvent) -> bool:
    """Take in an event that came from the hub (e.g. `sent`, or the office's `accepted`): insert it unless it is
    already here, then re-fold the referral's status. Nothing is queued (the hub has it). Returns False when the
    event was already known or its referral is not on this device. Runs inside the caller's transaction."""
    if db.execute("SELECT 1 FROM referrals WHERE id = ?", [event.referral_id]).fetchone() is None:
        return False
    if db.execute("SELECT 1 FROM referral_events WHERE id = ?", [event.id]).fetchone() is not None:
        return False
    with db.atomic():
        _insert_event(db, event)
        refresh(db, event.referral_id)
    return True


def put_pulled_referral(db: sqlite_utils.Database, change: ReferralChange, *, now: dt.datetime) -> bool:
    """Take in a referral as the hub holds it (a pulled `referral` change): insert it when it is new here (made
    on another device: `origin_device` = that device), add the events this device lacks, re-fold, and store the
    person when the hub shared them. A referral made on this device keeps its own row. Runs inside the caller's
    transaction; returns True (the change was used)."""
    referral = Referral.model_validate({k: v for k, v in change.referral.items() if k in Referral.model_fields})
    events = [
        ReferralEvent.model_validate({k: v for k, v in e.items() if k in ReferralEvent.model_fields})
        for e in change.events
    ]
    if any(e.referral_id != referral.id for e in events):
        raise ValueError("an event of another referral came with this referral")
    with db.atomic():
        if change.person is not None:
            put_shared_person(db, change.person, now=now)
        if db.execute("SELECT 1 FROM referrals WHERE id = ?", [referral.id]).fetchone() is None:
            first = min((e.at for e in events), default=referral.created_at)
            db.table("referrals").insert(
                {
                    "id": referral.id,
                    "returnee_id": referral.returnee_id,
                    "service_id": referral.service_id,
                    "organization_id": referral.organization_id,
                    "region": referral.region,
                    "status": change.status,
                    "flagged": json.dumps(change.flagged),
                    "document": referral.model_dump_json(),
                    "created_at": referral.created_at.isoformat(),
                    "updated_at": first.isoformat(),
                    "last_event_at": first.isoformat(),
                    "code": referral.id[:8].upper(),
                    "origin_device": change.device_id,
                }
            )
        known = {r[0] for r in db.execute("SELECT id FROM referral_events WHERE referral_id = ?", [referral.id])}
        for event in events:
            if event.id not in known:
                _insert_event(db, event)
                known.add(event.id)
        refresh(db, referral.id)
    return True


def refresh(db: sqlite_utils.Database, referral_id: str) -> None:
    """Recompute a referral's cached columns from all its events: status and flagged events (the fold),
    `last_event_at`/`updated_at` (the latest event), and `follow_up`, `reason`, `outcome` as set by the latest
    event (in fold order) that carried one and was not flagged. Inside the caller's transaction."""
    events = [
        ReferralEvent.model_validate_json(r[0])
        for r in db.execute("SELECT document FROM referral_events WHERE referral_id = ?", [referral_id])
    ]
    if not events:
        return
    state = fold(events)
    flagged = set(state.flagged)
    follow_up = reason = outcome = None
    for event in in_order(events):
        if event.id in flagged:
            continue
        follow_up = event.follow_up or follow_up
        reason = event.reason or reason
        outcome = event.outcome or outcome
    last = max(e.at for e in events).isoformat()
    db.execute(
        "UPDATE referrals SET status = ?, flagged = ?, updated_at = max(updated_at, ?), last_event_at = ?, "
        "follow_up = ?, reason = ?, outcome = ? WHERE id = ?",
        [
            state.status.value,
            json.dumps(list(state.flagged)),
            last,
            last,
            follow_up.isoformat() if follow_up else None,
            reason.value if reason else None,
            outcome.value if outcome else None,
            referral_id,
        ],
    )


def _insert_event(db: sqlite_utils.Database, event: ReferralEvent) -> None:
    db.table("referral_events").insert(
        {
            "id": event.id,
            "referral_id": event.referral_id,
            "kind": event.kind.value,
            "at": event.at.isoformat(),
            "document": event.model_dump_json(),
        }
    )


def get_referral(db: sqlite_utils.Database, referral_id: str) -> StoredReferral:
    row = db.execute("SELECT document, status, updated_at FROM referrals WHERE id = ?", [referral_id]).fetchone()
    if row is None:
        raise NotFound(_("no referral with id {id}").format(id=referral_id))
    events = tuple(
        ReferralEvent.model_validate_json(r[0])
        for r in db.execute("SELECT document FROM referral_events WHERE referral_id = ? ORDER BY at, id", [referral_id])
    )
    return StoredReferral(
        Referral.model_validate_json(row[0]), ReferralStatus(row[1]), events, dt.datetime.fromisoformat(row[2])
    )


def list_referrals(db: sqlite_utils.Database, returnee_id: str | None = None) -> list[StoredReferral]:
    """Newest first; only one returnee's when `returnee_id` is given."""
    where, params = ("WHERE returnee_id = ?", [returnee_id]) if returnee_id else ("", [])
    ids = [r[0] for r in db.execute(f"SELECT id FROM referrals {where} ORDER BY created_at DESC, id", params)]
    return [get_referral(db, i) for i in ids]


# --- lines of "My referrals": one JOIN per page --------------------------------------------------------------------


@dataclass(frozen=True)
class ReferralSummary:
    """A referral as a list shows it, read with the names a person recognises in one JOIN (no events, no parse
    of the referral's document). `returnee_name` is None when the person is not on this device; `organization`
    and `service` are the ids when the directory no longer has that service."""

    id: str
    code: str
    status: ReferralStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    returnee_id: str
    returnee_name: str | None
    service_id: str
    organization_id: str
    organization: str
    service: str
    note: str | None


@dataclass(frozen=True)
class PageCursor:
    """Where the next page starts: just after this (created_at, id), newest first (values as stored)."""

    created_at: str
    id: str


@dataclass(frozen=True)
class SummaryPage:
    lines: list[ReferralSummary]
    next: PageCursor | None  # None: this was the last page


_SUMMARY = (
    "SELECT r.id, r.code, r.status, r.created_at, r.updated_at, r.returnee_id, "
    "p.given_name || ' ' || p.family_name, r.service_id, r.organization_id, o.name, s.name, "
    "json_extract(r.document, '$.note') "
    "FROM referrals r "
    "LEFT JOIN returnees p ON p.id = r.returnee_id "
    "LEFT JOIN services s ON s.id = r.service_id "
    "LEFT JOIN organizations o ON o.id = s.organization_id "
)


def _summary(row: tuple[object, ...]) -> ReferralSummary:
    rid, code, status, created, updated, returnee_id, name, service_id, org_id, org, service, note = row
    return ReferralSummary(
        id=str(rid),
        code=str(code),
        status=ReferralStatus(str(status)),
        created_at=dt.datetime.fromisoformat(str(created)),
        updated_at=dt.datetime.fromisoformat(str(updated)),
        returnee_id=str(returnee_id),
        returnee_name=str(name) if name is not None else None,
        service_id=str(service_id),
        organization_id=str(org_id),
        organization=str(org) if org is not None else str(org_id),
        service=str(service) if service is not None else str(service_id),
        note=str(note) if note is not None else None,
    )


def referral_lines_page(
    db: sqlite_utils.Database, *, returnee_id: str | None = None, limit: int = 50, after: PageCursor | None = None
) -> SummaryPage:
    """A page of referrals, newest first (one returnee's when `returnee_id` is given), starting after `after`.

    One query: keyset paging along `referrals_newest` (created_at, id) or `referrals_returnee_newest`, so the
    50th page costs what the first does; the names come from the primary keys of returnees, services and
    organisations. One row more than asked says whether there is a next page."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    where: list[str] = []
    params: list[object] = []
    if returnee_id is not None:
        where.append("r.returnee_id = ?")
        params.append(returnee_id)
    if after is not None:
        where.append("(r.created_at, r.id) < (?, ?)")
        params += [after.created_at, after.id]
    sql = _SUMMARY + (f"WHERE {' AND '.join(where)} " if where else "")
    sql += "ORDER BY r.created_at DESC, r.id DESC LIMIT ?"
    rows = db.execute(sql, [*params, limit + 1]).fetchall()
    lines = [_summary(r) for r in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    return SummaryPage(lines, PageCursor(str(last[3]), str(last[0])) if last is not None else None)


def count_referrals(db: sqlite_utils.Database, *, returnee_id: str | None = None) -> int:
    """How many referrals there are (one returnee's when given): counted on an index, not read."""
    if returnee_id is None:
        return int(db.execute("SELECT count(*) FROM referrals").fetchone()[0])
    return int(db.execute("SELECT count(*) FROM referrals WHERE returnee_id = ?", [returnee_id]).fetchone()[0])


def referral_summary(db: sqlite_utils.Database, referral_id: str) -> ReferralSummary:
    """One referral as a line (NotFound otherwise): a list redraws the line it changed."""
    row = db.execute(_SUMMARY + "WHERE r.id = ?", [referral_id]).fetchone()
    if row is None:
        raise NotFound(_("no referral with id {id}").format(id=referral_id))
    return _summary(row)


def open_referrals_to(db: sqlite_utils.Database, returnee_id: str, service_id: str) -> list[ReferralSummary]:
    """The person's referrals to this service that are still open (neither cancelled nor closed), newest first;
    read through `referrals_returnee_service` (returnee_id, service_id, status)."""
    marks = ", ".join("?" for _ in OPEN_STATUSES)
    rows = db.execute(
        _SUMMARY + f"WHERE r.returnee_id = ? AND r.service_id = ? AND r.status IN ({marks}) "
        "ORDER BY r.created_at DESC, r.id DESC",
        [returnee_id, service_id, *OPEN_STATUSES],
    ).fetchall()
    return [_summary(r) for r in rows]


OPEN_STATUSES = tuple(sorted(s.value for s in OPEN))
