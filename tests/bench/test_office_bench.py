"""The office bench's synthetic referrals are valid rows and its naive scan agrees with the real inbox (so the
bench compares like with like)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from bench.office import NOW, PAGE, REGION, naive_inbox, seed_referrals
from field_app.casework import office as office_api
from field_app.domain.referrals import ReferralStatus
from field_app.storage.database import open_db


def test_naive_scan_matches_the_inbox(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    path = tmp_path / "office.db"
    target = sqlite3.connect(path)
    built_db.conn.backup(target)
    target.close()
    db = open_db(path)
    seed_referrals(db, 400, seed=3)
    statuses = {r[0] for r in db.execute("SELECT DISTINCT status FROM referrals")}
    assert statuses <= {s.value for s in ReferralStatus} and len(statuses) >= 6
    assert db.execute("SELECT count(*) FROM shared_persons").fetchone()[0] == 400
    assert db.execute("SELECT count(*) FROM referrals WHERE flagged != '[]'").fetchone()[0] > 0
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    F = office_api.InboxFilters
    for filters in (F(), F(status="received"), F(text="traore"), F(text="TRAORÉ"), F(overdue_only=True)):
        page = office_api.inbox(db, region=REGION, filters=filters, now=NOW, limit=PAGE)
        ids, total = naive_inbox(db, filters, region=REGION, now=NOW)
        assert page.total == total > 0, filters
        assert [i.id for i in page.items] == ids, filters
