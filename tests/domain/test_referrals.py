"""Referral status as a fold of its events: the transition table, flagged events, order independence."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from field_app.domain.referrals import TRANSITIONS, EventKind, ReferralEvent, ReferralStatus, can_cancel, fold

REFERRAL = "5f0c8a2e-1b3d-4c5e-8f9a-0b1c2d3e4f50"
T0 = dt.datetime(2025, 3, 10, 9, 0, tzinfo=dt.UTC)
S = ReferralStatus

# Every event kind × every status it may follow: (from, event, to). Written out, not derived from TRANSITIONS.
ALLOWED = [
    (S.QUEUED, EventKind.SENT, S.SENT),
    (S.QUEUED, EventKind.RECEIVED, S.RECEIVED),
    (S.SENT, EventKind.RECEIVED, S.RECEIVED),
    (S.QUEUED, EventKind.ACCEPTED, S.ACCEPTED),
    (S.SENT, EventKind.ACCEPTED, S.ACCEPTED),
    (S.RECEIVED, EventKind.ACCEPTED, S.ACCEPTED),
    (S.QUEUED, EventKind.DECLINED, S.DECLINED),
    (S.SENT, EventKind.DECLINED, S.DECLINED),
    (S.RECEIVED, EventKind.DECLINED, S.DECLINED),
    (S.ACCEPTED, EventKind.ENROLLED, S.ENROLLED),
    (S.ENROLLED, EventKind.COMPLETED, S.COMPLETED),
    (S.ACCEPTED, EventKind.NOT_COMPLETED, S.NOT_COMPLETED),
    (S.ENROLLED, EventKind.NOT_COMPLETED, S.NOT_COMPLETED),
    (S.QUEUED, EventKind.REVOKED, S.REVOKED),
]

# The shortest event path from `created` to each status.
PATH_TO = {
    S.QUEUED: [],
    S.SENT: [EventKind.SENT],
    S.RECEIVED: [EventKind.SENT, EventKind.RECEIVED],
    S.ACCEPTED: [EventKind.ACCEPTED],
    S.DECLINED: [EventKind.DECLINED],
    S.ENROLLED: [EventKind.ACCEPTED, EventKind.ENROLLED],
    S.COMPLETED: [EventKind.ACCEPTED, EventKind.ENROLLED, EventKind.COMPLETED],
    S.NOT_COMPLETED: [EventKind.ACCEPTED, EventKind.NOT_COMPLETED],
    S.REVOKED: [EventKind.REVOKED],
}


def event(kind: EventKind, minutes: int, id_: str | None = None) -> ReferralEvent:
    return ReferralEvent(
        id=id_ or str(uuid.uuid4()), referral_id=REFERRAL, kind=kind, at=T0 + dt.timedelta(minutes=minutes)
    )


def history(kinds: list[EventKind]) -> list[ReferralEvent]:
    """`created`, then `kinds` one minute apart."""
    return [event(EventKind.CREATED, 0), *(event(k, i + 1) for i, k in enumerate(kinds))]


def test_the_written_table_is_the_code_table() -> None:
    derived = {(frm, kind, to) for kind, (froms, to) in TRANSITIONS.items() for frm in froms}
    assert derived == set(ALLOWED)


def test_created_alone_is_queued() -> None:
    assert fold(history([])) == fold([event(EventKind.CREATED, 0)])
    state = fold(history([]))
    assert state.status is S.QUEUED and state.flagged == ()


@pytest.mark.parametrize(("status", "path"), list(PATH_TO.items()), ids=[s.value for s in PATH_TO])
def test_paths_reach_their_status(status: ReferralStatus, path: list[EventKind]) -> None:
    state = fold(history(path))
    assert state.status is status and state.flagged == ()


@pytest.mark.parametrize(("before", "kind", "after"), ALLOWED, ids=[f"{a.value}-{k.value}" for a, k, _ in ALLOWED])
def test_allowed_transition(before: ReferralStatus, kind: EventKind, after: ReferralStatus) -> None:
    events = history(PATH_TO[before])
    late = event(kind, 100)
    state = fold([*events, late])
    assert state.status is after and state.flagged == ()


DISALLOWED = [
    (before, kind)
    for before in ReferralStatus
    for kind in EventKind
    if kind is not EventKind.CREATED and (before, kind) not in {(b, k) for b, k, _ in ALLOWED}
]


@pytest.mark.parametrize(("before", "kind"), DISALLOWED, ids=[f"{b.value}-{k.value}" for b, k in DISALLOWED])
def test_disallowed_event_is_flagged_and_kept(before: ReferralStatus, kind: EventKind) -> None:
    late = event(kind, 100)
    state = fold([*history(PATH_TO[before]), late])
    assert state.status is before  # the event does not move the status
    assert state.flagged == (late.id,)  # but it is not lost


def test_a_second_created_is_flagged() -> None:
    events = history([EventKind.SENT])
    again = event(EventKind.CREATED, 5)
    state = fold([*events, again])
    assert state.status is S.SENT and state.flagged == (again.id,)


def test_created_goes_first_even_when_it_is_not_earliest() -> None:
    # a partner's clock is behind the agent's phone: `accepted` carries an earlier time than `created`
    created = event(EventKind.CREATED, 10)
    accepted = event(EventKind.ACCEPTED, 0)
    assert fold([accepted, created]).status is S.ACCEPTED
    assert fold([accepted, created]).flagged == ()


@pytest.mark.parametrize("kind", [k for k in EventKind if k is not EventKind.CREATED])
def test_created_goes_first_with_equal_timestamps(kind: EventKind) -> None:
    # the other event's id sorts before `created`'s, so only the created-first rule puts created first
    created = event(EventKind.CREATED, 0, id_="ffffffff-ffff-4fff-8fff-ffffffffffff")
    other = event(kind, 0, id_="00000000-0000-4000-8000-000000000000")
    allowed = S.QUEUED in TRANSITIONS[kind][0]
    state = fold([other, created])
    assert state == fold([created, other])
    assert state.status is (TRANSITIONS[kind][1] if allowed else S.QUEUED)
    assert state.flagged == (() if allowed else (other.id,))


def test_events_without_created_change_nothing() -> None:
    sent = event(EventKind.SENT, 1)
    state = fold([sent])
    assert state.status is S.QUEUED and state.flagged == (sent.id,)


kinds = st.lists(st.sampled_from(list(EventKind)), min_size=0, max_size=8)


@st.composite
def event_sets(draw: st.DrawFn) -> list[ReferralEvent]:
    """A created event and up to 8 others, often sharing timestamps, with unique ids."""
    chosen = [EventKind.CREATED, *draw(kinds)]
    ids = draw(st.lists(st.uuids(version=4).map(str), min_size=len(chosen), max_size=len(chosen), unique=True))
    minutes = draw(st.lists(st.integers(0, 3), min_size=len(chosen), max_size=len(chosen)))
    return [event(k, m, i) for k, m, i in zip(chosen, minutes, ids, strict=True)]


@given(st.data())
def test_fold_ignores_arrival_order(data: st.DataObject) -> None:
    events = data.draw(event_sets())
    shuffled = data.draw(st.permutations(events))
    assert fold(shuffled) == fold(events)
    assert len(fold(events).flagged) <= len(events) - 1  # the first `created` is never flagged


@pytest.mark.parametrize(("status", "allowed"), [(s, s is S.QUEUED) for s in ReferralStatus])
def test_can_cancel_only_what_is_still_queued(status: ReferralStatus, allowed: bool) -> None:
    assert can_cancel(status) is allowed


def test_a_note_never_holds_a_character_the_hub_would_refuse_for_ever() -> None:
    """NUL, control characters and lone surrogates never reach a stored event or referral note (issue 10)."""
    import uuid as _uuid

    from field_app.domain.referrals import ReferralEvent as _Event

    event = _Event(
        id=str(_uuid.uuid4()),
        referral_id=str(_uuid.uuid4()),
        kind="accepted",
        at="2026-12-01T10:00:00Z",
        note="appel\x00é le\x07 lundi\nà 9 h \ud800",
    )
    assert event.note == "appelé le lundi\nà 9 h \ufffd"
