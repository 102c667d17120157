"""HSDS 3.0 export: the expected files and columns, stable ids; import reads back exactly what was exported."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pytest
import sqlite_utils

from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset, load_dataset
from field_app.directory.hsds import TABLES, export_hsds, import_hsds, stable_id, write_dataset_files
from field_app.errors import ValidationError
from field_app.storage.database import open_db

EXPECTED = {
    "organization", "service", "location", "service_at_location", "phone", "contact", "address",
    "required_document", "cost_option", "schedule",
}  # fmt: skip


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset) -> Path:
    out = tmp_path_factory.mktemp("hsds")
    export_hsds(dataset, out)
    return out


def test_package_files_and_columns(package: Path) -> None:
    meta = json.loads((package / "datapackage.json").read_text(encoding="utf-8"))
    assert {r["name"] for r in meta["resources"]} >= EXPECTED
    for resource in meta["resources"]:
        rows = read(package / resource["path"])
        assert list(rows[0]) == [f["name"] for f in resource["schema"]["fields"]] == TABLES[resource["name"]]
    service = read(package / "service.csv")
    assert {"minimum_age", "maximum_age", "organization_id"} <= set(service[0])


def test_ids_are_uuids_and_references_resolve(package: Path) -> None:
    ids = {t: {r["id"] for r in read(package / f"{t}.csv")} for t in TABLES}
    for rows in ids.values():
        for value in rows:
            uuid.UUID(value)
    assert {r["organization_id"] for r in read(package / "service.csv")} <= ids["organization"]
    sal = read(package / "service_at_location.csv")
    assert {r["service_id"] for r in sal} <= ids["service"] and {r["location_id"] for r in sal} <= ids["location"]
    assert {r["service_id"] for r in read(package / "cost_option.csv")} <= ids["service"]


def test_phones_are_e164_and_ages_are_exported(package: Path) -> None:
    phones = read(package / "phone.csv")
    assert phones and all(p["number"].startswith("+223") and p["number"][1:].isdigit() for p in phones)
    missabougou = [r for r in read(package / "service.csv") if r["name"] == "Menuiserie-bois"]
    assert missabougou[0]["minimum_age"] == "15"


def test_a_stated_period_is_a_schedule(package: Path, dataset: Dataset) -> None:
    schedules = {r["service_id"]: r for r in read(package / "schedule.csv")}
    dated = [(o, s) for o in dataset.organizations for s in o.services if s.start_date or s.end_date]
    assert len(schedules) == len(dated) > 40
    for org, svc in dated:
        row = schedules[stable_id("service", org.id, svc.id)]
        assert row["valid_from"] == (svc.start_date.isoformat() if svc.start_date else "")
        assert row["valid_to"] == (svc.end_date.isoformat() if svc.end_date else "")
        assert row["description"] == svc.period_text
    facej = schedules[stable_id("service", "danida", "facej")]
    assert (facej["valid_from"], facej["valid_to"]) == ("2019-01-01", "2024-12-31")


def test_two_exports_are_identical(package: Path, dataset: Dataset, tmp_path: Path) -> None:
    export_hsds(dataset, tmp_path)
    for name in ["datapackage.json", *(f"{t}.csv" for t in TABLES)]:
        assert (tmp_path / name).read_bytes() == (package / name).read_bytes(), name


def test_round_trip_is_lossless(package: Path, dataset: Dataset) -> None:
    imported = import_hsds(package)
    assert sorted(imported, key=lambda o: o.id) == sorted(dataset.organizations, key=lambda o: o.id)


def test_round_trip_through_the_store(
    package: Path, dataset: Dataset, built_db: sqlite_utils.Database, tmp_path: Path
) -> None:
    db = open_db(tmp_path / "imported.db")
    build_directory(db, dataset=Dataset(import_hsds(package), dataset.localities))
    query = "SELECT id, content_hash FROM organizations ORDER BY id"
    assert list(db.query(query)) == list(built_db.query(query))


def test_round_trip_through_yaml_files(package: Path, dataset: Dataset, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(Path(__file__).resolve().parents[2] / "db" / "gazetteer", tmp_path / "gazetteer")
    write_dataset_files(import_hsds(package), tmp_path)
    again = load_dataset(tmp_path)
    assert sorted(again.organizations, key=lambda o: o.id) == sorted(dataset.organizations, key=lambda o: o.id)


def test_a_damaged_package_is_refused_with_the_field(package: Path, tmp_path: Path) -> None:
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(package, damaged)
    path = damaged / "organization.csv"
    rows = read(path)
    doc = json.loads(rows[0]["x_passerelle_document"])
    doc["kind"] = "spaceship"
    rows[0]["x_passerelle_document"] = json.dumps(doc)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValidationError) as info:
        import_hsds(damaged)
    assert next(str(p) for p in info.value.problems).startswith("organization.csv: line 2.x_passerelle_document.kind")
    with pytest.raises(ValidationError):
        import_hsds(tmp_path / "nothing-here")
