"""Referrals on the hub: stored as received from devices, followed by append-only events, status = fold(events).

Events come from devices (the `created` event, an agent's `revoked`), from the hub itself (`sent`, when it first
stores a referral, unless the same batch cancelled it) and from offices or supervisors (`POST
/api/v1/referrals/{id}/events`). Each stored event is also a `referral_event` change (the event JSON plus the
referral's `status` and `flagged` after the fold), which is how the agent's phone and the region's office learn
about it. Event ids are unique: a retried event with the
same content is a duplicate, with other content a conflict.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from field_app.domain.referrals import (
    AGENT_KINDS,
    OFFICE_KINDS,
    Referral,
    ReferralEvent,
    ReferralState,
    fold,
    in_order,
)
from field_app.domain.workflow import check_details
from field_app.hub import changes
from field_app.hub.auth import Caller
from field_app.hub.db import Tx, stamp
from field_app.sync.protocol import ReferralItem

MAX_PAGE = 200


class EventClash(Exception):
    """An event id already stored with other content."""


class EventRefused(Exception):
    """An event this caller may not make, or that lacks what its kind needs (a reason, an outcome, a note)."""

    def __init__(self, code: str, reason: str, field: str | None = None):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field


def check_event(caller: Caller, event: ReferralEvent) -> None:
    """Who may send this event, and what it must carry (the status is the fold's business: an event that the
    status no longer allows is stored and flagged, never refused, so that conflicts show on every side)."""
    allowed = AGENT_KINDS if caller.role == "agent" else OFFICE_KINDS | AGENT_KINDS
    if event.kind not in allowed:
        raise EventRefused("forbidden", f"a {caller.role} device may not send `{event.kind.value}` events", "kind")
    if event.actor is not None and event.actor != caller.id:
        raise EventRefused("forbidden", "actor: an event's actor is the device that sends it", "actor")
    issues = check_details(event.kind, reason=event.reason, outcome=event.outcome, note=event.note)
    if issues:
        first = issues[0]
        words = "; ".join(f"{i.field}: {i.problem.value}" for i in issues)
        raise EventRefused("invalid_payload", words, first.field)


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    region: str | None = None
    device: str | None = None
    since: dt.datetime | None = None


def sent_event_id(referral_id: str) -> str:
    """The hub's `sent` event id: the same on every hub process and every retry."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, referral_id + "/sent"))


def get_row(tx: Tx, referral_id: str) -> dict[str, Any] | None:
    return tx.one("SELECT * FROM referrals WHERE id = ?", [referral_id])


def events_of(tx: Tx, referral_id: str) -> list[ReferralEvent]:
    return [
        ReferralEvent.model_validate_json(r["document"])
        for r in tx.all("SELECT document FROM referral_events WHERE referral_id = ?", [referral_id])
    ]


def get_event(tx: Tx, event_id: str) -> ReferralEvent | None:
    row = tx.one("SELECT document FROM referral_events WHERE id = ?", [event_id])
    return None if row is None else ReferralEvent.model_validate_json(row["document"])


def visible_to(caller: Caller, row: dict[str, Any]) -> bool:
    if caller.role == "supervisor":
        return True
    if caller.role == "office":
        return bool(row["region"] == caller.region)
    return bool(row["device_id"] == caller.id)


def insert_referral(tx: Tx, referral: Referral, *, device_id: str, now: dt.datetime) -> None:
    tx.execute(
        "INSERT INTO referrals (id, returnee_id, service_id, organization_id, region, device_id, document, status, "
        "flagged, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', '[]', ?, ?)",
        [
            referral.id,
            referral.returnee_id,
            referral.service_id,
            referral.organization_id,
            referral.region,
            device_id,
            referral.model_dump_json(),
            stamp(referral.created_at),
            stamp(now),
        ],
    )


def add_events(
    tx: Tx, row: dict[str, Any], new: list[ReferralEvent], *, source: str, now: dt.datetime
) -> tuple[list[ReferralEvent], ReferralState]:
    """Store the events not stored yet (EventClash when an id is taken by other content), refold the status, and
    log one change per stored event. Returns (events stored, state)."""
    tx.lock_changes()  # before any write: a writer never waits for this lock while holding row locks
    stored: list[ReferralEvent] = []
    for event in new:
        existing = get_event(tx, event.id)
        if existing is not None:
            if existing != event:
                raise EventClash(event.id)
            continue
        tx.execute(
            "INSERT INTO referral_events (id, referral_id, kind, at, source, document, received_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                event.id,
                event.referral_id,
                event.kind.value,
                stamp(event.at),
                source,
                event.model_dump_json(),
                stamp(now),
            ],
        )
        stored.append(event)
    state = fold(events_of(tx, row["id"]))
    if stored:
        tx.execute(
            "UPDATE referrals SET status = ?, flagged = ?, updated_at = ? WHERE id = ?",
            [state.status.value, json.dumps(list(state.flagged)), stamp(now), row["id"]],
        )
        for event in stored:
            data = event.model_dump(mode="json") | {"status": state.status.value, "flagged": list(state.flagged)}
            changes.append(
                tx,
                entity="referral_event",
                entity_id=event.id,
                op="upsert",
                data=data,
                now=now,
                region=row["region"],
                device_id=row["device_id"],
            )
    return stored, state


def item(tx: Tx, row: dict[str, Any]) -> ReferralItem:
    events = in_order(events_of(tx, row["id"]))
    return ReferralItem(
        id=row["id"],
        returnee_id=row["returnee_id"],
        service_id=row["service_id"],
        organization_id=row["organization_id"],
        region=row["region"],
        status=row["status"],
        flagged=json.loads(row["flagged"]),
        device_id=row["device_id"],
        created_at=Referral.model_validate_json(row["document"]).created_at,
        updated_at=_parse_stamp(row["updated_at"]),
        events=[e.model_dump(mode="json") for e in events],
    )


def _parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def encode_cursor(n: int) -> str:
    return base64.urlsafe_b64encode(f"r{n}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position in an opaque page cursor; ValueError when it is not one of ours."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("not a page cursor") from exc
    if not text.startswith("r") or not text[1:].isdigit():
        raise ValueError("not a page cursor")
    return int(text[1:])


def page(tx: Tx, caller: Caller, filters: Filters, *, after: int, limit: int) -> tuple[list[ReferralItem], int | None]:
    """One page of referrals in the caller's scope, oldest first (keyset on the hub's arrival order): the items
    and the position to continue after, None at the end."""
    where: list[str] = ["n > ?"]
    params: list[Any] = [after]
    if caller.role == "office":
        where.append("region = ?")
        params.append(caller.region)
    for column, value in (("status", filters.status), ("region", filters.region), ("device_id", filters.device)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if filters.since is not None:
        where.append("updated_at >= ?")
        params.append(stamp(filters.since))
    rows = tx.all(f"SELECT * FROM referrals WHERE {' AND '.join(where)} ORDER BY n LIMIT ?", [*params, limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return [item(tx, r) for r in rows], (int(rows[-1]["n"]) if more else None)
