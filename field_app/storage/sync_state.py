"""The device's sync state (migration 4): which hub it is enrolled with, how far it has pulled, how syncs went.

One row, resumable: the engine reads it at the start of each sync and writes it back as it goes (the cursor
with each pulled page, in that page's transaction; the outcome at the end). The bearer token is kept here, in
the app's private storage, and never printed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from field_app.errors import FieldAppError
from field_app.i18n import _

# What the last attempt came to: the sync status line reads it (offline / failed / up to date…).
OK = "ok"
OFFLINE = "offline"  # the hub could not be reached (no data link, DNS, timeout…)
FAILED = "failed"  # the hub answered with an error, or the answer made no sense
REFUSED = "refused"  # the hub refused this device's token (revoked?): enrol again


class NotEnrolled(FieldAppError):
    """This device has no hub yet (`field-app device enrol`, or the enrolment screen)."""

    def __init__(self) -> None:
        super().__init__(_("this device is not enrolled with a hub yet: enrol it first"))


@dataclass(frozen=True)
class SyncState:
    hub_url: str
    hub_id: str
    device_id: str
    token: str
    role: str
    region: str | None
    enrolled_at: dt.datetime
    cursor: int = 0
    last_attempt_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_result: str | None = None  # OK, OFFLINE, FAILED, REFUSED
    last_error: str | None = None
    last_report: dict[str, Any] | None = None
    failures: int = 0  # consecutive failed attempts (0 after a success)
    next_attempt_at: dt.datetime | None = None  # when a failed sync may be tried again (backoff)


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def load(db: sqlite_utils.Database) -> SyncState | None:
    """The state, or None when the device has never been enrolled."""
    rows = list(db.query("SELECT * FROM sync_state WHERE id = 1"))
    if not rows:
        return None
    r = rows[0]
    return SyncState(
        hub_url=r["hub_url"],
        hub_id=r["hub_id"],
        device_id=r["device_id"],
        token=r["token"],
        role=r["role"],
        region=r["region"],
        enrolled_at=dt.datetime.fromisoformat(r["enrolled_at"]),
        cursor=int(r["cursor"]),
        last_attempt_at=_time(r["last_attempt_at"]),
        last_success_at=_time(r["last_success_at"]),
        last_result=r["last_result"],
        last_error=r["last_error"],
        last_report=json.loads(r["last_report"]) if r["last_report"] else None,
        failures=int(r["failures"]),
        next_attempt_at=_time(r["next_attempt_at"]),
    )


def require(db: sqlite_utils.Database) -> SyncState:
    """The state of an enrolled device; NotEnrolled otherwise."""
    state = load(db)
    if state is None:
        raise NotEnrolled()
    return state


def save_enrolment(
    db: sqlite_utils.Database,
    *,
    hub_url: str,
    hub_id: str,
    device_id: str,
    token: str,
    role: str,
    region: str | None,
    now: dt.datetime,
) -> SyncState:
    """Record a (new) enrolment. The pull cursor restarts from 0 unless it is the same hub as before, so a
    device moved to another hub pulls that hub's whole log; the outbox is left as it is (still to be sent)."""
    previous = load(db)
    cursor = previous.cursor if previous is not None and previous.hub_id == hub_id else 0
    with db.atomic():
        db.execute("DELETE FROM sync_state")
        db.execute(
            "INSERT INTO sync_state (id, hub_url, hub_id, device_id, token, role, region, enrolled_at, cursor) "
            "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
            [hub_url, hub_id, device_id, token, role, region, now.isoformat(), cursor],
        )
    return require(db)


def set_cursor(db: sqlite_utils.Database, cursor: int) -> None:
    """Move the pull cursor (inside the transaction that applied the page it ends)."""
    db.execute("UPDATE sync_state SET cursor = ? WHERE id = 1", [cursor])


def record_success(db: sqlite_utils.Database, *, now: dt.datetime, report: dict[str, Any]) -> None:
    with db.atomic():
        db.execute(
            "UPDATE sync_state SET last_attempt_at = ?, last_success_at = ?, last_result = ?, last_error = NULL, "
            "last_report = ?, failures = 0, next_attempt_at = NULL WHERE id = 1",
            [now.isoformat(), now.isoformat(), OK, json.dumps(report, sort_keys=True)],
        )


def record_failure(
    db: sqlite_utils.Database, *, now: dt.datetime, result: str, error: str, next_attempt_at: dt.datetime
) -> int:
    """Count one more consecutive failure and when to try again; returns the failure count."""
    with db.atomic():
        db.execute(
            "UPDATE sync_state SET last_attempt_at = ?, last_result = ?, last_error = ?, failures = failures + 1, "
            "next_attempt_at = ? WHERE id = 1",
            [now.isoformat(), result, error, next_attempt_at.isoformat()],
        )
    return require(db).failures
