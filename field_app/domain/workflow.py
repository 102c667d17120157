"""The office workflow's rules: which move is allowed from which status, and what each move must carry.

    received → accepted | declined → enrolled → completed | not_completed

`declined` and `not_completed` need a reason (`DeclineReason`), `completed` an outcome (`Outcome`); `other`, as a
reason or an outcome, needs a note. A follow-up date and a note may go with any move. The device, the command
line and the hub all check a move with `check_move`; the words for each problem live in `field_app.labels`.

An office acting offline may still make a move that the referral's status no longer allows once other events
arrive (the agent cancelled meanwhile): the fold keeps such an event and flags it (a conflict shown to both
sides), so `check_move` is for what a person asks now, not for what arrives later. Pure: no clock, no I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from field_app.domain.referrals import (
    CLOSED,
    NEEDS_OUTCOME,
    NEEDS_REASON,
    OFFICE_KINDS,
    TRANSITIONS,
    DeclineReason,
    EventKind,
    Outcome,
    ReferralStatus,
)

DEFAULT_OVERDUE_DAYS = 14


class MoveProblem(StrEnum):
    NOT_OFFICE_MOVE = "not_office_move"  # kind: not a step an office takes (created, sent, revoked)
    NOT_ALLOWED = "not_allowed"  # kind: not from the current status
    REASON_REQUIRED = "reason_required"
    REASON_NOT_EXPECTED = "reason_not_expected"
    OUTCOME_REQUIRED = "outcome_required"
    OUTCOME_NOT_EXPECTED = "outcome_not_expected"
    NOTE_REQUIRED = "note_required"  # `other` as reason or outcome needs a note


@dataclass(frozen=True)
class Issue:
    """One problem with a move: the field at fault (kind, reason, outcome, note) and its code."""

    field: str
    problem: MoveProblem


def next_moves(status: ReferralStatus) -> list[EventKind]:
    """The office moves allowed from `status`, in workflow order."""
    order = [
        EventKind.RECEIVED,
        EventKind.ACCEPTED,
        EventKind.DECLINED,
        EventKind.ENROLLED,
        EventKind.COMPLETED,
        EventKind.NOT_COMPLETED,
    ]
    return [kind for kind in order if status in TRANSITIONS[kind][0]]


def check_move(
    status: ReferralStatus,
    kind: EventKind,
    *,
    reason: DeclineReason | None = None,
    outcome: Outcome | None = None,
    note: str | None = None,
) -> list[Issue]:
    """Every problem with making `kind` (with these details) on a referral now in `status`; empty when fine."""
    issues = check_details(kind, reason=reason, outcome=outcome, note=note)
    if kind not in OFFICE_KINDS:
        return [Issue("kind", MoveProblem.NOT_OFFICE_MOVE), *issues]
    if status not in TRANSITIONS[kind][0]:
        issues.insert(0, Issue("kind", MoveProblem.NOT_ALLOWED))
    return issues


def check_details(
    kind: EventKind,
    *,
    reason: DeclineReason | None = None,
    outcome: Outcome | None = None,
    note: str | None = None,
) -> list[Issue]:
    """What the event itself must carry, whatever the status (the hub checks this on every event it stores)."""
    issues: list[Issue] = []
    if kind in NEEDS_REASON and reason is None:
        issues.append(Issue("reason", MoveProblem.REASON_REQUIRED))
    if kind not in NEEDS_REASON and reason is not None:
        issues.append(Issue("reason", MoveProblem.REASON_NOT_EXPECTED))
    if kind in NEEDS_OUTCOME and outcome is None:
        issues.append(Issue("outcome", MoveProblem.OUTCOME_REQUIRED))
    if kind not in NEEDS_OUTCOME and outcome is not None:
        issues.append(Issue("outcome", MoveProblem.OUTCOME_NOT_EXPECTED))
    if (reason is DeclineReason.OTHER or outcome is Outcome.OTHER) and not (note or "").strip():
        issues.append(Issue("note", MoveProblem.NOTE_REQUIRED))
    return issues


def is_overdue(
    status: ReferralStatus, last_event_at: dt.datetime, now: dt.datetime, days: int = DEFAULT_OVERDUE_DAYS
) -> bool:
    """An open referral with no event for `days` days or more."""
    return status not in CLOSED and now - last_event_at >= dt.timedelta(days=days)


def overdue_cutoff(now: dt.datetime, days: int = DEFAULT_OVERDUE_DAYS) -> dt.datetime:
    """The last-event time at or before which an open referral is overdue (for queries)."""
    return now - dt.timedelta(days=days)
