"""Referrals: a returnee sent to a partner's service, followed by append-only events.

The current status is a deterministic fold of the events (so devices and the hub agree whatever order the
events arrive in). An event that is not allowed from the current status is kept and flagged, never dropped.
Pure: no clock (times are passed in), no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from field_app.domain.moments import Day, Moment
from field_app.domain.safe_input import cleaned

# A note typed on a phone: NUL, control characters and lone surrogates never stored (the hub would refuse them for
# ever); the screens and the command line refuse them with a message first (issue 10).
Note = Annotated[str, BeforeValidator(cleaned), Field(max_length=500)]

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class ReferralStatus(StrEnum):
    QUEUED = "queued"  # written on the device, waiting for a data link
    SENT = "sent"  # the hub has it
    RECEIVED = "received"  # the office or partner has seen it
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"
    REVOKED = "revoked"  # cancelled by the agent before it went further


class EventKind(StrEnum):
    CREATED = "created"
    SENT = "sent"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"
    REVOKED = "revoked"


# event kind -> (statuses it may follow, status it leads to)
TRANSITIONS: dict[EventKind, tuple[frozenset[ReferralStatus], ReferralStatus]] = {
    EventKind.SENT: (frozenset({ReferralStatus.QUEUED}), ReferralStatus.SENT),
    EventKind.RECEIVED: (frozenset({ReferralStatus.QUEUED, ReferralStatus.SENT}), ReferralStatus.RECEIVED),
    EventKind.ACCEPTED: (
        frozenset({ReferralStatus.QUEUED, ReferralStatus.SENT, ReferralStatus.RECEIVED}),
        ReferralStatus.ACCEPTED,
    ),
    EventKind.DECLINED: (
        frozenset({ReferralStatus.QUEUED, ReferralStatus.SENT, ReferralStatus.RECEIVED}),
        ReferralStatus.DECLINED,
    ),
    EventKind.ENROLLED: (frozenset({ReferralStatus.ACCEPTED}), ReferralStatus.ENROLLED),
    EventKind.COMPLETED: (frozenset({ReferralStatus.ENROLLED}), ReferralStatus.COMPLETED),
    EventKind.NOT_COMPLETED: (
        frozenset({ReferralStatus.ACCEPTED, ReferralStatus.ENROLLED}),
        ReferralStatus.NOT_COMPLETED,
    ),
    EventKind.REVOKED: (frozenset({ReferralStatus.QUEUED}), ReferralStatus.REVOKED),
}


class Referral(BaseModel):
    """What the device writes when the agent confirms a referral (the first event is `created`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=UUID)]
    returnee_id: Annotated[str, Field(pattern=UUID)]
    service_id: Annotated[str, Field(min_length=1, max_length=200)]
    organization_id: Annotated[str, Field(min_length=1, max_length=80)]
    region: str  # the region whose ANPE office follows it (the returnee's)
    consent_share_at: Moment  # the returnee agreed to share their record with this partner
    created_at: Moment
    note: Note | None = None


class DeclineReason(StrEnum):
    """Why a referral was declined or not completed (`declined`, `not_completed` need one; `other` needs a note)."""

    PARTNER_FULL = "partner_full"
    NOT_ELIGIBLE = "not_eligible"
    PARTNER_UNREACHABLE = "partner_unreachable"
    PERSON_UNREACHABLE = "person_unreachable"
    PERSON_DECLINED = "person_declined"
    OTHER = "other"


class Outcome(StrEnum):
    """What a completed referral led to (`completed` needs one; `other` needs a note)."""

    TRAINED = "trained"
    JOB_PLACEMENT = "job_placement"
    SELF_EMPLOYMENT = "self_employment"
    OTHER = "other"


class ReferralEvent(BaseModel):
    """One step in a referral's life. `reason` goes with declined / not_completed, `outcome` with completed,
    `follow_up` is the date the office plans to check again; `actor` is the device id that made the event (set
    by the hub for events it stores; None for events made before it was recorded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=UUID)]
    referral_id: Annotated[str, Field(pattern=UUID)]
    kind: EventKind
    at: Moment
    note: Note | None = None
    reason: DeclineReason | None = None
    outcome: Outcome | None = None
    follow_up: Day | None = None
    actor: Annotated[str, Field(max_length=80)] | None = None


# Who may make which events: an agent device only cancels; offices and supervisors move a referral along.
AGENT_KINDS = frozenset({EventKind.REVOKED})
OFFICE_KINDS = frozenset(
    {
        EventKind.RECEIVED,
        EventKind.ACCEPTED,
        EventKind.DECLINED,
        EventKind.ENROLLED,
        EventKind.COMPLETED,
        EventKind.NOT_COMPLETED,
    }
)
NEEDS_REASON = frozenset({EventKind.DECLINED, EventKind.NOT_COMPLETED})
NEEDS_OUTCOME = frozenset({EventKind.COMPLETED})
# Where a referral's life ends: nothing more is expected, so it is never overdue.
CLOSED = frozenset(
    {ReferralStatus.DECLINED, ReferralStatus.COMPLETED, ReferralStatus.NOT_COMPLETED, ReferralStatus.REVOKED}
)
# Still under way (queued on the phone, at the hub, with the office or the partner): a second referral of the same
# person to the same service while one of these is open is a mistake more often than not, so it is confirmed first.
OPEN = frozenset(ReferralStatus) - CLOSED


def is_open(status: ReferralStatus) -> bool:
    """The referral is still under way (neither cancelled nor closed)."""
    return status in OPEN


@dataclass(frozen=True)
class ReferralState:
    status: ReferralStatus
    flagged: tuple[str, ...]  # ids of events that were not allowed when they came


Order = Mapping[str, int]  # event id -> its place in the hub's receipt order (events the hub holds)


def in_order(events: list[ReferralEvent], order: Order | None = None) -> list[ReferralEvent]:
    """Events in the order every device and the hub fold them: `created` first; then the events the hub holds,
    in the hub's receipt order (`order`); then the others (made on this device, not at the hub yet) by time,
    then id. Device clocks only order what the hub has not ordered yet: a backdated event cannot jump ahead of
    one the hub received before it (issue 10)."""
    rank = order or {}
    unranked = 1 << 62

    def key(e: ReferralEvent) -> tuple[bool, int, dt.datetime, str]:
        return (e.kind is not EventKind.CREATED, rank.get(e.id, unranked), e.at, e.id)

    return sorted(events, key=key)


def fold(events: list[ReferralEvent], order: Order | None = None) -> ReferralState:
    """The status after `events`; disallowed events are flagged and skipped.

    Order: see `in_order` — the `created` event first (everything else happens to an existing referral), then
    the hub's receipt order, then time and id, so that every device folds the same events to the same state
    whatever order they arrived in.
    """
    status: ReferralStatus | None = None
    flagged: list[str] = []
    for event in in_order(events, order):
        if event.kind is EventKind.CREATED:
            if status is None:
                status = ReferralStatus.QUEUED
            else:
                flagged.append(event.id)
            continue
        allowed_from, to = TRANSITIONS[event.kind]
        if status in allowed_from:
            status = to
        else:
            flagged.append(event.id)
    return ReferralState(status or ReferralStatus.QUEUED, tuple(flagged))


def can_cancel(status: ReferralStatus) -> bool:
    """The agent may cancel only what has not left the phone yet."""
    return status in TRANSITIONS[EventKind.REVOKED][0]
