"""storage.devices and storage.audit on a real migrated SQLite file."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlite_utils

from field_app.storage.audit import count_audit, get_audit, list_audit, mark_reverted, put_audit
from field_app.storage.devices import get_device, list_devices, put_device
from field_app.sync.protocol import AuditEntry, DeviceInfo

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


def _device(name: str, role: str = "office", region: str | None = "kayes", **kw: object) -> DeviceInfo:
    return DeviceInfo.model_validate(
        {"id": str(uuid.uuid4()), "role": role, "region": region, "name": name, "created_at": T0, **kw}
    )


def test_devices_round_trip_and_update(fresh_db: sqlite_utils.Database) -> None:
    a = _device("Kayes office")
    b = _device("Supervisor", role="supervisor", region=None)
    put_device(fresh_db, a)
    put_device(fresh_db, b)
    assert {d.id for d in list_devices(fresh_db)} == {a.id, b.id}
    later = a.model_copy(update={"last_sync_at": T0 + dt.timedelta(hours=1), "pending": 3, "app_version": "0.8"})
    put_device(fresh_db, later)
    assert get_device(fresh_db, a.id) == later
    assert fresh_db.execute("SELECT count(*) FROM devices").fetchone()[0] == 2
    revoked = b.model_copy(update={"revoked_at": T0})
    put_device(fresh_db, revoked)
    assert [d.id for d in list_devices(fresh_db)] == [a.id, b.id]  # active first
    assert get_device(fresh_db, "nope") is None


def _entry(org: str, at: dt.datetime, **kw: object) -> AuditEntry:
    data = {
        "id": str(uuid.uuid4()),
        "edit_id": str(uuid.uuid4()),
        "organization_id": org,
        "field": "phones",
        "before": ["+223 21 00 00 00"],
        "after": ["+223 21 11 11 11"],
        "device_id": str(uuid.uuid4()),
        "role": "office",
        "at": at,
        **kw,
    }
    return AuditEntry.model_validate(data)


def test_audit_newest_first_per_org_and_revert(fresh_db: sqlite_utils.Database) -> None:
    first = _entry("org-a", T0)
    second = _entry("org-b", T0 + dt.timedelta(minutes=5))
    third = _entry("org-a", T0 + dt.timedelta(minutes=10), note="checked by phone")
    for e in (first, second, third):
        put_audit(fresh_db, e)
    assert [e.id for e in list_audit(fresh_db)] == [third.id, second.id, first.id]
    assert [e.id for e in list_audit(fresh_db, organization_id="org-a")] == [third.id, first.id]
    assert [e.id for e in list_audit(fresh_db, offset=1, limit=1)] == [second.id]
    assert count_audit(fresh_db) == 3 and count_audit(fresh_db, organization_id="org-b") == 1
    line = list_audit(fresh_db, organization_id="org-a")[0]
    assert line.note == "checked by phone" and line.after == ["+223 21 11 11 11"] and line.reverted_by is None

    undo = _entry("org-a", T0 + dt.timedelta(hours=1), before=first.after, after=first.before, revert_of=first.id)
    put_audit(fresh_db, undo)
    got = get_audit(fresh_db, first.id)
    assert got is not None and got.reverted_by == undo.id
    put_audit(fresh_db, undo)  # pulled twice: still one row
    assert count_audit(fresh_db) == 4
    mark_reverted(fresh_db, second.id, by=undo.id)
    assert get_audit(fresh_db, second.id).reverted_by == undo.id  # type: ignore[union-attr]


def test_audit_revert_pulled_before_the_reverted_row(fresh_db: sqlite_utils.Database) -> None:
    original = _entry("org-a", T0)
    undo = _entry("org-a", T0 + dt.timedelta(hours=1), revert_of=original.id)
    put_audit(fresh_db, undo)
    put_audit(fresh_db, original)
    assert get_audit(fresh_db, original.id).reverted_by == undo.id  # type: ignore[union-attr]
    assert get_audit(fresh_db, undo.id).reverted_by is None  # type: ignore[union-attr]
