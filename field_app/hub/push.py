"""Apply a pushed batch of outbox entries: each op once, in its own savepoint, with a per-op answer.

An op's id is claimed in the `ops` table (with the hash of its content) in the same savepoint as its effects and
change-log rows, so an op never half-applies and never applies twice, even when two hub processes get the same
batch at once. The same op id again with the same content answers `duplicate`; with other content `rejected`
(`op_id_reused`) — a 200 answer with that op rejected rather than a 4xx for the whole batch, so that the other ops
of the batch still go through and the device quarantines only that one entry. Rejected ops leave nothing behind
(not even their id), so the agent can fix the record and the device retry it.

Rejection codes: invalid_payload, op_id_reused, unknown_entity (an event for a referral the hub does not have),
forbidden (outside the device's scope or role), conflict (the id is taken by other content), version_conflict.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

import pydantic

from field_app.domain.referrals import AGENT_KINDS, EventKind, Referral, ReferralEvent, ReferralStatus, fold
from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import Region
from field_app.errors import NotFound
from field_app.hub import devices, directory, people, referrals
from field_app.hub.auth import Caller
from field_app.hub.db import Tx, stamp
from field_app.sync.protocol import (
    AccessRecord,
    DeviceRevocation,
    DirectoryEdit,
    Op,
    OpResult,
    PushResponse,
    ReferralCreate,
    payload_hash,
)

M = TypeVar("M", bound=pydantic.BaseModel)


class Rejected(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Duplicate(Exception):
    """The op's effect is already there (e.g. the same referral pushed under another op id)."""


def push(tx: Tx, caller: Caller, ops: list[Op], *, now: dt.datetime) -> PushResponse:
    tx.lock_changes()  # one pushing transaction at a time across hub processes: no deadlocks, commit-ordered log
    answers = [_one(tx, caller, op, now) for op in ops]
    for op, answer in zip(ops, answers, strict=True):
        if op.entity == "referral" and answer.result == "applied":
            _mark_sent(tx, op.entity_id, now)
    return PushResponse(results=answers)


def _mark_sent(tx: Tx, referral_id: str, now: dt.datetime) -> None:
    """The hub's `sent` event for a referral it now holds, in the batch's transaction, after the batch's other ops:
    a referral queued and cancelled offline arrives with its `revoked` in the same batch and is not marked sent."""
    row = referrals.get_row(tx, referral_id)
    assert row is not None
    events = referrals.events_of(tx, referral_id)
    if any(e.kind is EventKind.SENT for e in events) or fold(events).status is not ReferralStatus.QUEUED:
        return
    sent = ReferralEvent(id=referrals.sent_event_id(referral_id), referral_id=referral_id, kind=EventKind.SENT, at=now)
    referrals.add_events(tx, row, [sent], source="hub", now=now)


def _one(tx: Tx, caller: Caller, op: Op, now: dt.datetime) -> OpResult:
    digest = payload_hash(op)
    where = nul_at(op.model_dump())
    if where is not None:  # PostgreSQL text cannot hold NUL: refused on every engine alike
        return OpResult(op_id=op.op_id, result="rejected", code="invalid_payload", reason=f"{where}: NUL character")
    try:
        with tx.savepoint():
            claimed = tx.one(
                "INSERT INTO ops (op_id, payload_hash, device_id, entity, entity_id, result, received_at) "
                "VALUES (?, ?, ?, ?, ?, 'applied', ?) ON CONFLICT (op_id) DO NOTHING RETURNING op_id",
                [op.op_id, digest, caller.id, op.entity, op.entity_id, stamp(now)],
            )
            if claimed is None:
                raise _Duplicate
            try:
                _apply(tx, caller, op, now)
            except _Duplicate:
                tx.execute("UPDATE ops SET result = 'duplicate' WHERE op_id = ?", [op.op_id])
                return OpResult(op_id=op.op_id, result="duplicate")
    except Rejected as exc:
        return OpResult(op_id=op.op_id, result="rejected", code=exc.code, reason=exc.reason)
    except _Duplicate:
        row = tx.one("SELECT payload_hash FROM ops WHERE op_id = ?", [op.op_id])
        if row is not None and row["payload_hash"] != digest:
            return OpResult(
                op_id=op.op_id,
                result="rejected",
                code="op_id_reused",
                reason="this op id was already used for other content",
            )
        return OpResult(op_id=op.op_id, result="duplicate")
    return OpResult(op_id=op.op_id, result="applied")


def nul_at(value: Any, where: str = "") -> str | None:
    """Where a text in `value` holds a NUL character (PostgreSQL text cannot store one), or None."""
    if isinstance(value, str):
        return (where or "(body)") if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return where or "(body)"
        found = nul_at(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def _invalid(exc: pydantic.ValidationError, prefix: str = "") -> Rejected:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return Rejected("invalid_payload", f"{where}: {first['msg']}{more}")


EXPECTED_OP = {
    "returnee": "upsert",
    "referral": "create",
    "referral_event": "append",
    "directory_edit": "append",
    "access": "append",
    "device_revocation": "append",
}


def _apply(tx: Tx, caller: Caller, op: Op, now: dt.datetime) -> None:
    expected = EXPECTED_OP[op.entity]
    if op.op != expected:
        raise Rejected("invalid_payload", f"{op.entity} ops are `{expected}`, not `{op.op}`")
    if op.entity == "returnee":
        _returnee(tx, caller, op, now)
    elif op.entity == "referral":
        _referral(tx, caller, op, now)
    elif op.entity == "referral_event":
        _event(tx, caller, op, now)
    elif op.entity == "directory_edit":
        _directory_edit(tx, caller, op, now)
    elif op.entity == "access":
        _access(tx, caller, op, now)
    else:
        _revocation(tx, caller, op, now)


def _typed(model: type[M], payload: dict[str, Any], prefix: str = "") -> M:
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as exc:
        raise _invalid(exc, prefix) from exc


def _directory_edit(tx: Tx, caller: Caller, op: Op, now: dt.datetime) -> None:
    edit = _typed(DirectoryEdit, op.payload)
    if edit.id != op.entity_id:
        raise Rejected("invalid_payload", "entity_id is not the edit's id")
    try:
        applied = directory.apply_edit(tx, caller, edit, now=now)
    except directory.EditRefused as exc:
        raise Rejected(exc.code, exc.reason) from exc
    if not applied:
        raise _Duplicate


def _access(tx: Tx, caller: Caller, op: Op, now: dt.datetime) -> None:
    record = _typed(AccessRecord, op.payload)
    if record.id != op.entity_id:
        raise Rejected("invalid_payload", "entity_id is not the access record's id")
    if not people.caller_reads_people(caller):
        raise Rejected("forbidden", "only office and supervisor devices read a person's details")
    stored = people.record_access(
        tx,
        device_id=caller.id,
        returnee_id=record.returnee_id,
        referral_id=record.referral_id,
        via=record.via,
        at=record.at,
        now=now,
        access_id=record.id,
    )
    if not stored:
        raise _Duplicate


def _revocation(tx: Tx, caller: Caller, op: Op, now: dt.datetime) -> None:
    revocation = _typed(DeviceRevocation, op.payload)
    if revocation.device_id != op.entity_id:
        raise Rejected("invalid_payload", "entity_id is not the device's id")
    if caller.role != "supervisor":
        raise Rejected("forbidden", "only a supervisor revokes devices")
    try:
        changed = devices.revoke(tx, revocation.device_id, now=now)
    except NotFound as exc:
        raise Rejected("unknown_entity", f"the hub has no device {revocation.device_id}") from exc
    if not changed:
        raise _Duplicate


def _returnee(tx: Tx, caller: Caller, op: Op, now: dt.datetime) -> None:
    returnee = _typed(Returnee, op.payload)
    if returnee.id != op.entity_id:
        raise Rejected("invalid_payload", "entity_id is not the returnee's id")
    document = returnee.model_dump_json()
    row = tx.one("SELECT device_id, version, document FROM returnees WHERE id = ?", [returnee.id])
    if row is None:
        tx.execute(
            "INSERT INTO returnees (id, device_id, region, version, document, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [returnee.id, caller.id, returnee.region.value, returnee.version, document, stamp(now)],
        )
        people.person_changed(tx, returnee.id, now=now)  # referrals that arrived before the record
        return
    if row["device_id"] != caller.id and caller.role != "supervisor":
        raise Rejected("forbidden", "this returnee was registered on another device")
    if returnee.version == row["version"] and Returnee.model_validate_json(row["document"]) == returnee:
        raise _Duplicate
    if returnee.version <= row["version"]:
        raise Rejected("version_conflict", f"the hub already has version {row['version']} of this record")
    tx.execute(
        "UPDATE returnees SET version = ?, region = ?, document = ?, updated_at = ? WHERE id = ?",
        [returnee.version, returnee.region.value, document, stamp(now), returnee.id],
    )
    people.person_changed(tx, returnee.id, now=now)


def _referral(tx: Tx, caller: Caller, op: Op, now: dt.datetime) -> None:
    payload = _typed(ReferralCreate, op.payload)
    referral = _typed(Referral, payload.referral, "referral")
    events = [_typed(ReferralEvent, raw, f"events.{i}") for i, raw in enumerate(payload.events)]
    if referral.id != op.entity_id:
        raise Rejected("invalid_payload", "entity_id is not the referral's id")
    if referral.region not in {r.value for r in Region}:
        raise Rejected("invalid_payload", f"referral.region: unknown region {referral.region!r}")
    if not any(e.kind is EventKind.CREATED for e in events):
        raise Rejected("invalid_payload", "events: the referral's `created` event is missing")
    if any(e.referral_id != referral.id for e in events):
        raise Rejected("invalid_payload", "events: every event must belong to this referral")
    if any(e.kind not in {EventKind.CREATED, *AGENT_KINDS} for e in events):
        raise Rejected("forbidden", "a device creating a referral sends only its `created` (or `revoked`) events")
    row = referrals.get_row(tx, referral.id)
    if row is not None:
        if row["device_id"] != caller.id or Referral.model_validate_json(row["document"]) != referral:
            raise Rejected("conflict", "a different referral with this id is already on the hub")
    else:
        referrals.insert_referral(tx, referral, device_id=caller.id, now=now)
        row = referrals.get_row(tx, referral.id)
        assert row is not None
        people.append_referral_change(tx, row, now=now)  # before its events: an office learns of it first
    try:
        stored, _state = referrals.add_events(tx, row, events, source=caller.id, now=now)
    except referrals.EventClash as exc:
        raise Rejected("conflict", f"event {exc} is already on the hub with other content") from exc
    if not stored:
        raise _Duplicate


def _event(tx: Tx, caller: Caller, op: Op, now: dt.datetime) -> None:
    event = _typed(ReferralEvent, op.payload)
    if event.id != op.entity_id:
        raise Rejected("invalid_payload", "entity_id is not the event's id")
    try:
        referrals.check_event(caller, event)
    except referrals.EventRefused as exc:
        raise Rejected(exc.code, exc.reason) from exc
    row = referrals.get_row(tx, event.referral_id)
    if row is None:
        raise Rejected("unknown_entity", f"the hub has no referral {event.referral_id}")
    if not referrals.visible_to(caller, row):
        raise Rejected("forbidden", "this referral is outside the device's scope")
    try:
        stored, _state = referrals.add_events(tx, row, [event], source=caller.id, now=now)
    except referrals.EventClash as exc:
        raise Rejected("conflict", f"event {exc} is already on the hub with other content") from exc
    if not stored:
        raise _Duplicate
