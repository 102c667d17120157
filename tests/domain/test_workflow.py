"""The office workflow, table-tested: which move from which status, and what each move must carry.

The table below is written out by hand from the issue (received → accepted | declined → enrolled → completed |
not completed), not derived from the code's TRANSITIONS, so a change of the rules must change it too.
"""

from __future__ import annotations

import datetime as dt

import pytest

from field_app.domain.referrals import DeclineReason, EventKind, Outcome, ReferralStatus
from field_app.domain.workflow import Issue, MoveProblem, check_details, check_move, is_overdue, next_moves

S, K = ReferralStatus, EventKind
# status → the office moves allowed from it
ALLOWED: dict[ReferralStatus, list[EventKind]] = {
    S.QUEUED: [K.RECEIVED, K.ACCEPTED, K.DECLINED],  # an office device may hold a referral not yet marked sent
    S.SENT: [K.RECEIVED, K.ACCEPTED, K.DECLINED],
    S.RECEIVED: [K.ACCEPTED, K.DECLINED],
    S.ACCEPTED: [K.ENROLLED, K.NOT_COMPLETED],
    S.ENROLLED: [K.COMPLETED, K.NOT_COMPLETED],
    S.DECLINED: [],
    S.COMPLETED: [],
    S.NOT_COMPLETED: [],
    S.REVOKED: [],
}
OFFICE_MOVES = [K.RECEIVED, K.ACCEPTED, K.DECLINED, K.ENROLLED, K.COMPLETED, K.NOT_COMPLETED]


def complete(kind: EventKind) -> dict[str, object]:
    """What a move needs to be well formed on its own."""
    if kind in (K.DECLINED, K.NOT_COMPLETED):
        return {"reason": DeclineReason.PARTNER_FULL}
    if kind is K.COMPLETED:
        return {"outcome": Outcome.JOB_PLACEMENT}
    return {}


@pytest.mark.parametrize("status", list(ReferralStatus))
def test_next_moves_follow_the_table(status: ReferralStatus) -> None:
    assert next_moves(status) == ALLOWED[status]


@pytest.mark.parametrize("status", list(ReferralStatus))
@pytest.mark.parametrize("kind", OFFICE_MOVES)
def test_each_move_from_each_status(status: ReferralStatus, kind: EventKind) -> None:
    issues = check_move(status, kind, **complete(kind))
    if kind in ALLOWED[status]:
        assert issues == []
    else:
        assert issues == [Issue("kind", MoveProblem.NOT_ALLOWED)]


@pytest.mark.parametrize("kind", [K.CREATED, K.SENT, K.REVOKED])
def test_steps_that_are_not_an_office_s(kind: EventKind) -> None:
    assert check_move(S.SENT, kind)[0] == Issue("kind", MoveProblem.NOT_OFFICE_MOVE)


@pytest.mark.parametrize(
    ("kind", "details", "expected"),
    [
        (K.DECLINED, {}, [Issue("reason", MoveProblem.REASON_REQUIRED)]),
        (K.NOT_COMPLETED, {}, [Issue("reason", MoveProblem.REASON_REQUIRED)]),
        (K.COMPLETED, {}, [Issue("outcome", MoveProblem.OUTCOME_REQUIRED)]),
        (K.ACCEPTED, {"reason": DeclineReason.PARTNER_FULL}, [Issue("reason", MoveProblem.REASON_NOT_EXPECTED)]),
        (K.DECLINED, {"reason": DeclineReason.OTHER}, [Issue("note", MoveProblem.NOTE_REQUIRED)]),
        (K.DECLINED, {"reason": DeclineReason.OTHER, "note": "   "}, [Issue("note", MoveProblem.NOTE_REQUIRED)]),
        (K.DECLINED, {"reason": DeclineReason.OTHER, "note": "moved to Bamako"}, []),
        (K.COMPLETED, {"outcome": Outcome.OTHER}, [Issue("note", MoveProblem.NOTE_REQUIRED)]),
        (K.COMPLETED, {"outcome": Outcome.TRAINED, "note": "certificate"}, []),
        (
            K.ENROLLED,
            {"outcome": Outcome.TRAINED, "reason": DeclineReason.NOT_ELIGIBLE},
            [Issue("reason", MoveProblem.REASON_NOT_EXPECTED), Issue("outcome", MoveProblem.OUTCOME_NOT_EXPECTED)],
        ),
    ],
)
def test_what_each_move_must_carry(kind: EventKind, details: dict[str, object], expected: list[Issue]) -> None:
    assert check_details(kind, **details) == expected


NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("status", "quiet_days", "days", "overdue"),
    [
        (S.SENT, 14, 14, True),
        (S.SENT, 13.9, 14, False),
        (S.ACCEPTED, 30, 14, True),
        (S.ENROLLED, 8, 7, True),
        (S.COMPLETED, 400, 14, False),
        (S.DECLINED, 400, 14, False),
        (S.NOT_COMPLETED, 400, 14, False),
        (S.REVOKED, 400, 14, False),
    ],
)
def test_overdue_is_an_open_referral_quiet_for_n_days(
    status: ReferralStatus, quiet_days: float, days: int, overdue: bool
) -> None:
    assert is_overdue(status, NOW - dt.timedelta(days=quiet_days), NOW, days) is overdue
