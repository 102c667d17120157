"""Building the store: migrations once, idempotent builds, incremental updates, all-or-nothing on bad data."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from field_app.directory.build import build_directory
from field_app.errors import ValidationError
from field_app.storage.database import open_db
from field_app.storage.migrations import MIGRATIONS, applied_versions

TABLES = ["localities", "organizations", "locations", "services", "service_locations", "contacts", "phones"]


def dump(db: sqlite_utils.Database) -> dict[str, list[tuple[object, ...]]]:
    out = {t: sorted(tuple(r.values()) for r in db[t].rows) for t in TABLES}
    out["fts"] = sorted(
        db.execute("SELECT service_id, service, organization, places, details FROM services_fts").fetchall()
    )
    return out


def test_migrations_apply_once(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    open_db(path).close()
    db = open_db(path)
    assert applied_versions(db) == {m.version for m in MIGRATIONS}
    assert db.execute("SELECT count(*) FROM _migrations").fetchone()[0] == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_build_twice_gives_the_same_database(fresh_db: sqlite_utils.Database, dataset_copy: Path) -> None:
    first = build_directory(fresh_db, dataset_copy)
    before = dump(fresh_db)
    second = build_directory(fresh_db, dataset_copy)
    assert len(first.added) == 59 and first.localities_changed > 90
    assert (second.added, second.updated, second.removed, second.localities_changed) == ([], [], [], 0)
    assert second.unchanged == 59
    assert dump(fresh_db) == before


def test_a_changed_file_updates_only_that_organisation(fresh_db: sqlite_utils.Database, dataset_copy: Path) -> None:
    build_directory(fresh_db, dataset_copy)
    before = dump(fresh_db)
    path = dataset_copy / "organizations" / "cfp-senou.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("\nname: ", "\nname: Nouveau nom — ", 1), encoding="utf-8")
    report = build_directory(fresh_db, dataset_copy)
    assert report.updated == ["cfp-senou"] and report.unchanged == 58 and not report.added
    after = dump(fresh_db)
    changed_orgs = {r[0] for r in set(after["organizations"]) ^ set(before["organizations"])}
    assert changed_orgs == {"cfp-senou"}
    assert after["services"] == before["services"]


def test_a_removed_file_removes_its_rows(fresh_db: sqlite_utils.Database, dataset_copy: Path) -> None:
    build_directory(fresh_db, dataset_copy)
    (dataset_copy / "organizations" / "donilab.yaml").unlink()
    report = build_directory(fresh_db, dataset_copy)
    assert report.removed == ["donilab"]
    for table in ("services", "locations", "contacts", "phones"):
        assert fresh_db.execute(f"SELECT count(*) FROM {table} WHERE organization_id = 'donilab'").fetchone()[0] == 0
    assert fresh_db.execute("SELECT count(*) FROM services_fts WHERE service_id LIKE 'donilab/%'").fetchone()[0] == 0


BAD_EDITS = [
    ("wrong type", "\nassured_date: 2022-11-01\n", "\nassured_date: bientôt\n", "assured_date"),
    (
        "unknown document",
        "documents: [birth_certificate, nationality_certificate]",
        "documents: [passport]",
        "eligibility.documents",
    ),
    ("missing name", "\nname: Centre de Formation Professionnelle de Missabougou\n", "\n", "name"),
    ("malformed phone", 'as_written: "+223 63.15.72.38"', 'as_written: "+223 63.15"', "contacts[0].phones[0]"),
]


@pytest.mark.parametrize(("case", "old", "new", "field"), BAD_EDITS, ids=[c[0] for c in BAD_EDITS])
def test_a_bad_file_is_reported_and_nothing_is_loaded(
    fresh_db: sqlite_utils.Database, dataset_copy: Path, case: str, old: str, new: str, field: str
) -> None:
    build_directory(fresh_db, dataset_copy)
    before = dump(fresh_db)
    path = dataset_copy / "organizations" / "cfp-missabougou.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    other = dataset_copy / "organizations" / "cfp-senou.yaml"  # a valid change beside the bad one
    other.write_text(other.read_text(encoding="utf-8").replace("\nname: ", "\nname: X ", 1), encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        build_directory(fresh_db, dataset_copy)
    messages = [str(p) for p in info.value.problems]
    assert any(m.startswith(f"organizations/cfp-missabougou.yaml: {field}") for m in messages), messages
    assert dump(fresh_db) == before


def test_a_failure_mid_build_rolls_everything_back(
    fresh_db: sqlite_utils.Database, dataset_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from field_app.directory import build as build_module

    calls = {"n": 0}
    real_insert = build_module._insert_organization

    def failing_insert(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("disk full")
        real_insert(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build_module, "_insert_organization", failing_insert)
    with pytest.raises(RuntimeError):
        build_directory(fresh_db, dataset_copy)
    assert fresh_db.execute("SELECT count(*) FROM organizations").fetchone()[0] == 0
    assert fresh_db.execute("SELECT count(*) FROM localities").fetchone()[0] == 0


def test_moving_a_locality_moves_the_offices_on_it(fresh_db: sqlite_utils.Database, dataset_copy: Path) -> None:
    """Gazetteer corrections (e.g. a quarter "to be verified on the ground") must reach the offices built on it."""
    build_directory(fresh_db, dataset_copy)
    on_senou = {
        r[0]
        for r in fresh_db.execute("SELECT DISTINCT organization_id FROM locations WHERE locality_id = 'bamako-senou'")
    }
    assert on_senou
    gazetteer = dataset_copy / "gazetteer" / "localities.csv"
    text = gazetteer.read_text(encoding="utf-8")
    assert "12.5500,-7.9500" in text
    gazetteer.write_text(text.replace("12.5500,-7.9500", "12.5612,-7.9387"), encoding="utf-8")
    report = build_directory(fresh_db, dataset_copy)
    assert set(report.updated) == on_senou and report.localities_changed == 1
    positions = fresh_db.execute(
        "SELECT DISTINCT latitude, longitude FROM locations WHERE locality_id = 'bamako-senou'"
    ).fetchall()
    assert positions == [(12.5612, -7.9387)]
    offices = fresh_db.execute(
        "SELECT DISTINCT o.latitude, o.longitude FROM service_offices o JOIN locations l ON l.id = o.location_id "
        "WHERE l.locality_id = 'bamako-senou'"
    ).fetchall()
    assert offices == [(12.5612, -7.9387)]
