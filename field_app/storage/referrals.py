"""Referrals and their events in the local database; each write goes with its outbox entry, in one transaction.

The `status` column is a cache of `fold(events)`, recomputed whenever an event is added.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass

import sqlite_utils

from field_app.domain.referrals import EventKind, Referral, ReferralEvent, ReferralStatus, can_cancel, fold
from field_app.errors import Conflict, NotFound, StorageError
from field_app.i18n import _
from field_app.storage import outbox


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
    if event.kind is EventKind.REVOKED and not can_cancel(current.status):
        raise Conflict(_("only a queued referral can be cancelled"))
    try:
        with db.atomic():
            _insert_event(db, event)
            state = fold([*current.events, event])
            db.execute(
                "UPDATE referrals SET status = ?, flagged = ?, updated_at = ?, last_event_at = max(last_event_at, ?) "
                "WHERE id = ?",
                [
                    state.status.value,
                    json.dumps(list(state.flagged)),
                    event.at.isoformat(),
                    event.at.isoformat(),
                    event.referral_id,
                ],
            )
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
        events = [
            ReferralEvent.model_validate_json(r[0])
            for r in db.execute("SELECT document FROM referral_events WHERE referral_id = ?", [event.referral_id])
        ]
        state = fold(events)
        db.execute(
            "UPDATE referrals SET status = ?, flagged = ?, updated_at = max(updated_at, ?), "
            "last_event_at = max(last_event_at, ?) WHERE id = ?",
            [
                state.status.value,
                json.dumps(list(state.flagged)),
                event.at.isoformat(),
                event.at.isoformat(),
                event.referral_id,
            ],
        )
    return True


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
