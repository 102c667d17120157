"""The device's sync state (migration 4): which hub it is enrolled with, how far it has pulled, how syncs went.

One row, resumable: the engine reads it at the start of each sync and writes it back as it goes (the cursor
with each pulled page, in that page's transaction; the outcome at the end). The bearer token is kept here, in
the app's private storage, and never printed.

Trust in the hub's database (issue 10, migration 14's `epoch` column): the column holds where this device stands
with the hub's epoch (`Trust`), so that a reconcile interrupted anywhere resumes where it stopped:
- `<epoch>` (SYNCED): the device last synced fully with the hub database of that epoch; NULL: not known yet (a
  device enrolled before issue 10: it adopts the hub's epoch at its next sync, unless the hub looks restored);
- `diff:<seq>:<epoch>` (DIFFING): reconciling — the ops diff (`field_app.sync.reconcile`) has checked the done
  outbox entries up to outbox seq `<seq>`; `<epoch>` is the hub's (empty when not known yet);
- `pull:<epoch>` (PULLING): the diff is done, the cursor was reset to 0 and the full pull (`?full=1`) is under
  way; SYNCED again with the last page.
Epochs are UUIDs, so they never contain the `:` these marks use.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from field_app.errors import FieldAppError
from field_app.i18n import _
from field_app.storage import outbox

# Where the device stands with the hub database's epoch (see the module doc).
SYNCED = "synced"
DIFFING = "diffing"
PULLING = "pulling"


@dataclass(frozen=True)
class Trust:
    phase: str = SYNCED  # SYNCED, DIFFING or PULLING
    epoch: str | None = None  # SYNCED: the epoch last synced with; otherwise the epoch being reconciled with
    after: int = 0  # DIFFING: the outbox seq the ops diff has checked up to

    def encode(self) -> str | None:
        if self.phase == DIFFING:
            return f"diff:{self.after}:{self.epoch or ''}"
        if self.phase == PULLING:
            return f"pull:{self.epoch or ''}"
        return self.epoch

    @staticmethod
    def decode(text: str | None) -> Trust:
        if not text:
            return Trust()
        if text.startswith("diff:"):
            after, _sep, epoch = text[5:].partition(":")
            return Trust(DIFFING, epoch or None, int(after) if after.isdigit() else 0)
        if text.startswith("pull:"):
            return Trust(PULLING, text[5:] or None)
        return Trust(SYNCED, text)

    @property
    def reconciling(self) -> bool:
        return self.phase != SYNCED


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
    trust: Trust = Trust()  # where the device stands with the hub database's epoch (see the module doc)

    @property
    def epoch(self) -> str | None:
        """The hub database's epoch this device last synced with (None: not known, or reconciling)."""
        return self.trust.epoch if self.trust.phase == SYNCED else None


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
        trust=Trust.decode(r.get("epoch")),
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
    epoch: str | None = None,
) -> SyncState:
    """Record a (new) enrolment; `epoch` is the hub database's (the enrolment answer's). The outbox is left as it
    is (still to be sent). Trust (see the module doc):
    - a first enrolment: SYNCED with `epoch`;
    - the same hub id as before: the cursor and the trust are kept — if the hub's epoch is another one now (a
      restored database: the reason a device has to enrol again, its token being younger than the backup), the
      first sync notices and reconciles (with no epoch known, the head and `check` still tell);
    - another hub id (a new hub database after a total loss, or another hub): the device reconciles at its first
      sync — the cursor restarts from 0 and every entry the new hub lacks is sent again."""
    previous = load(db)
    if previous is None:
        cursor, trust = 0, Trust(SYNCED, epoch)
    elif previous.hub_id == hub_id:
        cursor, trust = previous.cursor, previous.trust
    else:
        cursor, trust = 0, Trust(DIFFING, epoch, 0)
    with db.atomic():
        if previous is not None and previous.device_id != device_id:
            # entries not sent yet name the old device id as their events' actor: the hub takes an event only from
            # the device it names (a done entry gets the same when a reconcile sends it again)
            outbox.set_actor(db, outbox.op_ids(db, "pending", "quarantined"), device_id)
        db.execute("DELETE FROM sync_state")
        db.execute(
            "INSERT INTO sync_state (id, hub_url, hub_id, device_id, token, role, region, enrolled_at, cursor, epoch) "
            "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [hub_url, hub_id, device_id, token, role, region, now.isoformat(), cursor, trust.encode()],
        )
    return require(db)


def set_trust(db: sqlite_utils.Database, trust: Trust, *, cursor: int | None = None) -> None:
    """Where the device stands with the hub's epoch (inside the caller's transaction); with `cursor`, the pull
    cursor too (a reconcile resets it to 0 in the same transaction as it moves to PULLING)."""
    if cursor is None:
        db.execute("UPDATE sync_state SET epoch = ? WHERE id = 1", [trust.encode()])
    else:
        db.execute("UPDATE sync_state SET epoch = ?, cursor = ? WHERE id = 1", [trust.encode(), cursor])


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
