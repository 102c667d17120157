"""The enrolment in flight: its request id, stored before the first attempt (table `enrol_attempts`, migration 14).

An enrolment code is spent once. When the hub's answer is lost on the link (it enrolled the device, the phone
never heard), the retry must be recognised: the device makes a request id for the code, stores it here BEFORE the
first attempt, and sends it with every attempt for that code; the hub answers a used code whose request id matches
with the same device and a fresh token (`field_app.hub.auth.enrol_device`). The code itself is a secret: only its
hash is kept (sha256 of the code as the hub normalises it, letters and digits upper-cased, so "abcd-efgh" and
"ABCDEFGH" are one code). The row goes once the device is enrolled (`forget`, in the enrolment's transaction);
rows older than `KEEP_FOR` are dropped when a new attempt is made (a code is valid for 7 days on the hub).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import sqlite_utils

KEEP_FOR = dt.timedelta(days=8)


@dataclass(frozen=True)
class Attempt:
    code_hash: str
    hub_url: str
    request_id: str
    created_at: dt.datetime


def code_hash(code: str) -> str:
    """The code's key: sha256 of its letters and digits, upper-cased (as the hub reads a typed code)."""
    return hashlib.sha256("".join(ch for ch in code.upper() if ch.isalnum()).encode()).hexdigest()


def get(db: sqlite_utils.Database, code: str) -> Attempt | None:
    row = db.execute(
        "SELECT code_hash, hub_url, request_id, created_at FROM enrol_attempts WHERE code_hash = ?", [code_hash(code)]
    ).fetchone()
    if row is None:
        return None
    return Attempt(row[0], row[1], row[2], dt.datetime.fromisoformat(row[3]))


def begin(db: sqlite_utils.Database, code: str, hub_url: str, *, now: dt.datetime, new_id: Callable[[], str]) -> str:
    """The request id for enrolling with `code`: the stored one when this code was tried before (whatever the hub
    address then: the same hub may be reached another way, and another hub does not know the code), else a new
    one, stored (committed) before this returns — before anything goes on the link."""
    with db.atomic():
        db.execute("DELETE FROM enrol_attempts WHERE created_at < ?", [(now - KEEP_FOR).isoformat()])
        known = get(db, code)
        if known is not None:
            if known.hub_url != hub_url:
                db.execute("UPDATE enrol_attempts SET hub_url = ? WHERE code_hash = ?", [hub_url, known.code_hash])
            return known.request_id
        request_id = new_id()
        db.execute(
            "INSERT INTO enrol_attempts (code_hash, hub_url, request_id, created_at) VALUES (?, ?, ?, ?)",
            [code_hash(code), hub_url, request_id, now.isoformat()],
        )
    return request_id


def forget(db: sqlite_utils.Database, code: str) -> None:
    """The device is enrolled with `code`: its attempt is done (inside the transaction storing the enrolment)."""
    db.execute("DELETE FROM enrol_attempts WHERE code_hash = ?", [code_hash(code)])


def pending(db: sqlite_utils.Database) -> list[Attempt]:
    """Every stored attempt (oldest first): tests and diagnostics."""
    rows = db.execute(
        "SELECT code_hash, hub_url, request_id, created_at FROM enrol_attempts ORDER BY created_at, code_hash"
    ).fetchall()
    return [Attempt(r[0], r[1], r[2], dt.datetime.fromisoformat(r[3])) for r in rows]
