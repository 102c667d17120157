"""Referrals and their events in the local database; each write goes with its outbox entry, in one transaction.

The `status`, `flagged`, `last_event_at`, `follow_up`, `reason` and `outcome` columns are caches of the events,
recomputed (`refresh`) whenever an event is added here or merged from the hub. Referrals made on other devices
(an office's region, a supervisor's country) arrive as pulled `referral` changes (`put_pulled_referral`): they
keep the device that made them in `origin_device` and the person, when shared, in `shared_persons`.

The hub's event order (issue 10). Every event the hub holds has a receipt rank (`received` in what the hub sends:
pulled `referral_event` changes, the events of a pulled `referral` change, the events of a push answer); it is
stored in `referral_events.hub_order` and the fold follows it (`domain.referrals.fold(events, order)`): `created`
first, then the hub's order, then the events only this device has (still waiting in the outbox) by time. So a
device whose clock is wrong, or an event made offline long ago, cannot reorder what the hub already decided: a
backdated `revoked` that reaches the hub after an office's `enrolled` stays flagged on every device, as on the hub.
Events at the hub but held without a rank (received before the hub ranked events: a device upgraded from before
issue 10, or a hub not upgraded yet) are folded by time ahead of every ranked one, as the hub ranked them
(`_events`).
What the hub sends about an event it holds is taken as it is, also for an event this device already has: its
rank (and its document, e.g. the `sent` the hub made again after a restore) overwrite the stored ones, so that
after a reconcile (ranks cleared, a full pull) the device folds with the new database's ranks only.
A push answer (`merge_push_answer`, called by the sync engine inside each batch's checkpoint) carries the
referral's events as the hub holds them: the hub's `sent` and the ranks of this device's own events come that
way, never by pull (the hub leaves a device's own referral rows out of its pulls).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pydantic
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
from field_app.sync.protocol import OpResult, ReferralChange

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredReferral:
    referral: Referral
    status: ReferralStatus
    events: tuple[ReferralEvent, ...]  # in fold order (`in_order(events, order)`)
    updated_at: dt.datetime
    # event id -> its place in the fold: the hub's receipt rank; below those, events held without one (`_events`)
    order: Mapping[str, int] = field(default_factory=dict)


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
            outbox.enqueue(
                db,
                entity="referral_event",
                entity_id=event.id,
                op="append",
                payload=event.model_dump(mode="json"),
                now=event.at,
            )
            refresh(db, event.referral_id)  # after the outbox entry: the fold sees the event is still to send
    except sqlite3.Error as exc:
        raise StorageError(_("could not save: {reason}").format(reason=exc)) from exc
    return get_referral(db, event.referral_id)


def merge_event(db: sqlite_utils.Database, event: ReferralEvent, *, received: int | None = None) -> bool:
    """Take in an event that came from the hub (e.g. `sent`, or the office's `accepted`, a pulled `referral_event`
    change), with its hub receipt rank `received` (None from a hub older than issue 10): insert it unless it is
    already here, or else take the hub's rank and document for it; then re-fold the referral's status. Nothing is
    queued (the hub has it). Returns False when nothing changed (the event already known as the hub sends it) or
    its referral is not on this device. Runs inside the caller's transaction."""
    if db.execute("SELECT 1 FROM referrals WHERE id = ?", [event.referral_id]).fetchone() is None:
        return False
    with db.atomic():
        changed = _take(db, event, received)
        if changed:
            refresh(db, event.referral_id)
    return changed


def put_pulled_referral(db: sqlite_utils.Database, change: ReferralChange, *, now: dt.datetime) -> bool:
    """Take in a referral as the hub holds it (a pulled `referral` change): insert it when it is new here (made
    on another device: `origin_device` = that device), add the events this device lacks and take the hub's rank
    (and document) for those it has, re-fold, and store the person when the hub shared them. A referral made on
    this device keeps its own row. Runs inside the caller's transaction; returns True (the change was used)."""
    referral = Referral.model_validate({k: v for k, v in change.referral.items() if k in Referral.model_fields})
    events = hub_events(change.events)
    if any(e.referral_id != referral.id for e, _rank in events):
        raise ValueError("an event of another referral came with this referral")
    with db.atomic():
        if change.person is not None:
            put_shared_person(db, change.person, now=now)
        if db.execute("SELECT 1 FROM referrals WHERE id = ?", [referral.id]).fetchone() is None:
            first = min((e.at for e, _rank in events), default=referral.created_at)
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
        for event, rank in events:
            _take(db, event, rank)
        refresh(db, referral.id)
    return True


def merge_push_answer(db: sqlite_utils.Database, result: OpResult) -> bool:
    """Take in the hub's answer to one pushed referral / referral_event op (`applied` or `duplicate`): the
    referral's events as the hub holds them, each with its receipt rank (the hub's `sent` included, and this
    device's own events, now ranked), then re-fold. The sync engine calls it for each such answer inside the
    batch's checkpoint transaction. True when it changed something; False, writing nothing, when the events are
    already here as the hub sent them, or the answer carries no events, is about a referral this device does not
    hold, or carries events that are not valid (logged without their content: the op is done either way)."""
    if result.result == "rejected" or not result.events:
        return False
    try:
        events = hub_events(result.events)
    except (pydantic.ValidationError, ValueError):
        log.warning("push answer for op %s: events not valid, not merged", result.op_id)
        return False
    referral_ids = {e.referral_id for e, _rank in events}
    if len(referral_ids) != 1:
        log.warning("push answer for op %s: events of %d referrals, not merged", result.op_id, len(referral_ids))
        return False
    (referral_id,) = referral_ids
    if db.execute("SELECT 1 FROM referrals WHERE id = ?", [referral_id]).fetchone() is None:
        return False
    with db.atomic():
        changed = [_take(db, event, rank) for event, rank in events]
        if any(changed):
            refresh(db, referral_id)
    return any(changed)


def hub_events(dicts: Iterable[Mapping[str, Any]]) -> list[tuple[ReferralEvent, int | None]]:
    """Events as the hub sends them (the event's fields and `received`, its receipt rank, plus what a change
    row adds, e.g. `status`): each event with its rank (None when the hub did not give one)."""
    out: list[tuple[ReferralEvent, int | None]] = []
    for d in dicts:
        event = ReferralEvent.model_validate({k: v for k, v in d.items() if k in ReferralEvent.model_fields})
        out.append((event, _rank(d.get("received"))))
    return out


def _rank(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _take(db: sqlite_utils.Database, event: ReferralEvent, rank: int | None) -> bool:
    """An event as the hub holds it: inserted when new; for a known one, the hub's rank and document replace the
    stored ones (a rank of None keeps the stored rank). True when something was written."""
    row = db.execute("SELECT document, hub_order FROM referral_events WHERE id = ?", [event.id]).fetchone()
    if row is None:
        _insert_event(db, event, rank)
        return True
    document = event.model_dump_json()
    rank = row[1] if rank is None else rank
    if row[0] == document and row[1] == rank:
        return False
    if ReferralEvent.model_validate_json(row[0]).referral_id != event.referral_id:
        return False  # an id this device holds for another referral: never moved (the hub refuses such clashes)
    db.execute(
        "UPDATE referral_events SET kind = ?, at = ?, document = ?, hub_order = ? WHERE id = ?",
        [event.kind.value, event.at.isoformat(), document, rank, event.id],
    )
    return True


def hub_order(db: sqlite_utils.Database, referral_id: str) -> dict[str, int]:
    """The hub's receipt rank of each of the referral's events it ranked (event id -> rank), as stored."""
    rows = db.execute(
        "SELECT id, hub_order FROM referral_events WHERE referral_id = ? AND hub_order IS NOT NULL", [referral_id]
    )
    return {str(r[0]): int(r[1]) for r in rows}


def refresh(db: sqlite_utils.Database, referral_id: str) -> None:
    """Recompute a referral's cached columns from all its events: status and flagged events (the fold),
    `last_event_at`/`updated_at` (the latest event), and `follow_up`, `reason`, `outcome` as set by the latest
    event (in fold order: the hub's receipt order, see the module docstring) that carried one and was not flagged.
    Inside the caller's transaction."""
    events, order = _events(db, referral_id)
    if not events:
        return
    state = fold(events, order)
    flagged = set(state.flagged)
    follow_up = reason = outcome = None
    for event in in_order(events, order):
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


# An event with no hub rank is either waiting to be sent (its outbox entry is not done: the fold puts it after
# every ranked event, by time) or already at the hub but held without a rank: received before the hub ranked events
# (a device upgraded to issue 10, a hub not upgraded yet), or its rank cleared by a reconcile and not given again.
_EVENTS = """
SELECT e.document, e.hub_order, EXISTS (
    SELECT 1 FROM outbox o WHERE o.state IN ('pending', 'quarantined') AND (
        (o.entity = 'referral_event' AND o.entity_id = e.id)
        OR (o.entity = 'referral' AND o.entity_id = e.referral_id AND e.kind = 'created')
    )
) FROM referral_events e WHERE e.referral_id = ?
"""


def _events(db: sqlite_utils.Database, referral_id: str) -> tuple[list[ReferralEvent], dict[str, int]]:
    """The referral's events (as stored) and the order the fold follows: the hub's rank of each event it ranked;
    and, below every hub rank (which are > 0), a rank by time for the events at the hub that came without one —
    the hub ranked the events it held before ranks existed by time, ahead of every later one (hub migration 4), so
    a device upgraded from before folds what it held then as it did, and what came after in the hub's order.
    Events still waiting in the outbox have no rank (the fold puts them last, by time)."""
    events: list[ReferralEvent] = []
    order: dict[str, int] = {}
    unranked: list[ReferralEvent] = []
    for document, rank, waiting in db.execute(_EVENTS, [referral_id]):
        event = ReferralEvent.model_validate_json(document)
        events.append(event)
        if rank is not None:
            order[event.id] = int(rank)
        elif not waiting:
            unranked.append(event)
    floor = min([0, *order.values()])
    unranked.sort(key=lambda e: (e.at, e.id))
    for n, event in enumerate(unranked):
        order[event.id] = floor - len(unranked) + n
    return events, order


def _insert_event(db: sqlite_utils.Database, event: ReferralEvent, rank: int | None = None) -> None:
    db.table("referral_events").insert(
        {
            "id": event.id,
            "referral_id": event.referral_id,
            "kind": event.kind.value,
            "at": event.at.isoformat(),
            "document": event.model_dump_json(),
            "hub_order": rank,
        }
    )


def get_referral(db: sqlite_utils.Database, referral_id: str) -> StoredReferral:
    row = db.execute("SELECT document, status, updated_at FROM referrals WHERE id = ?", [referral_id]).fetchone()
    if row is None:
        raise NotFound(_("no referral with id {id}").format(id=referral_id))
    events, order = _events(db, referral_id)
    return StoredReferral(
        Referral.model_validate_json(row[0]),
        ReferralStatus(row[1]),
        tuple(in_order(events, order)),
        dt.datetime.fromisoformat(row[2]),
        order,
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
