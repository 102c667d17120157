"""Every read of a person's details on this device, recorded and sent to the hub.

An office or supervisor device that shows a person's details (`detail`) or writes them into an export
(`export`) writes an access row and its outbox entry (`access`, op `append`) in ONE transaction: the hub keeps
the national access log that supervisors read, and a supervisor's device also pulls the rows the hub recorded.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlite_utils

from field_app.storage import outbox
from field_app.storage.access import list_access, put_access
from field_app.storage.sync_state import load
from field_app.sync.protocol import AccessRecord, AccessVia


def record(
    db: sqlite_utils.Database,
    *,
    returnee_id: str,
    referral_id: str | None,
    via: AccessVia,
    now: dt.datetime,
) -> AccessRecord:
    """Record one read of `returnee_id`'s details (with its outbox entry); returns the row."""
    state = load(db)
    entry = AccessRecord(
        id=str(uuid.uuid4()),
        returnee_id=returnee_id,
        referral_id=referral_id,
        via=via,
        at=now,
        device_id=state.device_id if state else None,
    )
    with db.atomic():
        put_access(db, entry)
        outbox.enqueue(
            db,
            entity="access",
            entity_id=entry.id,
            op="append",
            payload=entry.model_dump(mode="json", exclude={"device_id"}),
            now=now,
        )
    return entry


def log(db: sqlite_utils.Database, *, offset: int = 0, limit: int = 100) -> list[AccessRecord]:
    """The access rows this device holds (its own and, on a supervisor's, those pulled from the hub), newest
    first."""
    return list_access(db, offset=offset, limit=limit)
