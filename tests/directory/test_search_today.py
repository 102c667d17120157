"""The directory search on a given day: a service past its stated end has ended, one whose start is ahead is
planned (domain.directory.status_on), and "active first" means active on that day — in the search and on the
directory screen, which asks with its clock's date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlite_utils

from bench.synthetic import synthetic_dataset
from field_app.directory.build import build_directory
from field_app.directory.search import search
from field_app.storage.database import open_db
from field_app.ui.viewmodels.directory import DirectoryViewModel

TODAY = dt.date(2026, 12, 2)


@pytest.fixture
def db(tmp_path: Path) -> sqlite_utils.Database:
    db = open_db(tmp_path / "dated.db")
    build_directory(db, dataset=synthetic_dataset(120, seed=4))
    return db


def first_active(db: sqlite_utils.Database) -> str:
    """The service the directory lists first without a day: an active one, as recorded."""
    hit = search(db, "", limit=1)[0]
    assert hit.status == "active"
    return hit.service_id


def test_past_its_end_a_service_has_ended(db: sqlite_utils.Database) -> None:
    sid = first_active(db)
    db.execute("UPDATE services SET start_date = '2022-01-01', end_date = '2023-06-30' WHERE id = ?", [sid])
    status = {h.service_id: h.status for h in search(db, "", limit=None, today=TODAY)}
    assert status[sid] == "inactive"  # ServiceStatus.ENDED
    assert {h.service_id: h.status for h in search(db, "", limit=None)}[sid] == "active"  # as recorded
    on_the_last_day = {h.service_id: h.status for h in search(db, "", limit=None, today=dt.date(2023, 6, 30))}
    assert on_the_last_day[sid] == "active"


def test_before_its_start_a_service_is_planned(db: sqlite_utils.Database) -> None:
    sid = first_active(db)
    db.execute("UPDATE services SET start_date = '2027-01-15', end_date = NULL WHERE id = ?", [sid])
    assert {h.service_id: h.status for h in search(db, "", limit=None, today=TODAY)}[sid] == "planned"


def test_an_ended_service_comes_after_the_active_ones(db: sqlite_utils.Database) -> None:
    sid = first_active(db)
    db.execute("UPDATE services SET start_date = NULL, end_date = '2023-06-30' WHERE id = ?", [sid])
    kind = dict(db.execute("SELECT id, kind FROM organizations").fetchall())
    hits = [h for h in search(db, "", limit=None, today=TODAY) if kind[h.organization_id] != "donor_programme"]
    position = [h.service_id for h in hits].index(sid)
    active = [h for h in hits if h.status == "active"]
    assert position >= len(active) > 0  # not donor programmes: the active ones, then the others
    assert all(h.status == "active" for h in hits[: len(active)])
    assert search(db, "", limit=1)[0].service_id == sid  # without a day, still first


def test_the_directory_screen_asks_on_its_clock_s_day(db: sqlite_utils.Database) -> None:
    sid = first_active(db)
    db.execute("UPDATE services SET start_date = NULL, end_date = '2023-06-30' WHERE id = ?", [sid])
    undated = DirectoryViewModel(db, limit=5)
    dated = DirectoryViewModel(db, limit=5, clock=lambda: dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC))
    assert undated.rows[0].service_id == sid
    assert sid not in [r.service_id for r in dated.rows]
