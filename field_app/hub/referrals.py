"""Referrals on the hub: stored as received from devices, followed by append-only events, status = fold(events).

Events come from devices (the `created` event, an agent's `revoked`), from the hub itself (`sent`, when it first
stores a referral, unless the same batch cancelled it) and from offices or supervisors (`POST
/api/v1/referrals/{id}/events`, or pushed). Event ids are unique: a retried event with the same content is a
duplicate, with other content a conflict.

**The hub orders events by receipt.** Every stored event gets a receipt rank (`referral_events.received`: a
PostgreSQL sequence, on SQLite the next number under BEGIN IMMEDIATE), drawn while the referral's row is locked,
so that a referral's events are ranked in the order the hub took them in. The fold follows that rank
(`fold(events, order)`): a device's clock only orders what the hub has not received yet, and a backdated event
(a `revoked` dated before the office's `enrolled`) comes after it and is flagged instead of undoing it. The rank
travels with every event dict the hub sends (`"received": n`): `referral_event` change data (with the
referral's `status` and `flagged` after the fold), `ReferralChange.events`, push answers, the read API.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from field_app.domain.referrals import Referral, ReferralEvent, ReferralState, fold, in_order
from field_app.hub import changes, rules
from field_app.hub.auth import Caller
from field_app.hub.db import Tx, stamp
from field_app.sync.protocol import ReferralItem

MAX_PAGE = 200
RANK_SEQUENCE = "referral_events_rank"  # PostgreSQL (hub migration 4)


class EventClash(Exception):
    """An event id already stored with other content."""


@dataclass(frozen=True)
class Ranked:
    """A stored event and its receipt rank."""

    event: ReferralEvent
    received: int


def event_dict(event: ReferralEvent, received: int) -> dict[str, Any]:
    """An event as the hub sends it: the event's JSON and its receipt rank."""
    return event.model_dump(mode="json") | {"received": received}


def order_of(events: Iterable[Ranked]) -> dict[str, int]:
    return {r.event.id: r.received for r in events}


def fold_ranked(events: list[Ranked]) -> ReferralState:
    return fold([r.event for r in events], order_of(events))


def in_hub_order(events: list[Ranked]) -> list[Ranked]:
    by_id = {r.event.id: r for r in events}
    return [by_id[e.id] for e in in_order([r.event for r in events], order_of(events))]


def draw_ranks(tx: Tx, n: int) -> list[int]:
    """`n` new receipt ranks, ascending, above every rank already stored (call once the referrals' rows are
    locked: see the module docstring)."""
    if n <= 0:
        return []
    if tx.dialect == "postgres":
        rows = tx.all(f"SELECT nextval('{RANK_SEQUENCE}') AS r FROM generate_series(1, ?)", [n])
        return sorted(int(r["r"]) for r in rows)
    row = tx.one("SELECT coalesce(max(received), 0) AS top FROM referral_events")
    top = int(row["top"]) if row is not None else 0
    return list(range(top + 1, top + n + 1))


def visible_to(caller: Caller, row: dict[str, Any]) -> bool:
    return rules.visible_to(caller, row)


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    region: str | None = None
    device: str | None = None
    since: dt.datetime | None = None


def sent_event_id(referral_id: str) -> str:
    """The hub's `sent` event id: the same on every hub process and every retry."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, referral_id + "/sent"))


def get_row(tx: Tx, referral_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    """The referral's row; `lock`: locked until the transaction ends (PostgreSQL), before adding events."""
    return tx.one(f"SELECT * FROM referrals WHERE id = ?{tx.for_update if lock else ''}", [referral_id])


def ranked_events(tx: Tx, referral_ids: list[str]) -> dict[str, list[Ranked]]:
    """The stored events of these referrals with their ranks (one query per 500 referrals)."""
    out: dict[str, list[Ranked]] = {i: [] for i in referral_ids}
    for start in range(0, len(referral_ids), 500):
        chunk = referral_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for r in tx.all(
            f"SELECT referral_id, document, received FROM referral_events WHERE referral_id IN ({marks})", chunk
        ):
            out[r["referral_id"]].append(Ranked(ReferralEvent.model_validate_json(r["document"]), int(r["received"])))
    return out


def events_of(tx: Tx, referral_id: str) -> list[ReferralEvent]:
    return [r.event for r in ranked_events(tx, [referral_id])[referral_id]]


def get_event(tx: Tx, event_id: str) -> ReferralEvent | None:
    row = tx.one("SELECT document FROM referral_events WHERE id = ?", [event_id])
    return None if row is None else ReferralEvent.model_validate_json(row["document"])


INSERT_REFERRAL = (
    "INSERT INTO referrals (id, returnee_id, service_id, organization_id, region, device_id, document, status, "
    "flagged, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', '[]', ?, ?)"
)
REFERRAL_COLUMNS = (
    "id", "returnee_id", "service_id", "organization_id", "region", "device_id", "document", "created_at",
    "updated_at", "status", "flagged",
)  # fmt: skip
EVENT_COLUMNS = ("id", "referral_id", "kind", "at", "source", "document", "received_at", "received")
UPDATE_STATUS = "UPDATE referrals SET status = ?, flagged = ?, updated_at = ? WHERE id = ?"


def referral_params(referral: Referral, *, device_id: str, now: dt.datetime) -> list[Any]:
    return [
        referral.id,
        referral.returnee_id,
        referral.service_id,
        referral.organization_id,
        referral.region,
        device_id,
        referral.model_dump_json(),
        stamp(referral.created_at),
        stamp(now),
    ]


def event_params(event: ReferralEvent, received: int, *, source: str, now: dt.datetime) -> list[Any]:
    return [
        event.id,
        event.referral_id,
        event.kind.value,
        stamp(event.at),
        source,
        event.model_dump_json(),
        stamp(now),
        received,
    ]


def event_change(
    event: ReferralEvent, received: int, state: ReferralState, row: dict[str, Any], *, origin: str | None
) -> changes.Row:
    """The `referral_event` change of a stored event: the event, its rank, the referral's state after the fold."""
    data = event_dict(event, received) | {"status": state.status.value, "flagged": list(state.flagged)}
    return changes.Row(
        "referral_event", event.id, "upsert", data, region=row["region"], device_id=row["device_id"], origin=origin
    )


def insert_referral(tx: Tx, referral: Referral, *, device_id: str, now: dt.datetime) -> None:
    tx.execute(INSERT_REFERRAL, referral_params(referral, device_id=device_id, now=now))


def add_events(
    tx: Tx,
    row: dict[str, Any],
    new: list[ReferralEvent],
    *,
    source: str,
    now: dt.datetime,
    origin: str | None = None,
) -> tuple[list[ReferralEvent], ReferralState]:
    """Store the events not stored yet (EventClash when an id is taken by other content), ranked in this order
    after every event already stored, refold the status in hub order, and log one change per stored event
    (`origin`: the pushing device, whose push answer carries them). Returns (events stored, state). Locks the
    referral's row first (PostgreSQL), so that concurrent events on one referral are ranked and folded in turn."""
    get_row(tx, row["id"], lock=True)
    stored_before = ranked_events(tx, [row["id"]])[row["id"]]
    known = {r.event.id: r.event for r in stored_before}
    fresh: list[ReferralEvent] = []
    for event in new:
        existing = known.get(event.id) or get_event(tx, event.id)
        if existing is not None:
            if existing != event:
                raise EventClash(event.id)
            continue
        if all(e.id != event.id for e in fresh):
            fresh.append(event)
    ranked = [Ranked(e, r) for e, r in zip(fresh, draw_ranks(tx, len(fresh)), strict=True)]
    state = fold_ranked(stored_before + ranked)
    if ranked:
        tx.insert_many(
            "referral_events",
            EVENT_COLUMNS,
            [event_params(r.event, r.received, source=source, now=now) for r in ranked],
        )
        tx.execute(UPDATE_STATUS, [state.status.value, json.dumps(list(state.flagged)), stamp(now), row["id"]])
        changes.append_many(tx, [event_change(r.event, r.received, state, row, origin=origin) for r in ranked], now=now)
    return fresh, state


def item(tx: Tx, row: dict[str, Any]) -> ReferralItem:
    events = in_hub_order(ranked_events(tx, [row["id"]])[row["id"]])
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
        events=[event_dict(r.event, r.received) for r in events],
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
