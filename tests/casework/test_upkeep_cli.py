"""`field-app directory edit` as scripts use it: a real process on a real data directory."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from pathlib import Path

import pytest

from field_app.directory.edits import regions_of
from field_app.domain.directory import Organization
from field_app.storage.database import open_db
from field_app.storage.paths import database_path
from field_app.storage.sync_state import save_enrolment
from tests.test_cli import run


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("built")
    result = run("directory", "build", "--data-dir", str(path))
    assert result.returncode == 0, result.stderr
    return path


def enrolled(built: Path, tmp_path: Path, role: str, region: str | None) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    for file in built.glob("field_app.db*"):
        shutil.copy(file, target / file.name)
    db = open_db(database_path(target))
    save_enrolment(
        db,
        hub_url="http://127.0.0.1:9",
        hub_id="hub-1",
        device_id=str(uuid.uuid4()),
        token="secret",
        role=role,
        region=region,
        now=dt.datetime.now(dt.UTC),
    )
    db.close()
    return target


def read(data_dir: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    db = open_db(database_path(data_dir))
    try:
        return [tuple(r) for r in db.execute(sql, list(params)).fetchall()]
    finally:
        db.close()


def pick(data_dir: Path, in_kayes: bool) -> Organization:
    orgs = [Organization.model_validate_json(str(r[0])) for r in read(data_dir, "SELECT document FROM organizations")]
    return next(o for o in orgs if ("kayes" in {r.value for r in regions_of(o)}) == in_kayes and o.locations)


def test_office_edits_phones_status_note_and_verified(built: Path, tmp_path: Path) -> None:
    data = enrolled(built, tmp_path, "office", "kayes")
    org = pick(data, True)
    service = org.services[0].id
    result = run(
        "directory", "edit", org.id,
        "--set", "phones=76 12 34 56, 66 00 11 22",
        "--set", f"services/{service}/status=full",
        "--set", "notes=new director",
        "--verified-today",
        "--note", "checked by phone",
        "--data-dir", str(data),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert org.name in result.stdout
    doc = Organization.model_validate_json(
        str(read(data, "SELECT document FROM organizations WHERE id = ?", org.id)[0][0])
    )
    assert [p.e164 for p in doc.phones] == ["+22376123456", "+22366001122"]
    assert doc.services[0].status == "full" and doc.notes[-1] == "new director"
    assert doc.assured_date == dt.datetime.now(dt.UTC).date()
    [(entity, payload)] = read(data, "SELECT entity, payload FROM outbox")
    assert entity == "directory_edit"
    edit = json.loads(str(payload))
    assert edit["note"] == "checked by phone" and edit["organization_id"] == org.id
    assert {c["field"] for c in edit["changes"]} == {"phones", f"services/{service}/status", "notes", "assured_date"}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--set", "phones=not a phone"], "phones[0]"),
        (["--set", "services/x/status=full"], "services/x/status"),
        (["--set", "colour=blue"], "colour"),
        (["--set", "nonsense"], "nonsense"),
        ([], "--set"),
    ],
)
def test_bad_input_exit_1_field_named_nothing_written(built: Path, tmp_path: Path, args: list[str], field: str) -> None:
    data = enrolled(built, tmp_path, "office", "kayes")
    org = pick(data, True)
    before = read(data, "SELECT document FROM organizations ORDER BY id")
    result = run("directory", "edit", org.id, *args, "--data-dir", str(data))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{field}: "), result.stderr
    assert read(data, "SELECT document FROM organizations ORDER BY id") == before
    assert read(data, "SELECT count(*) FROM outbox") == [(0,)]


def test_another_regions_partner_is_refused(built: Path, tmp_path: Path) -> None:
    data = enrolled(built, tmp_path, "office", "kayes")
    org = pick(data, False)
    result = run("directory", "edit", org.id, "--verified-today", "--data-dir", str(data))
    assert result.returncode == 1 and result.stderr.startswith("organization: "), result.stderr
    assert read(data, "SELECT count(*) FROM outbox") == [(0,)]
    unknown = run("directory", "edit", "no-such-org", "--verified-today", "--data-dir", str(data))
    assert unknown.returncode == 1 and "no-such-org" in unknown.stderr
