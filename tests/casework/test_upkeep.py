"""Directory upkeep on the device: applied locally at once (with the search rows) and queued for the hub in one
transaction; refused with the field named, nothing written, when wrong or not this device's to edit."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from field_app.casework import upkeep
from field_app.directory.edits import regions_of
from field_app.domain.directory import Organization
from field_app.errors import ValidationError
from field_app.storage.audit import get_audit, put_audit
from field_app.storage.database import open_db
from field_app.storage.sync_state import save_enrolment
from field_app.sync.protocol import AuditEntry, DirectoryEdit

NOW = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)


def device(tmp_path: Path, built_db: sqlite_utils.Database, role: str | None, region: str | None) -> Any:
    path = tmp_path / f"{role}-{region}.db"
    target = sqlite3.connect(path)
    built_db.conn.backup(target)
    target.close()
    db = open_db(path)
    if role is not None:
        save_enrolment(
            db,
            hub_url="http://127.0.0.1:9",
            hub_id="hub-1",
            device_id=str(uuid.uuid4()),
            token="secret",
            role=role,
            region=region,
            now=NOW,
        )
    return db


def orgs(db: sqlite_utils.Database) -> list[Organization]:
    return [Organization.model_validate_json(r[0]) for r in db.execute("SELECT document FROM organizations")]


def kayes_org(db: sqlite_utils.Database) -> Organization:
    return next(o for o in orgs(db) if "kayes" in {r.value for r in regions_of(o)} and o.locations)


def not_kayes_org(db: sqlite_utils.Database) -> Organization:
    return next(o for o in orgs(db) if "kayes" not in {r.value for r in regions_of(o)})


def snapshot(db: sqlite_utils.Database) -> dict[str, list[tuple[Any, ...]]]:
    tables = ("organizations", "services", "phones", "contacts", "outbox", "service_offices", "service_coverage")
    return {t: sorted(db.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables}


def outbox(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return [dict(r) for r in db.query("SELECT * FROM outbox ORDER BY seq")]


def test_office_corrects_a_phone_applied_and_queued(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "office", "kayes")
    org = kayes_org(db)
    edited = upkeep.edit(db, org.id, [("phones", ["76 12 34 56"])], note="called them", now=NOW)
    assert [p.e164 for p in edited.phones] == ["+22376123456"]
    assert edited.added_by == "office"
    stored = upkeep.load_organization(db, org.id)
    assert stored == edited
    phones = db.execute("SELECT e164 FROM phones WHERE organization_id = ? AND contact_id IS NULL", [org.id])
    assert [r[0] for r in phones] == ["+22376123456"]
    [entry] = outbox(db)
    assert (entry["entity"], entry["op"]) == ("directory_edit", "append")
    payload = DirectoryEdit.model_validate(json.loads(entry["payload"]))
    assert payload.id == entry["entity_id"] and payload.organization_id == org.id
    assert [(c.field, c.value) for c in payload.changes] == [("phones", ["76 12 34 56"])]
    assert payload.note == "called them" and payload.at == NOW


def test_service_full_suspended_ended_and_search_rows_follow(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "office", "kayes")
    org = kayes_org(db)
    service = org.services[0]
    for status in ("full", "suspended", "inactive"):
        upkeep.set_service_status(db, org.id, service.id, status, now=NOW)
        row = db.execute("SELECT status FROM services WHERE id = ?", [f"{org.id}/{service.id}"]).fetchone()
        assert row[0] == status
    # the full-text and nearby rows were rewritten too: the service is still found by name
    hits = db.execute("SELECT service_id FROM services_fts WHERE service_id = ?", [f"{org.id}/{service.id}"]).fetchall()
    assert hits == [(f"{org.id}/{service.id}",)]
    assert len(outbox(db)) == 3


def test_verified_today_and_note(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "supervisor", None)
    org = not_kayes_org(db)  # a supervisor may edit any organisation
    assert upkeep.verified_today(db, org.id, now=NOW).assured_date == NOW.date()
    assert db.execute("SELECT assured_date FROM organizations WHERE id = ?", [org.id]).fetchone()[0] == "2026-03-02"
    noted = upkeep.add_note(db, org.id, "  new   director since January ", now=NOW)
    assert noted.notes[-1] == "new director since January" and noted.notes[:-1] == org.notes
    assert len(outbox(db)) == 2
    upkeep.verified_today(db, org.id, now=NOW)  # nothing changes: nothing queued
    assert len(outbox(db)) == 2


def test_bad_field_values_name_the_field_nothing_written(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "office", "kayes")
    org = kayes_org(db)
    before = snapshot(db)
    with pytest.raises(ValidationError) as err:
        upkeep.edit(db, org.id, [("phones", ["not a phone"]), ("services/nope/status", "full")], now=NOW)
    assert {p.field for p in err.value.problems} == {"phones[0]", "services/nope/status"}
    with pytest.raises(ValidationError) as err:
        upkeep.edit(db, org.id, [(f"services/{org.services[0].id}/status", "closed")], now=NOW)
    assert [p.field for p in err.value.problems] == [f"services/{org.services[0].id}/status"]
    with pytest.raises(ValidationError) as err:
        upkeep.edit(db, org.id, [("website", "x")], note="n" * 501, now=NOW)
    assert [p.field for p in err.value.problems] == ["note"]
    assert snapshot(db) == before


@pytest.mark.parametrize(("role", "region"), [("office", "kayes"), ("agent", None), (None, None)])
def test_not_this_devices_to_edit(
    tmp_path: Path, built_db: sqlite_utils.Database, role: str | None, region: str | None
) -> None:
    db = device(tmp_path, built_db, role, region)
    org = not_kayes_org(db)
    before = snapshot(db)
    with pytest.raises(ValidationError) as err:
        upkeep.edit(db, org.id, [("website", "https://example.org")], now=NOW)
    assert [p.field for p in err.value.problems] == ["organization"]
    assert snapshot(db) == before


def test_editable_organizations_follow_the_region(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, None, None)
    everything = upkeep.editable_organizations(db, role="supervisor", region=None)
    kayes = upkeep.editable_organizations(db, role="office", region="kayes")
    assert len(everything) == len(orgs(db)) and 0 < len(kayes) < len(everything)
    assert set(kayes) <= set(everything)
    assert upkeep.editable_organizations(db, role="agent", region=None) == []


def _audit_row(org: Organization, **kw: Any) -> AuditEntry:
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "edit_id": str(uuid.uuid4()),
        "organization_id": org.id,
        "field": "website",
        "before": org.website,
        "after": "https://wrong.example.org",
        "device_id": str(uuid.uuid4()),
        "role": "office",
        "at": NOW - dt.timedelta(days=1),
    }
    data.update(kw)
    return AuditEntry.model_validate(data)


def test_supervisor_reverts_an_audited_edit(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "supervisor", None)
    org = kayes_org(db)
    upkeep.edit(db, org.id, [("website", "https://wrong.example.org")], now=NOW)  # as the pulled edit left it
    row = _audit_row(org)
    put_audit(db, row)
    assert [a.id for a in upkeep.audit(db, organization_id=org.id)] == [row.id]
    restored = upkeep.revert(db, row.id, note="wrong site", now=NOW)
    assert restored.website == org.website
    payload = DirectoryEdit.model_validate(json.loads(outbox(db)[-1]["payload"]))
    assert payload.revert_of == row.id and payload.changes == [] and payload.note == "wrong site"
    # the hub's own audit row for the revert arrives: the row is marked, a second revert is refused
    put_audit(db, _audit_row(org, before=row.after, after=row.before, revert_of=row.id, role="supervisor"))
    assert get_audit(db, row.id).reverted_by is not None  # type: ignore[union-attr]
    before = snapshot(db)
    with pytest.raises(ValidationError) as err:
        upkeep.revert(db, row.id, now=NOW)
    assert [p.field for p in err.value.problems] == ["audit"]
    assert snapshot(db) == before


def test_office_cannot_revert(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    db = device(tmp_path, built_db, "office", "kayes")
    org = kayes_org(db)
    row = _audit_row(org)
    put_audit(db, row)
    before = snapshot(db)
    with pytest.raises(ValidationError):
        upkeep.revert(db, row.id, now=NOW)
    assert snapshot(db) == before
