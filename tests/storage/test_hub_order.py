"""The device keeps the hub's receipt rank of each event (`referral_events.hub_order`, issue 10) from every way the
hub sends events — a push answer (`merge_push_answer`), a pulled `referral_event` change, a pulled `referral`
change — and folds with it, so its cached status and flagged events are the hub's. What the hub sends about an
event it holds replaces what the device stored (the rank, and the document: the `sent` the hub made again after a
restore); a bad answer writes nothing."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from field_app.domain.referrals import (
    DeclineReason,
    EventKind,
    Referral,
    ReferralEvent,
    ReferralStatus,
)
from field_app.storage import outbox
from field_app.storage.database import open_db
from field_app.storage.referrals import (
    add_event,
    create_referral,
    get_referral,
    hub_order,
    merge_event,
    merge_push_answer,
    put_pulled_referral,
)
from field_app.sync.engine import apply_change
from field_app.sync.protocol import Change, OpResult, ReferralChange

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
AGENT = "0b7a3f1e-58c4-4b59-9a55-5a1c6c1f0d11"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "device.db")
    yield database
    database.close()


def referral() -> Referral:
    return Referral(
        id=str(uuid.uuid4()),
        returnee_id=str(uuid.uuid4()),
        service_id="anpe-dr-kayes/intermediation-placement",
        organization_id="anpe-dr-kayes",
        region="kayes",
        consent_share_at=T0,
        created_at=T0,
    )


def event(ref: Referral, kind: EventKind, minutes: float, **fields: Any) -> ReferralEvent:
    if kind in (EventKind.DECLINED, EventKind.NOT_COMPLETED):
        fields.setdefault("reason", DeclineReason.PARTNER_FULL)
    return ReferralEvent(
        id=str(uuid.uuid4()), referral_id=ref.id, kind=kind, at=T0 + dt.timedelta(minutes=minutes), **fields
    )


def wire(e: ReferralEvent, rank: int | None) -> dict[str, Any]:
    """An event as the hub sends it: its JSON and `received`."""
    return e.model_dump(mode="json") | ({} if rank is None else {"received": rank})


def answer(*ranked: tuple[ReferralEvent, int], result: str = "applied", status: str = "sent") -> OpResult:
    return OpResult.model_validate(
        {"op_id": str(uuid.uuid4()), "result": result, "status": status, "events": [wire(e, r) for e, r in ranked]}
    )


def cached(db: sqlite_utils.Database, referral_id: str) -> tuple[str, list[str], str | None]:
    row = db.execute("SELECT status, flagged, reason FROM referrals WHERE id = ?", [referral_id]).fetchone()
    return row[0], json.loads(row[1]), row[2]


def pulled_referral(ref: Referral, *ranked: tuple[ReferralEvent, int | None]) -> ReferralChange:
    return ReferralChange(
        referral=ref.model_dump(mode="json"),
        device_id=AGENT,
        status="sent",
        flagged=[],
        events=[wire(e, r) for e, r in ranked],
    )


def test_the_push_answer_brings_the_hubs_sent_and_ranks_this_devices_own_events(db: sqlite_utils.Database) -> None:
    ref = referral()
    created = event(ref, EventKind.CREATED, 0)
    create_referral(db, ref, created)
    assert hub_order(db, ref.id) == {} and cached(db, ref.id)[0] == "queued"
    sent = event(ref, EventKind.SENT, -90)  # the hub's clock is behind this phone's: it does not matter
    with db.atomic():
        assert merge_push_answer(db, answer((created, 41), (sent, 42)))
    assert hub_order(db, ref.id) == {created.id: 41, sent.id: 42}
    stored = get_referral(db, ref.id)
    assert stored.status is ReferralStatus.SENT and stored.order == {created.id: 41, sent.id: 42}
    assert [e.id for e in stored.events] == [created.id, sent.id]
    with db.atomic():
        assert not merge_push_answer(db, answer((created, 41), (sent, 42), result="duplicate"))  # nothing new


def test_a_backdated_event_the_hub_ranked_last_is_flagged_not_obeyed(db: sqlite_utils.Database) -> None:
    """The office's `enrolled` reached the hub first; another office device, its clock a day behind, declined the
    referral later: on this device as on the hub the decline is flagged, and its reason is not the referral's."""
    ref = referral()
    created, sent = event(ref, EventKind.CREATED, 0), event(ref, EventKind.SENT, 1)
    accepted, enrolled = event(ref, EventKind.ACCEPTED, 60), event(ref, EventKind.ENROLLED, 120)
    declined = event(ref, EventKind.DECLINED, 60 - 24 * 60, reason=DeclineReason.NOT_ELIGIBLE)
    with db.atomic():
        put_pulled_referral(db, pulled_referral(ref, (created, 1), (sent, 2)), now=T0)
    for seq, (e, rank) in enumerate([(declined, 5), (enrolled, 4), (accepted, 3)], start=10):  # pulled out of order
        data = wire(e, rank) | {"status": "enrolled", "flagged": [declined.id]}
        with db.atomic():
            assert apply_change(db, Change(seq=seq, entity="referral_event", id=e.id, op="upsert", data=data), now=T0)
    assert cached(db, ref.id) == ("enrolled", [declined.id], None)
    assert [e.kind for e in get_referral(db, ref.id).events] == [
        EventKind.CREATED,
        EventKind.SENT,
        EventKind.ACCEPTED,
        EventKind.ENROLLED,
        EventKind.DECLINED,
    ]


def test_an_event_made_here_and_not_at_the_hub_yet_comes_after_the_ranked_ones(db: sqlite_utils.Database) -> None:
    ref = referral()
    created, sent = event(ref, EventKind.CREATED, 0), event(ref, EventKind.SENT, 30)
    with db.atomic():
        put_pulled_referral(db, pulled_referral(ref, (created, 7), (sent, 8)), now=T0)
    accepted = event(ref, EventKind.ACCEPTED, 5)  # this office's phone dates it before the hub's `sent`
    add_event(db, accepted)  # made here: queued for the hub, no rank yet
    assert hub_order(db, ref.id) == {created.id: 7, sent.id: 8}
    assert cached(db, ref.id)[:2] == ("accepted", [])  # not flagged: it follows what the hub ordered
    with db.atomic():
        assert merge_push_answer(db, answer((created, 7), (sent, 8), (accepted, 9), status="accepted"))
    assert hub_order(db, ref.id) == {created.id: 7, sent.id: 8, accepted.id: 9}
    assert cached(db, ref.id)[:2] == ("accepted", [])


def test_the_hubs_rank_and_document_replace_the_stored_ones(db: sqlite_utils.Database) -> None:
    """After a restore the device's ranks are cleared (reconcile) and the hub, from its new database, sends new
    ranks and its `sent` made again (same id, another time): the device takes them, and so folds as the hub."""
    ref = referral()
    created, sent = event(ref, EventKind.CREATED, 0), event(ref, EventKind.SENT, 1)
    accepted = event(ref, EventKind.ACCEPTED, 2)
    with db.atomic():
        put_pulled_referral(db, pulled_referral(ref, (created, 1), (sent, 2), (accepted, 3)), now=T0)
    assert cached(db, ref.id)[:2] == ("accepted", [])
    db.execute("UPDATE referral_events SET hub_order = NULL")  # what the reconcile does (sync/reconcile.py)
    sent_again = sent.model_copy(update={"at": T0 + dt.timedelta(hours=5)})
    # the new database received the office's `accepted` (re-sent from its outbox) before the referral's `sent`
    with db.atomic():
        put_pulled_referral(db, pulled_referral(ref, (created, 50), (accepted, 51), (sent_again, 52)), now=T0)
    assert hub_order(db, ref.id) == {created.id: 50, accepted.id: 51, sent.id: 52}
    document = db.execute("SELECT document, at FROM referral_events WHERE id = ?", [sent.id]).fetchone()
    assert ReferralEvent.model_validate_json(document[0]) == sent_again and document[1] == sent_again.at.isoformat()
    assert cached(db, ref.id)[:2] == ("accepted", [sent.id])
    # a pulled event change carrying a rank overwrites it too; one without (an older hub) keeps the stored rank
    with db.atomic():
        assert merge_event(db, sent_again, received=49)
        assert not merge_event(db, sent_again)
        assert not merge_event(db, sent_again, received=49)
    assert hub_order(db, ref.id)[sent.id] == 49 and cached(db, ref.id)[:2] == ("accepted", [])


def test_a_push_answer_this_device_cannot_use_writes_nothing(db: sqlite_utils.Database) -> None:
    ref = referral()
    created = event(ref, EventKind.CREATED, 0)
    create_referral(db, ref, created)
    other = referral()
    bad_kind = wire(event(ref, EventKind.SENT, 1), 2) | {"kind": "teleported"}
    unusable = [
        OpResult(op_id="a", result="rejected", code="conflict", events=[wire(created, 1)]),
        OpResult(op_id="b", result="applied"),  # a hub older than issue 10: no events
        answer((event(other, EventKind.CREATED, 0), 1)),  # a referral this device does not hold
        OpResult(op_id="c", result="applied", events=[wire(created, 1), bad_kind]),
        OpResult(op_id="d", result="applied", events=[{"received": 3}]),
        answer((created, 1), (event(other, EventKind.SENT, 1), 2)),  # two referrals in one answer
    ]
    before = db.execute("SELECT * FROM referral_events ORDER BY id").fetchall()
    for result in unusable:
        with db.atomic():
            assert not merge_push_answer(db, result)
    assert db.execute("SELECT * FROM referral_events ORDER BY id").fetchall() == before
    assert cached(db, ref.id)[:2] == ("queued", [])


def test_a_rank_that_is_not_a_number_is_no_rank(db: sqlite_utils.Database) -> None:
    ref = referral()
    created, sent = event(ref, EventKind.CREATED, 0), event(ref, EventKind.SENT, 1)
    create_referral(db, ref, created)
    result = OpResult(
        op_id="e",
        result="applied",
        events=[wire(created, None) | {"received": True}, wire(sent, None) | {"received": "9"}],
    )
    with db.atomic():
        assert merge_push_answer(db, result)
    assert hub_order(db, ref.id) == {} and cached(db, ref.id)[0] == "sent"


def test_events_held_from_before_the_hub_ranked_them_keep_their_place(db: sqlite_utils.Database) -> None:
    """A device upgraded to issue 10 (or synced with a hub not upgraded yet) holds events without ranks; the hub
    ranked what it held then by time, ahead of every later event (hub migration 4). So a ranked `enrolled` pulled
    now comes after the `sent` and `accepted` held since before, whatever their times; this office's own event,
    still waiting to be sent, comes after all of them."""
    ref = referral()
    created, sent = event(ref, EventKind.CREATED, 0), event(ref, EventKind.SENT, 1)
    accepted = event(ref, EventKind.ACCEPTED, 400)  # its time is after the enrolment's: not what orders it
    with db.atomic():  # as a hub from before issue 10 sent them: no `received`
        put_pulled_referral(db, pulled_referral(ref, (created, None), (sent, None)), now=T0)
        assert merge_event(db, accepted)
    assert hub_order(db, ref.id) == {} and cached(db, ref.id)[:2] == ("accepted", [])
    enrolled = event(ref, EventKind.ENROLLED, 300)
    data = wire(enrolled, 9000) | {"status": "enrolled", "flagged": []}
    with db.atomic():
        assert apply_change(db, Change(seq=5, entity="referral_event", id=enrolled.id, op="upsert", data=data))
    assert cached(db, ref.id)[:2] == ("enrolled", [])
    stored = get_referral(db, ref.id)
    assert [e.kind for e in stored.events] == [
        EventKind.CREATED,
        EventKind.SENT,
        EventKind.ACCEPTED,
        EventKind.ENROLLED,
    ]
    assert stored.order[sent.id] < stored.order[accepted.id] < 0 < stored.order[enrolled.id]
    completed = event(ref, EventKind.COMPLETED, -60, outcome="trained")  # made here, dated before all of them
    add_event(db, completed)
    assert outbox.counts(db)["pending"] == 1
    assert cached(db, ref.id)[:2] == ("completed", [])
    assert get_referral(db, ref.id).events[-1] == completed and completed.id not in get_referral(db, ref.id).order
