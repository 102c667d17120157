"""Migration 13 on a store built before it: the full-text index gets its prefix indexes with the same rows under
the same rowids (the nearby indexes point at them), the organisations their search-order index, and every search
answers as before the upgrade."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import sqlite_utils

from bench.synthetic import synthetic_dataset
from field_app.directory.build import build_directory
from field_app.directory.search import search
from field_app.storage.database import open_db
from field_app.storage.migrations import MIGRATIONS, apply_migrations

BAMAKO = (12.60915, -7.97522)
QUESTIONS = [("", None), ("", BAMAKO), ("m", None), ("m", BAMAKO), ("couture", BAMAKO), ("de", None)]


def answers(db: sqlite_utils.Database) -> list[list[tuple[object, ...]]]:
    return [[dataclasses.astuple(h) for h in search(db, text, near=near, limit=None)] for text, near in QUESTIONS]


def test_upgrade_keeps_rows_rowids_and_answers(tmp_path: Path) -> None:
    db = open_db(tmp_path / "old.db", migrate=False)
    apply_migrations(db, [m for m in MIGRATIONS if m.version < 13])
    build_directory(db, dataset=synthetic_dataset(400, seed=2))
    fts = "SELECT rowid, service_id, service, organization, places, details FROM services_fts ORDER BY rowid"
    before_rows = db.execute(fts).fetchall()
    before = answers(db)
    assert "prefix" not in db.execute("SELECT sql FROM sqlite_master WHERE name = 'services_fts'").fetchone()[0]

    assert apply_migrations(db, [m for m in MIGRATIONS if m.version <= 13]) == [13]

    assert "prefix = '1 2 3'" in db.execute("SELECT sql FROM sqlite_master WHERE name = 'services_fts'").fetchone()[0]
    assert db.execute(fts).fetchall() == before_rows
    assert "services_fts_v1" not in db.table_names()
    orphans = db.execute(
        "SELECT count(*) FROM service_offices WHERE doc NOT IN (SELECT rowid FROM services_fts)"
    ).fetchone()[0]
    assert orphans == 0
    plan = db.execute(
        "EXPLAIN QUERY PLAN SELECT id, name FROM organizations WHERE (kind = 'donor_programme') = 0 ORDER BY name"
    ).fetchall()
    assert any("organizations_search_order" in str(row) for row in plan)
    assert answers(db) == before and all(before)
    build_directory(db, dataset=synthetic_dataset(400, seed=3))  # the build writes the new table as the old one
    assert db.execute("SELECT count(*) FROM services_fts").fetchone()[0] == 400
    assert len(search(db, "m", limit=None)) == len(search(db, "", limit=None)) > 300
