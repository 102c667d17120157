"""The outbox: every local change that must reach the hub, in order, written in the same transaction as the change.

An entry is `{op_id, entity, entity_id, op, payload, base_version}` as in the sync protocol (DESIGN.md). Sending
is the sync engine's job; here entries are only added and read. Callers wrap `enqueue` and their own write in
one `db.atomic()` so that a record never exists without its entry, nor an entry without its record.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import sqlite_utils


@dataclass(frozen=True)
class OutboxEntry:
    seq: int
    op_id: str
    entity: str
    entity_id: str
    op: str
    payload: dict[str, Any]
    base_version: int | None
    state: str


def enqueue(
    db: sqlite_utils.Database,
    *,
    entity: str,
    entity_id: str,
    op: str,
    payload: dict[str, Any],
    now: dt.datetime,
    base_version: int | None = None,
    op_id: str | None = None,
) -> str:
    """Add one entry (inside the caller's transaction); returns its op id."""
    op_id = op_id or str(uuid.uuid4())
    db.execute(
        "INSERT INTO outbox (op_id, entity, entity_id, op, payload, base_version, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            op_id,
            entity,
            entity_id,
            op,
            json.dumps(payload, sort_keys=True, ensure_ascii=False),
            base_version,
            now.isoformat(),
        ],
    )
    return op_id


def entries(db: sqlite_utils.Database, state: str | None = "pending") -> list[OutboxEntry]:
    """Entries in the order they were made (all of them when `state` is None)."""
    where, params = ("WHERE state = ?", [state]) if state else ("", [])
    return [
        OutboxEntry(
            r["seq"],
            r["op_id"],
            r["entity"],
            r["entity_id"],
            r["op"],
            json.loads(r["payload"]),
            r["base_version"],
            r["state"],
        )
        for r in db.query(f"SELECT * FROM outbox {where} ORDER BY seq", params)
    ]


def pending_count(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])
