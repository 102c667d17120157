"""The directory audit log as the hub keeps it (table `directory_audit`, migration 5): one row per field changed
by one edit (who, role, when, before, after, note). Pulled by supervisor devices (`directory_audit` changes).

`reverted_by` is filled on the reverted row when the hub's revert (an audit row with `revert_of`) arrives.
"""

from __future__ import annotations

import sqlite_utils

from field_app.sync.protocol import AuditEntry


class AuditLine(AuditEntry):
    """An audit row as a device lists it: the hub's entry plus which later row undid it (None if none)."""

    reverted_by: str | None = None


def put_audit(db: sqlite_utils.Database, entry: AuditEntry) -> None:
    """Insert or replace one audit row; a row that reverts another marks that one as reverted."""
    db.execute(
        "INSERT INTO directory_audit (id, edit_id, organization_id, field, at, document) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET edit_id = excluded.edit_id, organization_id = excluded.organization_id, "
        "field = excluded.field, at = excluded.at, document = excluded.document",
        [entry.id, entry.edit_id, entry.organization_id, entry.field, entry.at.isoformat(), entry.model_dump_json()],
    )
    if entry.revert_of:
        mark_reverted(db, entry.revert_of, by=entry.id)
    else:  # the row that undid this one may have arrived first
        db.execute(
            "UPDATE directory_audit SET reverted_by = (SELECT a.id FROM directory_audit a "
            "WHERE json_extract(a.document, '$.revert_of') = ?1 LIMIT 1) WHERE id = ?1 AND reverted_by IS NULL",
            [entry.id],
        )


def mark_reverted(db: sqlite_utils.Database, audit_id: str, *, by: str) -> None:
    """Record that audit row `audit_id` was undone by audit row `by`."""
    db.execute("UPDATE directory_audit SET reverted_by = ? WHERE id = ?", [by, audit_id])


def _line(document: str, reverted_by: str | None) -> AuditLine:
    entry = AuditEntry.model_validate_json(document)
    return AuditLine(**entry.model_dump(), reverted_by=reverted_by)


def get_audit(db: sqlite_utils.Database, audit_id: str) -> AuditLine | None:
    row = db.execute("SELECT document, reverted_by FROM directory_audit WHERE id = ?", [audit_id]).fetchone()
    return None if row is None else _line(row[0], row[1])


def list_audit(
    db: sqlite_utils.Database, *, organization_id: str | None = None, offset: int = 0, limit: int = 100
) -> list[AuditLine]:
    """Newest first, optionally for one organisation."""
    where, params = ("WHERE organization_id = ?", [organization_id]) if organization_id else ("", [])
    rows = db.execute(
        f"SELECT document, reverted_by FROM directory_audit {where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [_line(r[0], r[1]) for r in rows]


def count_audit(db: sqlite_utils.Database, *, organization_id: str | None = None) -> int:
    where, params = ("WHERE organization_id = ?", [organization_id]) if organization_id else ("", [])
    return int(db.execute(f"SELECT count(*) FROM directory_audit {where}", params).fetchone()[0])
