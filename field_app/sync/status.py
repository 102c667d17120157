"""What the screens show about sync: the enrolment and last results, the count waiting, the refused entries.

Read-only views over the sync state and the outbox, so the screens never read storage themselves.
"""

from __future__ import annotations

import sqlite_utils

from field_app.storage import outbox, sync_state
from field_app.storage.sync_state import FAILED, OFFLINE, OK, REFUSED, SyncState

__all__ = ["FAILED", "OFFLINE", "OK", "REFUSED", "SyncState", "counts", "pending", "state"]


def state(db: sqlite_utils.Database) -> SyncState | None:
    """This device's enrolment and last sync results; None when not enrolled."""
    return sync_state.load(db)


def pending(db: sqlite_utils.Database) -> int:
    """How many changes wait to be sent."""
    return outbox.pending_count(db)


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Outbox entries by state (pending, done, quarantined)."""
    return outbox.counts(db)
