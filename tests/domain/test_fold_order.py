"""The fold follows the hub's receipt order (issue 10): `created` first, then the events the hub holds in the order
it received them, then this device's own events (not at the hub yet) by time and id. Device clocks only order what
the hub has not ordered: a backdated event cannot jump ahead of one the hub received before it."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from field_app.domain.referrals import (
    DeclineReason,
    EventKind,
    ReferralEvent,
    ReferralStatus,
    fold,
    in_order,
)

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
REFERRAL = "5d0c1c8e-3b7e-4f57-9a47-1f8f7d1b2a01"


def event(kind: EventKind, minutes: float, **fields: object) -> ReferralEvent:
    if kind in (EventKind.DECLINED, EventKind.NOT_COMPLETED):
        fields.setdefault("reason", DeclineReason.PARTNER_FULL)
    return ReferralEvent(
        id=str(uuid.uuid4()), referral_id=REFERRAL, kind=kind, at=T0 + dt.timedelta(minutes=minutes), **fields
    )


def ranks(*events: ReferralEvent) -> dict[str, int]:
    """The hub received `events` in this order."""
    return {e.id: 100 + n for n, e in enumerate(events)}


def test_a_backdated_cancel_after_the_offices_enrolled_is_flagged() -> None:
    created, sent = event(EventKind.CREATED, 0), event(EventKind.SENT, 60)
    accepted, enrolled = event(EventKind.ACCEPTED, 120), event(EventKind.ENROLLED, 180)
    revoked = event(EventKind.REVOKED, 10)  # the agent's phone dates it before everything the office did
    events = [created, sent, accepted, enrolled, revoked]
    order = ranks(created, sent, accepted, enrolled, revoked)
    state = fold(events, order)
    assert state.status is ReferralStatus.ENROLLED and state.flagged == (revoked.id,)
    # by device clocks alone the cancel would have undone the office's work (the pre-issue-10 fold)
    by_time = fold(events)
    assert by_time.status is ReferralStatus.REVOKED and set(by_time.flagged) == {sent.id, accepted.id, enrolled.id}


def test_a_backdated_office_decline_does_not_undo_an_enrolment() -> None:
    created, sent = event(EventKind.CREATED, 0), event(EventKind.SENT, 1)
    accepted, enrolled = event(EventKind.ACCEPTED, 120), event(EventKind.ENROLLED, 180)
    declined = event(EventKind.DECLINED, 30)  # another office device, its clock behind, synced late
    order = ranks(created, sent, accepted, enrolled, declined)
    state = fold([declined, enrolled, accepted, sent, created], order)
    assert state.status is ReferralStatus.ENROLLED and state.flagged == (declined.id,)
    assert [e.kind for e in in_order([declined, enrolled, created, sent, accepted], order)] == [
        EventKind.CREATED,
        EventKind.SENT,
        EventKind.ACCEPTED,
        EventKind.ENROLLED,
        EventKind.DECLINED,
    ]


def test_created_comes_first_even_when_ranked_after_its_events() -> None:
    """An office event can reach the hub through another path before the referral's own push (re-sent after a
    restore): `created` still opens the referral."""
    created, accepted = event(EventKind.CREATED, 0), event(EventKind.ACCEPTED, 5)
    state = fold([accepted, created], {accepted.id: 1, created.id: 2})
    assert state == fold([created, accepted], {created.id: 1, accepted.id: 2})
    assert state.status is ReferralStatus.ACCEPTED and state.flagged == ()


def test_events_the_hub_has_not_ranked_come_after_the_ranked_ones_by_time() -> None:
    created, sent = event(EventKind.CREATED, 0), event(EventKind.SENT, 50)
    received = event(EventKind.RECEIVED, 40)  # made here, not at the hub yet, dated before the hub's `sent`
    accepted = event(EventKind.ACCEPTED, 30)  # also made here, dated even earlier
    order = ranks(created, sent)
    assert [e.id for e in in_order([received, accepted, sent, created], order)] == [
        created.id,
        sent.id,
        accepted.id,
        received.id,
    ]
    state = fold([received, accepted, sent, created], order)
    assert state.status is ReferralStatus.ACCEPTED and state.flagged == (received.id,)


def test_the_rank_decides_not_the_time_nor_the_id() -> None:
    created = event(EventKind.CREATED, 0)
    a, b = event(EventKind.ACCEPTED, 10), event(EventKind.DECLINED, 5)
    assert fold([created, a, b], ranks(created, a, b)).status is ReferralStatus.ACCEPTED
    assert fold([created, a, b], ranks(created, b, a)).status is ReferralStatus.DECLINED
    assert fold([created, a, b]).status is ReferralStatus.DECLINED  # no ranks: by time


def test_no_order_and_an_empty_order_fold_alike() -> None:
    events = [event(EventKind.CREATED, 0), event(EventKind.SENT, 1), event(EventKind.REVOKED, 0.5)]
    assert fold(events, {}) == fold(events) == fold(events, None)
    assert fold(events).status is ReferralStatus.REVOKED


KINDS = [k for k in EventKind if k is not EventKind.CREATED]


@st.composite
def ranked_histories(draw: st.DrawFn) -> tuple[list[ReferralEvent], dict[str, int]]:
    """`created` and up to 9 other events at clashing times; the hub holds a random part of them, ranked in a
    random order (the rest are this device's own, not sent yet)."""
    kinds = [EventKind.CREATED, *draw(st.lists(st.sampled_from(KINDS), max_size=9))]
    events = [event(k, draw(st.integers(-3, 3))) for k in kinds]
    held = draw(st.lists(st.sampled_from(events), unique_by=lambda e: e.id))
    return events, {e.id: n for n, e in enumerate(held)}


@settings(max_examples=200, deadline=None)
@given(history=ranked_histories(), data=st.data())
def test_the_same_events_and_ranks_fold_alike_in_any_delivery_order(
    history: tuple[list[ReferralEvent], dict[str, int]], data: st.DataObject
) -> None:
    events, order = history
    expected = fold(events, order)
    shuffled = data.draw(st.permutations(events))
    assert fold(shuffled, order) == expected
    ordered = in_order(shuffled, order)
    assert ordered == in_order(events, order)
    ranked = [e for e in ordered if e.id in order and e.kind is not EventKind.CREATED]
    assert [order[e.id] for e in ranked] == sorted(order[e.id] for e in ranked)
    # every ranked event comes before every unranked one (other than `created`)
    tail = [e.id in order for e in ordered if e.kind is not EventKind.CREATED]
    assert tail == sorted(tail, reverse=True)
    # a rank given to an event the list does not hold changes nothing
    assert fold(events, {**order, str(uuid.uuid4()): -1}) == expected
