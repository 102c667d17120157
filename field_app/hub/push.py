"""Apply a pushed batch of outbox entries: each op once, with a per-op answer, in a few statements per batch.

An op's id is claimed in the `ops` table (with the hash of its content) in the batch's transaction, together with
its effects and change-log rows, so an op never half-applies and never applies twice, even when two hub processes
get the same batch at once (the second one's claim waits for the first one's commit, then finds the ids taken).
The same op id again with the same content answers `duplicate`; with other content `rejected` (`op_id_reused`) —
a 200 answer with that op rejected rather than a 4xx for the whole batch, so that the other ops of the batch still
go through and the device quarantines only that one entry. Rejected ops leave nothing behind (not even their id),
so the agent can fix the record and the device retry it. One bad op never fails the batch.

**How a batch runs (issue 10).** The hot entities (returnee upserts, referral creates, referral events) go
through one path that costs a fixed number of statements per batch, not per op:
1. claim every op id in one `INSERT … ON CONFLICT DO NOTHING RETURNING` (the ids not returned were there before:
   duplicates or reused ids, read back in one query);
2. prefetch what the rules read, one query per table: the returnees, the referrals (named by the ops, or of the
   people upserted; locked on PostgreSQL, in id order), their events with receipt ranks, events whose ids the
   batch reuses, the organisations of the services referred to (their service lists cached by content hash);
3. decide each op in order, in memory, with `hub/rules.py` (the same rules as the HTTP API): every check runs
   before the op changes anything, so a rejected op leaves no trace and later ops see the earlier ones' effects;
4. write: one pipelined statement per table (returnees, referrals, events, statuses, change rows) and one to
   drop the claims of rejected ops.
Other entities (directory edits, access records, device revocations: rare) run one by one in a savepoint each.
A unique violation or a deadlock (another hub process raced on the same rows) rolls the whole batch back to its
savepoint and runs it once more (it then sees the other's rows); a second one is a 503 and the device retries.

**Answers.** Every `applied` or `duplicate` referral/referral_event op carries the referral's status and flagged
events on the hub now and its events in hub order, each with its receipt rank (`received`), the hub's own `sent`
included — also for a retried batch whose first answer was lost. The change rows the batch makes for its
referrals carry `origin` = this device, and a pull leaves them out for it (hub/changes.py). The answer carries
the hub's state (`trust.hub_state`).

Rejection codes: invalid_payload, op_id_reused, unknown_entity (an event for a referral the hub does not have, or
that the device may not see), forbidden (outside the device's role), conflict (the id is taken by other content),
version_conflict.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pydantic

from field_app.domain.referrals import EventKind, Referral, ReferralEvent, ReferralState, ReferralStatus
from field_app.domain.returnees import Returnee
from field_app.errors import NotFound, clip
from field_app.hub import changes, devices, directory, people, referrals, rules, trust
from field_app.hub.auth import Caller
from field_app.hub.db import Conflict, Tx, stamp
from field_app.hub.referrals import Ranked
from field_app.sync.protocol import (
    AccessRecord,
    DeviceRevocation,
    DirectoryEdit,
    Op,
    OpResult,
    PushResponse,
    ReferralCreate,
    SharedPerson,
    payload_hash,
)

M = TypeVar("M", bound=pydantic.BaseModel)
HOT = ("returnee", "referral", "referral_event")
CASEWORK = ("referral", "referral_event")


class Rejected(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Duplicate(Exception):
    """The op's effect is already there (e.g. the same referral pushed under another op id)."""


def push(tx: Tx, caller: Caller, ops: list[Op], *, now: dt.datetime) -> PushResponse:
    results: list[OpResult] = []
    for attempt in range(2):
        try:
            with tx.savepoint():
                results = _Batch(tx, caller, now).run(ops)
            break
        except Conflict:
            if attempt:
                raise
    return PushResponse(results=results, state=trust.hub_state(tx))


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


def _bad_text_in(op: Op) -> str | None:
    """`rules.bad_text_at` of the op (NUL, lone surrogates: `path: problem`), after a quick look at its JSON: most
    ops hold neither (`\\u0000` or a `\\ud…` escape is where they would show)."""
    text = json.dumps([op.entity_id, op.payload])
    if "\\u0000" not in text and "\\ud" not in text:
        return None
    return rules.bad_text_at(op.model_dump())


def _invalid(exc: pydantic.ValidationError, prefix: str = "") -> Rejected:
    first = exc.errors()[0]
    where = clip(".".join(str(p) for p in (prefix, *first["loc"]) if p != ""))
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return Rejected("invalid_payload", f"{where}: {clip(first['msg'], 200)}{more}")


def _refused(exc: rules.Refused) -> Rejected:
    return Rejected(exc.code.value, exc.reason)


EXPECTED_OP = {
    "returnee": "upsert",
    "referral": "create",
    "referral_event": "append",
    "directory_edit": "append",
    "access": "append",
    "device_revocation": "append",
}


def _typed(model: type[M], payload: dict[str, Any], prefix: str = "") -> M:
    try:
        return model.model_validate(payload)
    except pydantic.ValidationError as exc:
        raise _invalid(exc, prefix) from exc


# --- the batch's memory ----------------------------------------------------------------------------------------


@dataclass
class _Ref:
    """A referral as the batch sees it: its row (as stored, or as about to be inserted), its ranked events."""

    row: dict[str, Any]
    events: list[Ranked]
    new: bool = False
    changed: bool = False  # status/flagged to write
    referral: Referral | None = None
    params: list[Any] | None = None  # a new referral's columns (REFERRAL_COLUMNS without status and flagged)
    _state: ReferralState | None = None

    @property
    def state(self) -> ReferralState:
        if self._state is None:
            self._state = referrals.fold_ranked(self.events)
        return self._state

    def add(self, ranked: list[Ranked]) -> None:
        self.events = self.events + ranked
        self._state = None
        self.changed = True

    def event(self, event_id: str) -> ReferralEvent | None:
        return next((r.event for r in self.events if r.event.id == event_id), None)


@dataclass
class _Writes:
    returnee_inserts: list[list[Any]] = field(default_factory=list)
    returnee_updates: list[list[Any]] = field(default_factory=list)
    event_inserts: list[list[Any]] = field(default_factory=list)
    change_rows: list[changes.Row] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)  # claimed op ids whose effect was there already


_SERVICES: dict[tuple[str, str], frozenset[str]] = {}  # (organisation id, content hash) -> its service ids


def service_owners(tx: Tx, service_ids: set[str]) -> dict[str, str | None]:
    """The organisation the hub's directory gives each service id (`<organisation>/<service>`), None when the
    directory has no such service. One query (two when an organisation changed since this process read it)."""
    org_ids = sorted({s.split("/", 1)[0] for s in service_ids if "/" in s})
    known: dict[str, frozenset[str]] = {}
    if org_ids:
        where, params = tx.among("id", org_ids)
        rows = tx.all(f"SELECT id, content_hash FROM organizations WHERE {where}", params)
        missing = [r["id"] for r in rows if (r["id"], r["content_hash"]) not in _SERVICES]
        if missing:
            where, params = tx.among("id", missing)
            for r in tx.all(f"SELECT id, content_hash, document FROM organizations WHERE {where}", params):
                document = json.loads(r["document"])
                _SERVICES[(r["id"], r["content_hash"])] = frozenset(
                    f"{r['id']}/{s.get('id')}" for s in document.get("services", []) if isinstance(s, dict)
                )
        known = {r["id"]: _SERVICES.get((r["id"], r["content_hash"]), frozenset()) for r in rows}
    out: dict[str, str | None] = {}
    for service_id in service_ids:
        org = service_id.split("/", 1)[0] if "/" in service_id else None
        out[service_id] = org if org is not None and service_id in known.get(org, frozenset()) else None
    return out


class _Batch:
    def __init__(self, tx: Tx, caller: Caller, now: dt.datetime):
        self.tx = tx
        self.caller = caller
        self.now = now
        self.stamp = stamp(now)
        self.writes = _Writes()
        self.returnees: dict[str, dict[str, Any]] = {}  # id -> {device_id, version, document (parsed Returnee)}
        self.refs: dict[str, _Ref] = {}
        self.by_returnee: dict[str, list[str]] = {}  # returnee id -> referral ids, in the hub's arrival order
        self.event_owner: dict[str, ReferralEvent] = {}  # events stored on other referrals, by id
        self.owners: dict[str, str | None] = {}
        self.ranks: list[int] = []  # drawn, not handed out yet (highest first)
        self.last_rank = 0
        self.touched: dict[str, str] = {}  # op id -> referral id, for the answers
        self.dicts: dict[str, dict[str, Any]] = {}  # event id -> its dict with rank

    # -- 1. claims -------------------------------------------------------------------------------------------

    def run(self, ops: list[Op]) -> list[OpResult]:
        answers: list[OpResult | None] = [None] * len(ops)
        digests = [payload_hash(op) for op in ops]
        first: dict[str, int] = {}
        for i, op in enumerate(ops):
            found = _bad_text_in(op)
            if found is not None:  # NUL (PostgreSQL text cannot hold one), lone surrogates: refused on every engine
                answers[i] = OpResult(op_id=op.op_id, result="rejected", code="invalid_payload", reason=found)
            elif op.op_id not in first:
                first[op.op_id] = i
        claimed = self._claim([ops[i] for i in first.values()], [digests[i] for i in first.values()])
        earlier = self._earlier([op_id for op_id in first if op_id not in claimed])
        parsed: dict[int, Any] = {}
        for op_id, i in first.items():
            if op_id in claimed:
                parsed[i] = self._parse(ops[i])
        self._prefetch(ops, parsed, earlier, digests)
        outcome: dict[str, str] = {}  # op id -> applied | duplicate (the first answer that was not a rejection)
        for i, op in enumerate(ops):
            if answers[i] is not None:
                continue
            if op.op_id not in claimed:
                answers[i] = self._seen(op, digests[i], earlier.get(op.op_id))
                continue
            if op.op_id in outcome:  # the same op id twice in one batch
                same = digests[first[op.op_id]] == digests[i]
                answers[i] = self._reused(op) if not same else self._answer(op, "duplicate")
                continue
            value = parsed[i] if first[op.op_id] == i else self._parse(op)
            answer = self._decide(op, value)
            answers[i] = answer
            if answer.result != "rejected":
                outcome[op.op_id] = answer.result
        self._mark_sent(ops, answers)
        self._write([op_id for op_id in claimed if op_id not in outcome])
        return [self._finish(op, a) for op, a in zip(ops, answers, strict=True) if a is not None]

    def _claim(self, ops: list[Op], digests: list[str]) -> set[str]:
        if not ops:
            return set()
        columns = [
            [op.op_id for op in ops],
            digests,
            [self.caller.id] * len(ops),
            [op.entity for op in ops],
            [op.entity_id for op in ops],
            [self.stamp] * len(ops),
        ]
        insert = "INSERT INTO ops (op_id, payload_hash, device_id, entity, entity_id, received_at, result) "
        if self.tx.dialect == "postgres":  # one array per column: the statement is the same for every batch
            sql = f"{insert} SELECT *, 'applied' FROM unnest({', '.join('?::text[]' for _ in columns)})"
            params: list[Any] = columns
        else:
            row = "(?, ?, ?, ?, ?, ?, 'applied')"
            sql = f"{insert} VALUES {', '.join(row for _ in ops)}"
            params = [value for row in zip(*columns, strict=True) for value in row]
        rows = self.tx.all(f"{sql} ON CONFLICT (op_id) DO NOTHING RETURNING op_id", params)
        return {r["op_id"] for r in rows}

    def _earlier(self, op_ids: list[str]) -> dict[str, str]:
        if not op_ids:
            return {}
        where, params = self.tx.among("op_id", op_ids)
        rows = self.tx.all(f"SELECT op_id, payload_hash FROM ops WHERE {where}", params)
        return {r["op_id"]: r["payload_hash"] for r in rows}

    def _seen(self, op: Op, digest: str, stored_hash: str | None) -> OpResult:
        if stored_hash is not None and stored_hash != digest:
            return self._reused(op)
        return self._answer(op, "duplicate")

    @staticmethod
    def _reused(op: Op) -> OpResult:
        return OpResult(
            op_id=op.op_id,
            result="rejected",
            code="op_id_reused",
            reason="this op id was already used for other content",
        )

    # -- 2. parse and prefetch ------------------------------------------------------------------------------

    def _parse(self, op: Op) -> Any:
        """The op's typed payload, or a Rejected (kept, raised when the op's turn comes)."""
        try:
            expected = EXPECTED_OP[op.entity]
            if op.op != expected:
                raise Rejected("invalid_payload", f"{op.entity} ops are `{expected}`, not `{op.op}`")
            if op.entity == "returnee":
                returnee = _typed(Returnee, op.payload)
                if returnee.id != op.entity_id:
                    raise Rejected("invalid_payload", "entity_id is not the returnee's id")
                return returnee
            if op.entity == "referral":
                payload = _typed(ReferralCreate, op.payload)
                referral = _typed(Referral, payload.referral, "referral")
                events = [_typed(ReferralEvent, raw, f"events.{i}") for i, raw in enumerate(payload.events)]
                if referral.id != op.entity_id:
                    raise Rejected("invalid_payload", "entity_id is not the referral's id")
                return (referral, events)
            if op.entity == "referral_event":
                event = _typed(ReferralEvent, op.payload)
                if event.id != op.entity_id:
                    raise Rejected("invalid_payload", "entity_id is not the event's id")
                return event
            return None  # the other entities parse in their own turn
        except Rejected as exc:
            return exc

    def _prefetch(self, ops: list[Op], parsed: dict[int, Any], earlier: dict[str, str], digests: list[str]) -> None:
        returnee_ids: set[str] = set()
        referral_ids: set[str] = set()
        event_ids: set[str] = set()
        service_ids: set[str] = set()
        for i, op in enumerate(ops):
            value = parsed.get(i)
            if value is None and op.op_id in earlier and op.entity in CASEWORK and earlier[op.op_id] == digests[i]:
                value = self._parse(op)  # a duplicate: its answer carries the referral's state
            if isinstance(value, Returnee):
                returnee_ids.add(value.id)
            elif isinstance(value, tuple):
                referral, events = value
                referral_ids.add(referral.id)
                event_ids |= {e.id for e in events}
                service_ids.add(referral.service_id)
            elif isinstance(value, ReferralEvent):
                referral_ids.add(value.referral_id)
                event_ids.add(value.id)
        tx = self.tx
        rows: list[dict[str, Any]] = []
        if referral_ids or returnee_ids:
            where, params = [], []
            for column, values in (("id", referral_ids), ("returnee_id", returnee_ids)):
                if values:
                    sql, more = tx.among(column, sorted(values))
                    where.append(sql)
                    params += more
            rows = tx.all(f"SELECT * FROM referrals WHERE {' OR '.join(where)} ORDER BY id{tx.for_update}", params)
        stored = referrals.ranked_events(tx, [r["id"] for r in rows])
        for row in sorted(rows, key=lambda r: int(r["n"])):
            self.refs[row["id"]] = _Ref(row=row, events=stored[row["id"]])
            self.by_returnee.setdefault(row["returnee_id"], []).append(row["id"])
        people_ids = sorted(returnee_ids | {r["returnee_id"] for r in rows})
        if people_ids:
            where_id, params = tx.among("id", people_ids)
            for r in tx.all(f"SELECT id, device_id, version, document FROM returnees WHERE {where_id}", params):
                document = Returnee.model_validate_json(r["document"])
                self.returnees[r["id"]] = {
                    "device_id": r["device_id"],
                    "version": int(r["version"]),
                    "document": document,
                }
        self.event_owner = {r.event.id: r.event for ref in self.refs.values() for r in ref.events}
        others = sorted(event_ids - set(self.event_owner))
        if others:
            where_id, params = tx.among("id", others)
            for r in tx.all(f"SELECT id, document FROM referral_events WHERE {where_id}", params):
                self.event_owner[r["id"]] = ReferralEvent.model_validate_json(r["document"])
        self.owners = service_owners(tx, service_ids)
        # receipt ranks, drawn once the referrals are locked: at most one per event sent, plus each `sent`
        wanted = 0
        for value in parsed.values():
            if isinstance(value, tuple):
                wanted += len(value[1]) + 1
            elif isinstance(value, ReferralEvent):
                wanted += 1
        self.ranks = referrals.draw_ranks(tx, wanted)
        self.ranks.reverse()

    # -- 3. decide, in memory --------------------------------------------------------------------------------

    def _decide(self, op: Op, value: Any) -> OpResult:
        try:
            if isinstance(value, Rejected):
                raise value
            if op.entity == "returnee":
                self._returnee(value)
            elif op.entity == "referral":
                self._referral(op, *value)
            elif op.entity == "referral_event":
                self._event(op, value)
            else:
                with self.tx.savepoint():
                    self._other(op)
        except Rejected as exc:
            return OpResult(op_id=op.op_id, result="rejected", code=exc.code, reason=exc.reason)
        except rules.Refused as exc:
            return OpResult(op_id=op.op_id, result="rejected", code=exc.code.value, reason=exc.reason)
        except _Duplicate:
            self.writes.duplicates.append(op.op_id)
            return self._answer(op, "duplicate")
        return self._answer(op, "applied")

    def _answer(self, op: Op, result: str) -> OpResult:
        """The answer before the referral's state is filled in (`_finish`, once the batch is done)."""
        if op.entity in CASEWORK:
            referral_id = op.entity_id
            if op.entity == "referral_event":
                referral_id = str(op.payload.get("referral_id", ""))
            self.touched[op.op_id] = referral_id
        return OpResult(op_id=op.op_id, result=result)

    def _finish(self, op: Op, answer: OpResult) -> OpResult:
        ref = self.refs.get(self.touched.get(op.op_id, "")) if answer.result != "rejected" else None
        if ref is None or not rules.visible_to(self.caller, ref.row):
            return answer
        state = ref.state
        events = [self._event_dict(r) for r in referrals.in_hub_order(ref.events)]
        return answer.model_copy(
            update={"status": state.status.value, "flagged": list(state.flagged), "events": events}
        )

    def _event_dict(self, ranked: Ranked) -> dict[str, Any]:
        """`referrals.event_dict`, made once per event and batch (shared read-only by the answers)."""
        found = self.dicts.get(ranked.event.id)
        if found is None:
            found = self.dicts[ranked.event.id] = referrals.event_dict(ranked.event, ranked.received)
        return found

    def _rank(self) -> int:
        if not self.ranks:  # more than counted (an op id repeated in the batch): draw more, above those handed out
            more = [r for r in referrals.draw_ranks(self.tx, 16) if r > self.last_rank]
            self.ranks = (more or list(range(self.last_rank + 1, self.last_rank + 17)))[::-1]
        self.last_rank = self.ranks.pop()
        return self.last_rank

    def _returnee(self, returnee: Returnee) -> None:
        stored = self.returnees.get(returnee.id)
        document = returnee.model_dump_json()
        if stored is None:
            self.writes.returnee_inserts.append(
                [returnee.id, self.caller.id, returnee.region.value, returnee.version, document, stamp(self.now)]
            )
            self.returnees[returnee.id] = {
                "device_id": self.caller.id,
                "version": returnee.version,
                "document": returnee,
            }
            self._person_changed(returnee.id)  # referrals that arrived before the record
            return
        mine = stored["device_id"] == self.caller.id or self.caller.role == "supervisor"
        if mine and returnee.version == stored["version"] and stored["document"] == returnee:
            raise _Duplicate
        rules.check_returnee(self.caller, version=returnee.version, existing_row=stored)
        self.writes.returnee_updates.append(
            [returnee.version, returnee.region.value, document, stamp(self.now), returnee.id]
        )
        stored.update(version=returnee.version, document=returnee)
        self._person_changed(returnee.id)

    def _person(self, ref: _Ref) -> SharedPerson | None:
        referral = ref.referral or Referral.model_validate_json(ref.row["document"])
        ref.referral = referral
        if referral.consent_share_at is None:
            return None
        stored = self.returnees.get(referral.returnee_id)
        return None if stored is None else SharedPerson.of(stored["document"])

    def _referral_change(self, ref: _Ref) -> None:
        state = ref.state
        events = [self._event_dict(r) for r in referrals.in_hub_order(ref.events)]
        data = people.referral_data(ref.row, events, self._person(ref), status=state.status.value,
                                    flagged=list(state.flagged))  # fmt: skip
        self.writes.change_rows.append(people.referral_change_row(ref.row, data, origin=self.caller.id))

    def _person_changed(self, returnee_id: str) -> None:
        for referral_id in self.by_returnee.get(returnee_id, []):
            self._referral_change(self.refs[referral_id])

    def _clash(self, ref: _Ref, events: list[ReferralEvent]) -> list[ReferralEvent]:
        """Of `events`, those not stored yet; Rejected when an id is taken by other content (checks only)."""
        fresh: list[ReferralEvent] = []
        for event in events:
            existing = ref.event(event.id) or self.event_owner.get(event.id)
            if existing is not None:
                if existing != event:
                    raise Rejected("conflict", f"event {event.id} is already on the hub with other content")
                continue
            if any(e.id == event.id for e in fresh):
                continue
            fresh.append(event)
        return fresh

    def _store(self, ref: _Ref, fresh: list[ReferralEvent], *, source: str) -> None:
        ranked = [Ranked(e, self._rank()) for e in fresh]
        ref.add(ranked)
        self.event_owner |= {r.event.id: r.event for r in ranked}  # an id reused by a later op is a conflict
        state = ref.state
        for r in ranked:
            self.writes.event_inserts.append(referrals.event_params(r.event, r.received, source=source, now=self.now))
            change = referrals.event_change(r.event, r.received, state, ref.row, origin=self.caller.id)
            self.writes.change_rows.append(change)

    def _referral(self, op: Op, referral: Referral, events: list[ReferralEvent]) -> None:
        ref = self.refs.get(referral.id)
        rules.check_referral_create(
            self.caller,
            referral,
            events,
            service_org=self.owners.get(referral.service_id),
            existing_row=ref.row if ref is not None else None,
            existing_events=[r.event for r in ref.events] if ref is not None else [],
        )
        if ref is None:
            probe = _Ref(row={"id": referral.id}, events=[])
            fresh = self._clash(probe, events)
            params = referrals.referral_params(referral, device_id=self.caller.id, now=self.now)
            row = {
                "id": referral.id,
                "returnee_id": referral.returnee_id,
                "region": referral.region,
                "device_id": self.caller.id,
                "document": params[6],
                "status": ReferralStatus.QUEUED.value,
                "flagged": "[]",
            }
            ref = _Ref(row=row, events=[], new=True, referral=referral, params=params)
            self.refs[referral.id] = ref
            self.by_returnee.setdefault(referral.returnee_id, []).append(referral.id)
            self._referral_change(ref)  # before its events: an office learns of it first
        else:
            fresh = self._clash(ref, events)
            if not fresh:
                raise _Duplicate
        self._store(ref, fresh, source=self.caller.id)

    def _event(self, op: Op, event: ReferralEvent) -> None:
        ref = self.refs.get(event.referral_id)
        rules.check_event(self.caller, event, ref.row if ref is not None else None)
        assert ref is not None
        fresh = self._clash(ref, [event])
        if not fresh:
            raise _Duplicate
        self._store(ref, fresh, source=self.caller.id)

    def _mark_sent(self, ops: list[Op], answers: list[OpResult | None]) -> None:
        """The hub's `sent` event for each referral it now holds, after the batch's other ops: a referral queued
        and cancelled offline arrives with its `revoked` in the same batch and is not marked sent."""
        for op, answer in zip(ops, answers, strict=True):
            if op.entity != "referral" or answer is None or answer.result != "applied":
                continue
            ref = self.refs[op.entity_id]
            if any(r.event.kind is EventKind.SENT for r in ref.events) or ref.state.status is not ReferralStatus.QUEUED:
                continue
            sent = ReferralEvent(
                id=referrals.sent_event_id(op.entity_id), referral_id=op.entity_id, kind=EventKind.SENT, at=self.now
            )
            self._store(ref, [sent], source="hub")

    # -- 4. write ----------------------------------------------------------------------------------------------

    def _write(self, unclaim: list[str]) -> None:
        tx, w = self.tx, self.writes
        tx.insert_many(
            "returnees", ("id", "device_id", "region", "version", "document", "updated_at"), w.returnee_inserts
        )
        tx.executemany(
            "UPDATE returnees SET version = ?, region = ?, document = ?, updated_at = ? WHERE id = ?",
            w.returnee_updates,
        )
        inserts, updates = [], []
        for ref in self.refs.values():
            state = ref.state
            flagged = json.dumps(list(state.flagged))
            if ref.new:  # inserted with its status after the batch: no UPDATE
                assert ref.params is not None
                inserts.append([*ref.params, state.status.value, flagged])
            elif ref.changed:
                updates.append([state.status.value, flagged, self.stamp, ref.row["id"]])
        tx.insert_many("referrals", referrals.REFERRAL_COLUMNS, inserts)
        tx.insert_many("referral_events", referrals.EVENT_COLUMNS, w.event_inserts)
        tx.executemany(referrals.UPDATE_STATUS, updates)
        changes.append_many(tx, w.change_rows, now=self.now)
        if w.duplicates:
            where, params = tx.among("op_id", w.duplicates)
            tx.execute(f"UPDATE ops SET result = 'duplicate' WHERE {where}", params)
        if unclaim:
            where, params = tx.among("op_id", unclaim)
            tx.execute(f"DELETE FROM ops WHERE {where}", params)

    # -- the other entities, one by one ------------------------------------------------------------------------

    def _other(self, op: Op) -> None:
        expected = EXPECTED_OP[op.entity]
        if op.op != expected:
            raise Rejected("invalid_payload", f"{op.entity} ops are `{expected}`, not `{op.op}`")
        if op.entity == "directory_edit":
            _directory_edit(self.tx, self.caller, op, self.now)
        elif op.entity == "access":
            _access(self.tx, self.caller, op, self.now)
        else:
            _revocation(self.tx, self.caller, op, self.now)


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
    try:
        rules.check_access(caller)
    except rules.Refused as exc:
        raise _refused(exc) from exc
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
    try:
        rules.check_revocation(caller)
    except rules.Refused as exc:
        raise _refused(exc) from exc
    try:
        changed = devices.revoke(tx, revocation.device_id, now=now)
    except NotFound as exc:
        raise Rejected("unknown_entity", f"the hub has no device {revocation.device_id}") from exc
    if not changed:
        raise _Duplicate
