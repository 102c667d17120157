"""The same referral's events, delivered in any order and any number of times, end in the same status and the same
flagged events everywhere: the pure fold in the hub's receipt order (issue 10: the order in which the hub first
received each event, not device clocks), the hub's tables (hub/referrals.add_events on a real SQLite hub database,
which ranks each event on receipt), an office device that learns of the referral by pull (a `referral` change,
then `referral_event` changes with their ranks, through `sync.engine.apply_change` as the sync engine applies
them) and the agent's device that made it (storage.referrals.create_referral, then the pulled events in any
order, then its push answer: storage.referrals.merge_push_answer)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from field_app.domain.referrals import (
    DeclineReason,
    EventKind,
    Outcome,
    Referral,
    ReferralEvent,
    ReferralState,
    fold,
    in_order,
)
from field_app.hub import referrals as hub_referrals
from field_app.hub.db import open_hub_db
from field_app.storage.database import open_db
from field_app.storage.referrals import create_referral, merge_push_answer
from field_app.sync.engine import apply_change
from field_app.sync.protocol import Change, OpResult, ReferralChange

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
AGENT_DEVICE = "0b7a3f1e-58c4-4b59-9a55-5a1c6c1f0d11"
LATER_KINDS = [
    EventKind.SENT,
    EventKind.RECEIVED,
    EventKind.ACCEPTED,
    EventKind.DECLINED,
    EventKind.ENROLLED,
    EventKind.COMPLETED,
    EventKind.NOT_COMPLETED,
    EventKind.REVOKED,
]


@pytest.fixture(scope="module")
def templates() -> Iterator[tuple[sqlite_utils.Database, Path]]:
    """A migrated device database and a migrated hub database, copied fresh for every example (migrating each
    time would make the test slow, not stronger)."""
    with tempfile.TemporaryDirectory() as tmp:
        device = open_db(":memory:")
        hub_path = Path(tmp) / "template-hub.db"
        hub = open_hub_db(hub_path)
        hub.close()
        with sqlite3.connect(hub_path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        yield device, hub_path
        device.close()


def fresh_device(template: sqlite_utils.Database) -> sqlite_utils.Database:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    template.conn.backup(conn)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA foreign_keys = ON")
    return db


@st.composite
def histories(draw: st.DrawFn) -> tuple[Referral, list[ReferralEvent]]:
    """A referral and its events: `created`, then up to 9 others of any kind (repeats too), with the reason or
    outcome their kind needs, at times that often tie (then the id decides)."""
    referral_id = str(draw(st.uuids(version=4)))
    kinds = [EventKind.CREATED, *draw(st.lists(st.sampled_from(LATER_KINDS), max_size=9))]
    ids = draw(st.lists(st.uuids(version=4).map(str), min_size=len(kinds), max_size=len(kinds), unique=True))
    minutes = draw(st.lists(st.integers(0, 4), min_size=len(kinds), max_size=len(kinds)))
    events = []
    for kind, event_id, minute in zip(kinds, ids, minutes, strict=True):
        events.append(
            ReferralEvent(
                id=event_id,
                referral_id=referral_id,
                kind=kind,
                at=T0 + dt.timedelta(minutes=minute),
                reason=draw(st.sampled_from(DeclineReason)) if kind in (EventKind.DECLINED, EventKind.NOT_COMPLETED)
                else None,
                outcome=draw(st.sampled_from(Outcome)) if kind is EventKind.COMPLETED else None,
                note="noté" if kind in (EventKind.DECLINED, EventKind.NOT_COMPLETED, EventKind.COMPLETED) else None,
            )
        )  # fmt: skip
    referral = Referral(
        id=referral_id,
        returnee_id=str(uuid.uuid4()),
        service_id="anpe-dr-kayes/intermediation-placement",
        organization_id="anpe-dr-kayes",
        region="kayes",
        consent_share_at=T0,
        created_at=T0,
    )
    return referral, events


@st.composite
def deliveries(draw: st.DrawFn, events: list[ReferralEvent]) -> list[ReferralEvent]:
    """The events in any order, some of them delivered again (a retried pull page, a resent referral)."""
    order = list(draw(st.permutations(events)))
    for again in draw(st.lists(st.sampled_from(events), max_size=4)) if events else []:
        order.insert(draw(st.integers(0, len(order))), again)
    return order


def receipt_order(arrivals: list[ReferralEvent]) -> dict[str, int]:
    """The hub ranks each event when it first receives it (issue 10): that order, not device clocks, is the fold's."""
    order: dict[str, int] = {}
    for event in arrivals:
        order.setdefault(event.id, len(order))
    return order


def stored_state(db: sqlite_utils.Database, referral_id: str) -> tuple[str, list[str]]:
    row = db.execute("SELECT status, flagged FROM referrals WHERE id = ?", [referral_id]).fetchone()
    assert row is not None
    return row[0], json.loads(row[1])


def as_stored(state: ReferralState) -> tuple[str, list[str]]:
    return state.status.value, list(state.flagged)


def event_change(seq: int, event: ReferralEvent, received: int, state: ReferralState) -> Change:
    """A `referral_event` change as the hub writes it (the event, its receipt rank, the status after the hub's
    fold)."""
    data = hub_referrals.event_dict(event, received) | {"status": state.status.value, "flagged": list(state.flagged)}
    return Change(seq=seq, entity="referral_event", id=event.id, op="upsert", data=data)


def on_hub(hub_template: Path, referral: Referral, arrivals: list[ReferralEvent]) -> tuple[tuple[str, list[str]], (
    dict[str, int]
)]:  # fmt: skip
    """The hub's status and flagged events after the events arrive one at a time (as pushes and office events
    do), and the receipt rank it gave each event."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hub.db"
        shutil.copyfile(hub_template, path)
        db = open_hub_db(path, migrate=False)
        try:
            with db.transaction() as tx:
                hub_referrals.insert_referral(tx, referral, device_id=AGENT_DEVICE, now=T0)
                for event in arrivals:
                    row = hub_referrals.get_row(tx, referral.id)
                    assert row is not None
                    hub_referrals.add_events(tx, row, [event], source="test", now=T0)
            with db.transaction(readonly=True) as tx:
                row = hub_referrals.get_row(tx, referral.id)
                assert row is not None
                ranks = hub_referrals.order_of(hub_referrals.ranked_events(tx, [referral.id])[referral.id])
                return (str(row["status"]), json.loads(row["flagged"])), ranks
        finally:
            db.close()


def on_office_device(
    template: sqlite_utils.Database, referral: Referral, events: list[ReferralEvent], ranks: dict[str, int], first: int
) -> tuple[str, list[str]]:
    """The office learns of the referral by its `referral` change (with the events the hub had then), then gets the
    other events one change at a time, in the hub's order, some twice (a page pulled again); the `referral`
    change comes again at the end (the person's record changed)."""
    db = fresh_device(template)
    try:
        by_rank = sorted(events, key=lambda e: ranks[e.id])
        seen = by_rank[:first]

        def referral_change(seq: int) -> Change:
            state = fold(seen, ranks)
            data = ReferralChange(
                referral=referral.model_dump(mode="json"),
                device_id=AGENT_DEVICE,
                status=state.status.value,
                flagged=list(state.flagged),
                events=[hub_referrals.event_dict(e, ranks[e.id]) for e in in_order(seen, ranks)],
            )
            return Change(seq=seq, entity="referral", id=referral.id, op="upsert", data=data.model_dump(mode="json"))

        with db.atomic():
            assert apply_change(db, referral_change(1), now=T0)
        for seq, event in enumerate(by_rank[first:], start=2):
            seen.append(event)
            for _ in range(1 + seq % 2):
                with db.atomic():
                    assert apply_change(db, event_change(seq, event, ranks[event.id], fold(seen, ranks)), now=T0)
        with db.atomic():
            assert apply_change(db, referral_change(len(events) + 2), now=T0)
        return stored_state(db, referral.id)
    finally:
        db.close()


def on_agent_device(
    template: sqlite_utils.Database,
    referral: Referral,
    events: list[ReferralEvent],
    pulled: list[ReferralEvent],
    ranks: dict[str, int],
) -> tuple[str, list[str]]:
    """The agent's phone made the referral (its `created` event, not ranked yet), then learns of some events by
    pulled `referral_event` changes (any order, some twice, its own `created` possibly among them), and last of
    all of them by the answer to its push (every event the hub holds, ranked)."""
    db = fresh_device(template)
    try:
        created = next(e for e in events if e.kind is EventKind.CREATED)
        create_referral(db, referral, created)
        for seq, event in enumerate(pulled, start=1):
            with db.atomic():
                assert apply_change(db, event_change(seq, event, ranks[event.id], fold([created, event])), now=T0)
        state = fold(events, ranks)
        answer = OpResult(
            op_id=str(uuid.uuid4()),
            result="duplicate",
            status=state.status.value,
            flagged=list(state.flagged),
            events=[hub_referrals.event_dict(e, ranks[e.id]) for e in in_order(events, ranks)],
        )
        with db.atomic():
            merge_push_answer(db, answer)  # False when the pulled changes brought it all already
        return stored_state(db, referral.id)
    finally:
        db.close()


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_side_folds_any_delivery_to_the_same_state(
    data: st.DataObject, templates: tuple[sqlite_utils.Database, Path]
) -> None:
    device_template, hub_template = templates
    referral, events = data.draw(histories())
    arrivals = data.draw(deliveries(events))
    order = receipt_order(arrivals)
    expected = fold(events, order)
    for _ in range(3):
        assert fold(data.draw(st.permutations(events)), order) == expected
    hub_state, ranks = on_hub(hub_template, referral, arrivals)
    assert sorted(ranks, key=ranks.__getitem__) == sorted(order, key=order.__getitem__)  # ranked on receipt
    assert hub_state == as_stored(expected)
    first = data.draw(st.integers(0, len(events)))
    assert on_office_device(device_template, referral, events, ranks, first) == as_stored(expected)
    pulled = data.draw(st.lists(st.sampled_from(events), unique_by=lambda e: e.id))  # some come by pull first
    assert on_agent_device(device_template, referral, events, data.draw(deliveries(pulled)), ranks) == (
        as_stored(expected)
    )
