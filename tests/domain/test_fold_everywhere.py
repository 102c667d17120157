"""The same referral's events, delivered in any order and any number of times, end in the same status and the same
flagged events everywhere: the pure fold, the hub's tables (hub/referrals.add_events on a real SQLite hub
database), an office device that learns of the referral by pull (a `referral` change, then `referral_event`
changes, through `sync.engine.apply_change` as the sync engine applies them) and the agent's device that made it
(storage.referrals.create_referral, then the pulled events)."""

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
from field_app.storage.referrals import create_referral
from field_app.sync.engine import apply_change
from field_app.sync.protocol import Change, ReferralChange

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
    for again in draw(st.lists(st.sampled_from(events), max_size=4)):
        order.insert(draw(st.integers(0, len(order))), again)
    return order


def stored_state(db: sqlite_utils.Database, referral_id: str) -> tuple[str, list[str]]:
    row = db.execute("SELECT status, flagged FROM referrals WHERE id = ?", [referral_id]).fetchone()
    assert row is not None
    return row[0], json.loads(row[1])


def as_stored(state: ReferralState) -> tuple[str, list[str]]:
    return state.status.value, list(state.flagged)


def event_change(seq: int, event: ReferralEvent, state: ReferralState) -> Change:
    """A `referral_event` change as the hub writes it (the event with the status after the hub's fold)."""
    data = event.model_dump(mode="json") | {"status": state.status.value, "flagged": list(state.flagged)}
    return Change(seq=seq, entity="referral_event", id=event.id, op="upsert", data=data)


def on_hub(hub_template: Path, referral: Referral, order: list[ReferralEvent]) -> tuple[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hub.db"
        shutil.copyfile(hub_template, path)
        db = open_hub_db(path, migrate=False)
        try:
            with db.transaction() as tx:
                hub_referrals.insert_referral(tx, referral, device_id=AGENT_DEVICE, now=T0)
                for event in order:  # one at a time, as pushes and office events arrive
                    row = hub_referrals.get_row(tx, referral.id)
                    assert row is not None
                    hub_referrals.add_events(tx, row, [event], source="test", now=T0)
            with db.transaction(readonly=True) as tx:
                row = hub_referrals.get_row(tx, referral.id)
                assert row is not None
                return str(row["status"]), json.loads(row["flagged"])
        finally:
            db.close()


def on_office_device(template: sqlite_utils.Database, referral: Referral, order: list[ReferralEvent], first: int) -> (
    tuple[str, list[str]]
):  # fmt: skip
    """The office learns of the referral by its `referral` change (with the events the hub had then), then gets the
    other events one change at a time; the `referral` change comes again at the end (the person's record changed)."""
    db = fresh_device(template)
    try:
        seen: dict[str, ReferralEvent] = {}
        for event in order[:first]:
            seen.setdefault(event.id, event)

        def referral_change(seq: int) -> Change:
            state = fold(list(seen.values()))
            data = ReferralChange(
                referral=referral.model_dump(mode="json"),
                device_id=AGENT_DEVICE,
                status=state.status.value,
                flagged=list(state.flagged),
                events=[e.model_dump(mode="json") for e in in_order(list(seen.values()))],
            )
            return Change(seq=seq, entity="referral", id=referral.id, op="upsert", data=data.model_dump(mode="json"))

        with db.atomic():
            assert apply_change(db, referral_change(1), now=T0)
        for seq, event in enumerate(order[first:], start=2):
            seen.setdefault(event.id, event)
            with db.atomic():
                assert apply_change(db, event_change(seq, event, fold(list(seen.values()))), now=T0)
        with db.atomic():
            assert apply_change(db, referral_change(len(order) + 2), now=T0)
        return stored_state(db, referral.id)
    finally:
        db.close()


def on_agent_device(template: sqlite_utils.Database, referral: Referral, order: list[ReferralEvent]) -> (
    tuple[str, list[str]]
):  # fmt: skip
    """The agent's phone made the referral (its `created` event), then pulls every event, its own `created` too."""
    db = fresh_device(template)
    try:
        created = next(e for e in order if e.kind is EventKind.CREATED)
        create_referral(db, referral, created)
        for seq, event in enumerate(order, start=1):
            with db.atomic():
                assert apply_change(db, event_change(seq, event, fold([created, event])), now=T0)
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
    expected = fold(events)
    for _ in range(3):
        assert fold(data.draw(st.permutations(events))) == expected
    order = data.draw(deliveries(events))
    first = data.draw(st.integers(0, len(order)))
    assert on_hub(hub_template, referral, order) == as_stored(expected)
    assert on_office_device(device_template, referral, order, first) == as_stored(expected)
    assert on_agent_device(device_template, referral, order) == as_stored(expected)
