"""`field-app supervisor …` as scripts use it: real processes over a supervisor device's real data directory."""

from __future__ import annotations

import csv
import json
import sqlite3
import uuid
from pathlib import Path

import openpyxl
import pytest

from field_app.storage.database import open_db
from field_app.storage.devices import put_device
from field_app.storage.paths import database_path
from field_app.storage.sync_state import save_enrolment
from field_app.sync.protocol import DeviceInfo
from tests.casework.test_supervisor import NOW, OWN, add_referral, two_orgs
from tests.test_cli import run


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("built")
    result = run("directory", "build", "--data-dir", str(path))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def data(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    source = sqlite3.connect(database_path(built))
    dest = sqlite3.connect(database_path(target))
    source.backup(dest)
    source.close()
    dest.close()
    db = open_db(database_path(target))
    save_enrolment(
        db, hub_url="http://127.0.0.1:9", hub_id="h", device_id=OWN, token="t", role="supervisor", region=None, now=NOW
    )
    quoted, plain = two_orgs(db)
    with db.atomic():
        add_referral(db, quoted, status="completed", kinds=("accepted", "enrolled", "completed"), outcome="trained")
        add_referral(db, quoted, status="received")
        add_referral(db, plain, status="declined", region="segou", kinds=("declined",))
        put_device(
            db,
            DeviceInfo.model_validate(
                {"id": str(uuid.uuid4()), "role": "office", "region": "segou", "name": "Ségou office",
                 "created_at": NOW, "last_sync_at": NOW, "pending": 0, "quarantined": 0, "app_version": "0.8.0"}
            ),
        )  # fmt: skip
    db.close()
    return target


def test_devices_json(data: Path) -> None:
    result = run("supervisor", "devices", "--json", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    [device] = json.loads(result.stdout)
    assert (device["name"], device["role"], device["region"], device["app_version"]) == (
        "Ségou office", "office", "segou", "0.8.0"
    )  # fmt: skip
    text = run("supervisor", "devices", "--data-dir", str(data))
    assert text.returncode == 0 and "Ségou office" in text.stdout


def test_outcomes_json_and_text(data: Path) -> None:
    result = run("supervisor", "outcomes", "--json", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["by_status"] == {"completed": 1, "declined": 1, "received": 1}
    assert out["by_region"] == {"kayes": 2, "segou": 1}
    first = out["partners"][0]
    assert (first["referred"], first["completed"], first["placement_rate"], first["quoted_year"]) == (2, 1, 0.0, 2022)
    kayes = run("supervisor", "outcomes", "--region", "KAYES", "--json", "--data-dir", str(data))
    assert json.loads(kayes.stdout)["by_region"] == {"kayes": 2}
    text = run("supervisor", "outcomes", "--data-dir", str(data))
    assert text.returncode == 0 and "2022" in text.stdout


def test_export_xlsx_and_csv_region_any_case(data: Path, tmp_path: Path) -> None:
    xlsx = tmp_path / "all.xlsx"
    result = run("supervisor", "export", "--xlsx", str(xlsx), "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    rows = list(openpyxl.load_workbook(xlsx, read_only=True).active.iter_rows(values_only=True))  # type: ignore[union-attr, unused-ignore]
    header = list(rows[0])
    assert len(rows) == 4 and {r[header.index("Status")] for r in rows[1:]} == {"completed", "received", "declined"}
    assert {r[header.index("Given name")] for r in rows[1:]} == {"Awa"}
    out = tmp_path / "segou.csv"
    result = run("supervisor", "export", "--csv", str(out), "--region", "Ségou", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    with out.open(encoding="utf-8-sig", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert row["Region"] == "segou" and row["Status"] == "declined"
    db = open_db(database_path(data))
    assert db.execute("SELECT count(*) FROM access_log WHERE via = 'export'").fetchone()[0] == 4
    for what in ("outcomes", "audit"):
        r = run("supervisor", "export", "--csv", str(tmp_path / f"{what}.csv"), "--what", what, "--data-dir", str(data))
        assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    ("args", "field"), [(["--region", "atlantis"], "--region"), (["--status", "lost"], "--status")]
)
def test_bad_region_or_status(data: Path, tmp_path: Path, args: list[str], field: str) -> None:
    out = tmp_path / "x.csv"
    result = run("supervisor", "export", "--csv", str(out), *args, "--data-dir", str(data))
    assert result.returncode == 1 and result.stderr.startswith(f"{field}: ")
    assert not out.exists()
