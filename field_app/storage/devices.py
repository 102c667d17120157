"""Enrolled devices as the hub last described them (table `devices`, migration 5; supervisor devices only).

The sync engine writes a row per pulled `device` change; the supervisor workspace reads them. The full
`DeviceInfo` is kept as JSON in `document`; the columns are there to sort and filter.
"""

from __future__ import annotations

import sqlite_utils

from field_app.sync.protocol import DeviceInfo


def _iso(value: object) -> str | None:
    return None if value is None else value.isoformat()  # type: ignore[attr-defined]


def put_device(db: sqlite_utils.Database, device: DeviceInfo) -> None:
    """Insert or replace one device (inside the caller's transaction, if any)."""
    db.execute(
        "INSERT INTO devices (id, role, region, name, revoked_at, last_sync_at, document) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET role = excluded.role, region = excluded.region, name = excluded.name, "
        "revoked_at = excluded.revoked_at, last_sync_at = excluded.last_sync_at, document = excluded.document",
        [
            device.id,
            str(device.role),
            device.region,
            device.name,
            _iso(device.revoked_at),
            _iso(device.last_sync_at),
            device.model_dump_json(),
        ],
    )


def get_device(db: sqlite_utils.Database, device_id: str) -> DeviceInfo | None:
    row = db.execute("SELECT document FROM devices WHERE id = ?", [device_id]).fetchone()
    return None if row is None else DeviceInfo.model_validate_json(row[0])


def list_devices(db: sqlite_utils.Database) -> list[DeviceInfo]:
    """Every known device: active ones first, then by role, region and name."""
    rows = db.execute(
        "SELECT document FROM devices "
        "ORDER BY revoked_at IS NOT NULL, role, coalesce(region, ''), coalesce(name, ''), id"
    ).fetchall()
    return [DeviceInfo.model_validate_json(r[0]) for r in rows]
