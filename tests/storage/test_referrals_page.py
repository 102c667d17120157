""" "My referrals" a page at a time: one JOIN per page, keyset paging along an index, the same lines in the same
order as the old way (every referral and its events parsed), at any page size, for everyone or one person."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from field_app.domain.referrals import ReferralStatus
from field_app.errors import NotFound
from field_app.referrals.service import ReferralLine, referral_lines, referral_page
from field_app.storage.database import open_db
from field_app.storage.referrals import (
    PageCursor,
    ReferralSummary,
    count_referrals,
    open_referrals_to,
    referral_lines_page,
    referral_summary,
)
from tests.referrals.seed import seed

PEOPLE, REFERRALS = 60, 400


@pytest.fixture(scope="module")
def db(built_db: sqlite_utils.Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite_utils.Database]:
    """A copy of the built directory with PEOPLE people and REFERRALS referrals (ties, cancels, office moves)."""
    path = tmp_path_factory.mktemp("page") / "field_app.db"
    copy = sqlite3.connect(path)
    built_db.conn.backup(copy)
    copy.close()
    database = open_db(path)
    seed(database, people=PEOPLE, referrals=REFERRALS)
    yield database
    database.close()


def as_tuple(line: ReferralSummary) -> tuple[object, ...]:
    return (
        line.id,
        line.status,
        line.created_at,
        line.updated_at,
        line.returnee_id,
        line.returnee_name or "?",
        line.service_id,
        line.organization,
        line.service,
        line.note,
    )


def naive(line: ReferralLine) -> tuple[object, ...]:
    r = line.stored.referral
    return (
        r.id,
        line.stored.status,
        r.created_at,
        line.stored.updated_at,
        r.returnee_id,
        line.returnee_name,
        r.service_id,
        line.organization,
        line.service,
        r.note,
    )


def newest_first(lines: list[ReferralLine]) -> list[tuple[object, ...]]:
    """The old way's lines in the new order: newest first, then by id from the end (the old way's tie order was
    by id from the start; both are arbitrary within a second, the new one is the index's)."""
    return sorted((naive(x) for x in lines), key=lambda t: (t[2], t[0]), reverse=True)


def every_page(db: sqlite_utils.Database, limit: int, returnee_id: str | None = None) -> list[ReferralSummary]:
    lines: list[ReferralSummary] = []
    page = referral_lines_page(db, returnee_id=returnee_id, limit=limit)
    lines += page.lines
    while page.next is not None:
        assert len(page.lines) == limit  # only the last page is short
        page = referral_lines_page(db, returnee_id=returnee_id, limit=limit, after=page.next)
        lines += page.lines
    return lines


@pytest.mark.parametrize("limit", [1, 7, 50, REFERRALS - 1, REFERRALS, 1000])
def test_pages_hold_what_the_old_way_lists_in_order(db: sqlite_utils.Database, limit: int) -> None:
    expected = newest_first(referral_lines(db))
    assert len(expected) == REFERRALS
    got = [as_tuple(x) for x in every_page(db, limit)]
    assert got == expected


def test_the_seed_has_what_the_page_must_cope_with(db: sqlite_utils.Database) -> None:
    lines = every_page(db, 50)
    created = [x.created_at for x in lines]
    assert len(set(created)) < len(created)  # several referrals made in the same second
    assert {x.status for x in lines} >= {ReferralStatus.QUEUED, ReferralStatus.REVOKED, ReferralStatus.ACCEPTED}
    assert any(x.returnee_name is None for x in lines)  # someone not on this phone
    assert any(x.note for x in lines) and any(x.note is None for x in lines)


def test_one_persons_pages(db: sqlite_utils.Database) -> None:
    someone = db.execute(
        "SELECT returnee_id FROM referrals GROUP BY returnee_id HAVING count(*) > 5 LIMIT 1"
    ).fetchone()[0]
    expected = newest_first(referral_lines(db, someone))
    got = [as_tuple(x) for x in every_page(db, 2, someone)]
    assert got == expected and len(got) > 5
    assert count_referrals(db, returnee_id=someone) == len(expected)
    assert count_referrals(db) == REFERRALS
    assert referral_page(db, returnee_id=someone).total == len(expected)
    nobody = "00000000-0000-4000-8000-000000000000"
    assert referral_lines_page(db, returnee_id=nobody).lines == [] and count_referrals(db, returnee_id=nobody) == 0


def test_a_page_is_one_query_along_an_index(db: sqlite_utils.Database) -> None:
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        first = referral_lines_page(db, limit=50)
        assert first.next is not None
        referral_lines_page(db, limit=50, after=first.next)
    finally:
        db.conn.set_trace_callback(None)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 2  # one per page, names included
    for after, params in (("", []), ("WHERE (r.created_at, r.id) < (?, ?) ", ["2026-03-01", "x"])):
        plan = " ".join(
            str(row[-1])
            for row in db.execute(
                "EXPLAIN QUERY PLAN SELECT r.id FROM referrals r "
                f"{after}ORDER BY r.created_at DESC, r.id DESC LIMIT 51",
                params,
            )
        )
        assert "INDEX" in plan and "TEMP B-TREE" not in plan, plan  # walked along an index, never sorted
    plan = " ".join(
        str(row[-1])
        for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT r.id FROM referrals r WHERE r.returnee_id = ? "
            "ORDER BY r.created_at DESC, r.id DESC LIMIT 51",
            ["x"],
        )
    )
    assert "referrals_returnee_newest" in plan and "TEMP B-TREE" not in plan, plan


def test_open_referrals_to_a_service_read_through_their_index(db: sqlite_utils.Database) -> None:
    line = next(x for x in every_page(db, 100) if x.status is ReferralStatus.QUEUED and x.returnee_name)
    found = open_referrals_to(db, line.returnee_id, line.service_id)
    assert line.id in [x.id for x in found]
    assert all(x.status not in {ReferralStatus.REVOKED, ReferralStatus.DECLINED} for x in found)
    plan = " ".join(
        str(row[-1])
        for row in db.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM referrals WHERE returnee_id = ? AND service_id = ? AND status IN (?, ?)",
            ["a", "b", "queued", "sent"],
        )
    )
    assert "referrals_returnee_service" in plan, plan
    cancelled = next(x for x in every_page(db, 100) if x.status is ReferralStatus.REVOKED)
    assert cancelled.id not in [x.id for x in open_referrals_to(db, cancelled.returnee_id, cancelled.service_id)]


def test_one_line_and_bad_arguments(db: sqlite_utils.Database) -> None:
    first = referral_lines_page(db, limit=3).lines
    assert referral_summary(db, first[1].id) == first[1]
    with pytest.raises(NotFound):
        referral_summary(db, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(ValueError):
        referral_lines_page(db, limit=0)
    end = referral_lines_page(db, after=PageCursor("0000", "0"))
    assert end.lines == [] and end.next is None


def test_an_empty_phone(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    copy = sqlite3.connect(tmp_path / "empty.db")
    built_db.conn.backup(copy)
    copy.close()
    empty = open_db(tmp_path / "empty.db")
    page = referral_page(empty)
    assert (page.lines, page.next, page.total) == ([], None, 0)
    empty.close()
