"""Enrolled devices as supervisors see them: role, region, name, last sync, queue counts and app version as each
device last reported them (`POST /api/v1/devices/report` at the end of every sync), revoked or not.

Every change to a device row (enrolment, report, revocation) appends a `device` change that only supervisors
pull, so a supervisor's device holds the list offline. API tokens (kind `token`) are not devices and are left out.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from field_app.errors import NotFound
from field_app.hub import auth, changes
from field_app.hub.db import Tx, stamp
from field_app.sync.protocol import DeviceInfo, DeviceReport


def _time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def info(row: dict[str, Any]) -> DeviceInfo:
    created = _time(row["created_at"])
    assert created is not None
    return DeviceInfo(
        id=row["id"],
        role=row["role"],
        region=row["region"],
        name=row["name"],
        created_at=created,
        revoked_at=_time(row["revoked_at"]),
        last_sync_at=_time(row["last_sync_at"]),
        pending=row["pending"],
        quarantined=row["quarantined"],
        app_version=row["app_version"],
    )


def get(tx: Tx, device_id: str) -> DeviceInfo | None:
    row = tx.one("SELECT * FROM devices WHERE id = ? AND kind = 'device'", [device_id])
    return None if row is None else info(row)


def all_devices(tx: Tx) -> list[DeviceInfo]:
    return [info(r) for r in tx.all("SELECT * FROM devices WHERE kind = 'device' ORDER BY created_at, id")]


def announce(tx: Tx, device_id: str, *, now: dt.datetime) -> None:
    """Append the device's current row as a `device` change (supervisors only)."""
    device = get(tx, device_id)
    if device is not None:
        changes.append(
            tx, entity="device", entity_id=device.id, op="upsert", data=device.model_dump(mode="json"), now=now
        )


def report(tx: Tx, device_id: str, counts: DeviceReport, *, now: dt.datetime) -> DeviceInfo:
    tx.execute(
        "UPDATE devices SET last_sync_at = ?, pending = ?, quarantined = ?, app_version = ?, cursor_at = ? "
        "WHERE id = ?",
        [stamp(now), counts.pending, counts.quarantined, counts.app_version, counts.cursor, device_id],
    )
    announce(tx, device_id, now=now)
    device = get(tx, device_id)
    if device is None:
        raise NotFound(f"no device {device_id}")
    return device


def revoke(tx: Tx, device_id: str, *, now: dt.datetime) -> bool:
    """Revoke a device's token (NotFound when unknown); False when it was revoked already."""
    changed = auth.revoke(tx, device_id, now=now)
    if changed:
        announce(tx, device_id, now=now)
    return changed
