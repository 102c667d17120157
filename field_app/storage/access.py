"""The access log of personal-data reads (table `access_log`, migration 5): who read a person's details, when,
how (`detail`, `export` on a device; `api`, `pull` on the hub). Rows made on this device and rows pulled from the
hub (supervisors) live side by side; the id makes a row arriving twice harmless.
"""

from __future__ import annotations

import sqlite_utils

from field_app.sync.protocol import AccessRecord


def put_access(db: sqlite_utils.Database, record: AccessRecord) -> None:
    """Insert one access row, or refresh it when it is already here (inside the caller's transaction, if any)."""
    db.execute(
        "INSERT INTO access_log (id, returnee_id, referral_id, device_id, via, at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET returnee_id = excluded.returnee_id, referral_id = excluded.referral_id, "
        "device_id = coalesce(excluded.device_id, access_log.device_id), via = excluded.via, at = excluded.at",
        [record.id, record.returnee_id, record.referral_id, record.device_id, record.via, record.at.isoformat()],
    )


def _record(row: tuple[object, ...]) -> AccessRecord:
    keys = ("id", "returnee_id", "referral_id", "device_id", "via", "at")
    return AccessRecord.model_validate(dict(zip(keys, row, strict=True)))


def list_access(
    db: sqlite_utils.Database, *, returnee_id: str | None = None, offset: int = 0, limit: int = 100
) -> list[AccessRecord]:
    """Newest first; only one person's reads when `returnee_id` is given."""
    where, params = ("WHERE returnee_id = ?", [returnee_id]) if returnee_id else ("", [])
    rows = db.execute(
        f"SELECT id, returnee_id, referral_id, device_id, via, at FROM access_log {where} "
        "ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [_record(r) for r in rows]


def count_access(db: sqlite_utils.Database, *, returnee_id: str | None = None) -> int:
    where, params = ("WHERE returnee_id = ?", [returnee_id]) if returnee_id else ("", [])
    return int(db.execute(f"SELECT count(*) FROM access_log {where}", params).fetchone()[0])
