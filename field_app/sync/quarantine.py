"""Entries the hub refused: what the agent sees (what it is about, why, in words) and "send it again".

A refused entry is set aside (quarantined) so that the rest of the queue goes on. The agent fixes the record,
then retries: the entry goes back to its place in the queue. For a returnee:
- if the record was saved again since (an edit queues a new entry), that newer entry carries the record: the
  refused one is settled (marked done) rather than sent — sending an older version after it would only make the
  hub refuse it as a version conflict;
- otherwise it is sent again with the record as it is now (the hub kept nothing of the refused entry, not even its
  op id, so the same op id may carry the fixed content).
Referral entries (append-only facts) are sent again as they were.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlite_utils

from field_app.errors import NotFound
from field_app.i18n import _
from field_app.labels import SYNC_ENTITIES, label, rejection_message
from field_app.storage import outbox
from field_app.storage.outbox import OutboxEntry
from field_app.storage.returnees import get_returnee


@dataclass(frozen=True)
class QuarantinedItem:
    seq: int  # the entry's number (what `field-app sync retry` takes)
    op_id: str
    entity: str  # returnee, referral, referral_event
    entity_id: str
    what: str  # the entity in words, e.g. "Returnee record"
    code: str | None  # the hub's stable code, e.g. invalid_payload
    reason: str | None  # the hub's own words (English)
    message: str  # why, in the agent's language
    quarantined_at: dt.datetime | None


def items(db: sqlite_utils.Database) -> list[QuarantinedItem]:
    """The refused entries, oldest first."""
    stamps = dict(db.execute("SELECT seq, quarantined_at FROM outbox WHERE state = 'quarantined'").fetchall())
    return [
        QuarantinedItem(
            seq=e.seq,
            op_id=e.op_id,
            entity=e.entity,
            entity_id=e.entity_id,
            what=label(SYNC_ENTITIES, e.entity),
            code=e.error_code,
            reason=e.last_error,
            message=rejection_message(e.error_code, e.last_error),
            quarantined_at=dt.datetime.fromisoformat(stamps[e.seq]) if stamps.get(e.seq) else None,
        )
        for e in outbox.quarantined(db)
    ]


def retry(db: sqlite_utils.Database, seq: int | None = None) -> int:
    """Send one refused entry again (all of them when `seq` is None); returns how many were settled: put back in
    the queue, or superseded by a newer entry for the same record."""
    chosen = [e for e in outbox.quarantined(db) if seq is None or e.seq == seq]
    if seq is not None and not chosen:
        raise NotFound(_("no refused entry numbered {seq}").format(seq=seq))
    settled = 0
    with db.atomic():
        for entry in chosen:
            if entry.entity == "returnee":
                if _newer_entry(db, entry):
                    outbox.mark_done(db, [entry.op_id])
                    settled += 1
                    continue
                try:
                    current = get_returnee(db, entry.entity_id)
                except NotFound:
                    current = None  # the record is gone: sent again as it was
                if current is not None:
                    outbox.replace_payload(db, entry.seq, current.model_dump(mode="json"))
            settled += outbox.retry(db, entry.seq)
    return settled


def _newer_entry(db: sqlite_utils.Database, entry: OutboxEntry) -> bool:
    row = db.execute(
        "SELECT 1 FROM outbox WHERE entity = ? AND entity_id = ? AND seq > ? LIMIT 1",
        [entry.entity, entry.entity_id, entry.seq],
    ).fetchone()
    return row is not None
