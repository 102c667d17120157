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
    attempts: int = 0
    last_error: str | None = None  # for a quarantined entry: the hub's reason, in English
    error_code: str | None = None  # …and its stable code (the words the agent reads come from labels.py)
    created_at: str | None = None


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


def _entry(r: dict[str, Any]) -> OutboxEntry:
    return OutboxEntry(
        r["seq"],
        r["op_id"],
        r["entity"],
        r["entity_id"],
        r["op"],
        json.loads(r["payload"]),
        r["base_version"],
        r["state"],
        r["attempts"],
        r["last_error"],
        r.get("error_code"),
        r["created_at"],
    )


def entries(
    db: sqlite_utils.Database, state: str | None = "pending", *, after: int = 0, limit: int | None = None
) -> list[OutboxEntry]:
    """Entries in the order they were made (all of them when `state` is None): those after seq `after`, the
    oldest `limit` of them when given."""
    where, params = ("WHERE seq > ? AND state = ?", [after, state]) if state else ("WHERE seq > ?", [after])
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    return [_entry(r) for r in db.query(f"SELECT * FROM outbox {where} ORDER BY seq{tail}", params)]


def pending_count(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])


# --- what the sync engine does with entries (the hub's per-op answers), each inside the caller's transaction ---


def count_attempt(db: sqlite_utils.Database, op_ids: list[str]) -> None:
    """One more push attempt for these entries (kept even when the answer never came)."""
    db.conn.executemany("UPDATE outbox SET attempts = attempts + 1 WHERE op_id = ?", [(i,) for i in op_ids])


def mark_done(db: sqlite_utils.Database, op_ids: list[str]) -> None:
    """The hub has these (applied now or before): they will not be sent again."""
    db.conn.executemany(
        "UPDATE outbox SET state = 'done', last_error = NULL, error_code = NULL WHERE op_id = ?",
        [(i,) for i in op_ids],
    )


def quarantine(db: sqlite_utils.Database, op_id: str, *, code: str, reason: str, now: dt.datetime) -> None:
    """The hub refused this entry: set it aside with why, so that the rest of the queue goes on."""
    db.execute(
        "UPDATE outbox SET state = 'quarantined', error_code = ?, last_error = ?, quarantined_at = ? WHERE op_id = ?",
        [code, reason, now.isoformat(), op_id],
    )


def quarantined(db: sqlite_utils.Database) -> list[OutboxEntry]:
    """Entries the hub refused, oldest first, with the hub's code and reason."""
    return entries(db, "quarantined")


def retry(db: sqlite_utils.Database, seq: int | None = None) -> int:
    """Put a quarantined entry (or all of them when `seq` is None) back in the queue, in its original place;
    returns how many. Use it once the record has been fixed (an edit queues a new entry anyway)."""
    where, params = ("state = 'quarantined'", []) if seq is None else ("state = 'quarantined' AND seq = ?", [seq])
    with db.atomic():
        cursor = db.execute(
            f"UPDATE outbox SET state = 'pending', error_code = NULL, last_error = NULL, quarantined_at = NULL "
            f"WHERE {where}",
            params,
        )
    return int(cursor.rowcount)


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many entries in each state (pending, done, quarantined), zeros included."""
    out = {"pending": 0, "done": 0, "quarantined": 0}
    for state, n in db.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
        out[state] = int(n)
    return out


def replace_payload(db: sqlite_utils.Database, seq: int, payload: dict[str, Any]) -> None:
    """Give a quarantined entry the record's current content before it is sent again (the hub kept nothing of
    the refused one, not even its op id, so the same op id may carry the fixed content)."""
    db.execute(
        "UPDATE outbox SET payload = ? WHERE seq = ? AND state = 'quarantined'",
        [json.dumps(payload, sort_keys=True, ensure_ascii=False), seq],
    )


# --- reconciling with a restored or replaced hub (issue 10: field_app.sync.reconcile) ---------------------------


def latest_done(db: sqlite_utils.Database) -> str | None:
    """The op id of the newest entry the hub answered (applied or duplicate): what a pull's `check` asks about."""
    row = db.execute("SELECT op_id FROM outbox WHERE state = 'done' ORDER BY seq DESC LIMIT 1").fetchone()
    return str(row[0]) if row else None


def done_after(db: sqlite_utils.Database, after: int, limit: int) -> list[tuple[int, str]]:
    """(seq, op id) of the done entries after seq `after`, oldest first, at most `limit`."""
    rows = db.execute(
        "SELECT seq, op_id FROM outbox WHERE state = 'done' AND seq > ? ORDER BY seq LIMIT ?", [after, int(limit)]
    ).fetchall()
    return [(int(seq), str(op_id)) for seq, op_id in rows]


RESENT = "resent"  # error_code of a pending entry sent again after a reconcile (cleared once the hub has it)


def requeue(db: sqlite_utils.Database, op_ids: list[str]) -> int:
    """Done entries the hub no longer holds back to pending (in their original place: the queue is in seq order),
    marked RESENT; inside the caller's transaction. Returns how many."""
    cursor = db.conn.executemany(
        "UPDATE outbox SET state = 'pending', last_error = NULL, error_code = ? WHERE op_id = ? AND state = 'done'",
        [(RESENT, i) for i in op_ids],
    )
    return int(cursor.rowcount)


def requeue_refused(db: sqlite_utils.Database, codes: tuple[str, ...]) -> list[str]:
    """Quarantined entries refused with one of `codes` back to pending (inside the caller's transaction): after a
    restore, an event refused because the hub had lost its referral (`unknown_entity`) goes again once the
    referral has been sent again (it is earlier in the queue). Returns their op ids."""
    marks = ", ".join("?" for _ in codes)
    rows = db.execute(
        f"SELECT op_id FROM outbox WHERE state = 'quarantined' AND error_code IN ({marks})", list(codes)
    ).fetchall()
    op_ids = [str(r[0]) for r in rows]
    db.conn.executemany(
        "UPDATE outbox SET state = 'pending', error_code = ?, last_error = NULL, quarantined_at = NULL WHERE op_id = ?",
        [(RESENT, i) for i in op_ids],
    )
    return op_ids


def set_actor(db: sqlite_utils.Database, op_ids: list[str], actor: str) -> int:
    """Entries going again to a hub that knows this device under another id (re-enrolled after a total loss):
    the events they carry name `actor` (the hub accepts an event only from the device it names), here and in the
    device's own copy of those events. Only events made on this device are in its outbox, so every actor they
    name was this device. Inside the caller's transaction; returns how many entries changed."""
    changed = 0
    for start in range(0, len(op_ids), 500):
        chunk = op_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            f"SELECT seq, entity, payload FROM outbox WHERE op_id IN ({marks}) "
            "AND entity IN ('referral', 'referral_event')",
            chunk,
        ).fetchall()
        for seq, entity, text in rows:
            payload = json.loads(text)
            events = payload.get("events", []) if entity == "referral" else [payload]
            moved = [e for e in events if isinstance(e, dict) and e.get("actor") not in (None, actor)]
            if not moved:
                continue
            for event in moved:
                event["actor"] = actor
                db.execute(
                    "UPDATE referral_events SET document = json_set(document, '$.actor', ?) WHERE id = ?",
                    [actor, event.get("id")],
                )
            db.execute(
                "UPDATE outbox SET payload = ? WHERE seq = ?",
                [json.dumps(payload, sort_keys=True, ensure_ascii=False), seq],
            )
            changed += 1
    return changed


def op_ids(db: sqlite_utils.Database, *states: str) -> list[str]:
    """The op ids of the entries in these states, in queue order."""
    marks = ", ".join("?" for _ in states)
    rows = db.execute(f"SELECT op_id FROM outbox WHERE state IN ({marks}) ORDER BY seq", list(states)).fetchall()
    return [str(r[0]) for r in rows]
