"""Exports read back with openpyxl and csv: filtered as the inbox, names only for a supervisor with consent,
an access row (and its outbox entry) per exported name, real date cells in XLSX, ISO text in CSV."""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
import sqlite_utils

from field_app.casework.exports import export_audit, export_outcomes, export_referrals
from field_app.casework.office import InboxFilters
from field_app.errors import StorageError, ValidationError
from field_app.i18n import language, set_language
from field_app.storage.audit import put_audit
from field_app.sync.protocol import AccessRecord, AuditEntry
from tests.casework.test_supervisor import NOW, add_referral, device, two_orgs


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    before = language()
    set_language("en")
    yield
    set_language(before)


def seeded(tmp_path: Path, built_db: sqlite_utils.Database, role: str, region: str | None = None) -> tuple[
    sqlite_utils.Database, dict[str, str]
]:  # fmt: skip
    db = device(tmp_path, built_db, role, region)
    quoted, plain = two_orgs(db)
    ids = {
        "received": add_referral(db, quoted, status="received"),
        "completed": add_referral(
            db, quoted, status="completed", kinds=("accepted", "enrolled", "completed"), outcome="job_placement"
        ),
        "nobody": add_referral(db, plain, status="accepted", kinds=("accepted",), person=None),
        "segou": add_referral(db, plain, status="declined", region="segou", kinds=("declined",)),
    }
    return db, ids


def rows_xlsx(path: Path) -> list[dict[str, object]]:
    sheet = openpyxl.load_workbook(path, read_only=True).active
    values = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr, unused-ignore]
    header = [str(h) for h in values[0]]
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


def access(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.execute("SELECT referral_id, via FROM access_log ORDER BY referral_id")]


def test_supervisor_xlsx_names_with_consent_and_access_rows(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db, ids = seeded(tmp_path, built_db, "supervisor")
    out = tmp_path / "referrals.xlsx"
    assert export_referrals(db, out, fmt="xlsx", now=NOW) == 4
    rows = {r["Referral id"]: r for r in rows_xlsx(out)}
    assert set(rows) == set(ids.values())
    done = rows[ids["completed"]]
    assert (done["Status"], done["Outcome"], done["Given name"], done["Phone"]) == (
        "completed", "job_placement", "Awa", "+22376000000"
    )  # fmt: skip
    assert isinstance(done["Created"], dt.datetime)  # a real date cell
    assert rows[ids["nobody"]]["Given name"] is None  # no shared details on this device: no name
    exported = sorted(i for k, i in ids.items() if k != "nobody")
    assert access(db) == [(i, "export") for i in exported]
    entries = [
        AccessRecord.model_validate_json(p) for (p,) in db.execute("SELECT payload FROM outbox WHERE entity = 'access'")
    ]
    assert sorted(e.referral_id or "" for e in entries) == exported and all(e.via == "export" for e in entries)


def test_filters_and_csv(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db, ids = seeded(tmp_path, built_db, "supervisor")
    out = tmp_path / "kayes.csv"
    n = export_referrals(db, out, fmt="csv", filters=InboxFilters(status="completed"), region="kayes", now=NOW)
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert n == 1 and [r["Referral id"] for r in rows] == [ids["completed"]]
    assert dt.datetime.fromisoformat(rows[0]["Created"]).tzinfo is not None  # ISO with its offset
    assert rows[0]["Family name"] == "Traoré"
    assert access(db) == [(ids["completed"], "export")]
    by_text = export_referrals(db, tmp_path / "t.csv", fmt="csv", filters=InboxFilters(text="traore"), now=NOW)
    assert by_text == 3


def test_office_export_has_no_names_and_only_its_region(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db, ids = seeded(tmp_path, built_db, "office", "kayes")
    out = tmp_path / "office.xlsx"
    assert export_referrals(db, out, fmt="xlsx", region="segou", now=NOW) == 3
    rows = rows_xlsx(out)
    assert "Given name" not in rows[0] and "Phone" not in rows[0]
    assert ids["segou"] not in {r["Referral id"] for r in rows}
    assert access(db) == [] and db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_outcomes_and_audit(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db, _ids = seeded(tmp_path, built_db, "supervisor")
    out = tmp_path / "outcomes.xlsx"
    assert export_outcomes(db, out, fmt="xlsx", now=NOW) == 2
    quoted, _plain = two_orgs(db)
    first = next(r for r in rows_xlsx(out) if r["Partner id"] == quoted)
    assert first["Referred"] == 2 and first["Placement rate (measured)"] == 1.0
    assert first["Year of the quoted rate"] == 2022 and isinstance(
        first["Insertion rate quoted in the 2022 report"], float
    )
    entry = AuditEntry(id=str(uuid.uuid4()), edit_id=str(uuid.uuid4()), organization_id="apej", field="phones",
                       before=None, after=[{"as_written": "76 12 34 56", "e164": "+22376123456"}],
                       device_id=str(uuid.uuid4()), role="office", at=NOW, note="called")  # fmt: skip
    put_audit(db, entry)
    csv_out = tmp_path / "audit.csv"
    assert export_audit(db, csv_out, fmt="csv", now=NOW) == 1
    with csv_out.open(encoding="utf-8-sig", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert (
        row["Field"] == "phones" and json.loads(row["After"])[0]["e164"] == "+22376123456" and row["Note"] == "called"
    )


def test_french_headers_and_bad_format(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db, _ids = seeded(tmp_path, built_db, "supervisor")
    set_language("fr")
    try:
        export_outcomes(db, tmp_path / "fr.csv", fmt="csv", now=NOW)
    finally:
        set_language("en")
    header = (tmp_path / "fr.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert "Partenaire" in header
    with pytest.raises(ValidationError):
        export_referrals(db, tmp_path / "x.pdf", fmt="pdf", now=NOW)
    assert not (tmp_path / "x.pdf").exists() and access(db) == []


def test_failed_export_leaves_no_access_row(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db, _ids = seeded(tmp_path, built_db, "supervisor")
    folder = tmp_path / "a-folder.xlsx"
    folder.mkdir()  # xlsxwriter writes the file when it closes, after every row (and access row) is done
    with pytest.raises(StorageError):
        export_referrals(db, folder, fmt="xlsx", now=NOW)
    assert access(db) == [] and db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
