"""Enrol this device with a hub: trade a one-time code for a device id and token — safely retried (issue 10).

    from field_app.sync.enrolment import enrol      # also re-exported as field_app.sync.engine.enrol
    state = enrol(db, "http://hub:8700", "ABCD-EFGH-JKLM", device_name="Kayes phone 3")

A code is spent once. On an EDGE link the hub's answer can be lost after the hub enrolled the device: a naive
retry of the same code would be refused (401) and leave an orphan device on the hub. So the device makes a
request id for the code and stores it (`field_app.storage.enrolment`, with the code's hash and the hub address)
BEFORE the first attempt; every attempt with that code sends the same id, and the hub answers a used code whose
request id matches with the same device id and a fresh token (the old token, never received, is replaced) —
one device row, whatever the number of retries. A used code with another request id (someone else's device)
stays refused. Once the answer is stored (in one transaction with the new sync state) the attempt is forgotten.

Retries: `attempts` tries at most (default 1, so that a person at the enrolment screen hears within the
client's 8 s timeout what went wrong); only a failure on the way (no answer, a cut link, a 5xx/429) is tried
again, never a refused code. Pressing "Connect" again later is a retry too: the stored request id is reused.

The answer's epoch goes to the sync state (`sync_state.save_enrolment` decides whether the device must reconcile:
another hub id, or the same hub with another epoch); the directory is brought up to the hub's version by the
first sync (`field_app.directory.manifest`, called by the engine when the versions differ).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlite_utils

from field_app.errors import SyncError
from field_app.i18n import _
from field_app.storage import enrolment as attempts_store
from field_app.storage import sync_state
from field_app.storage.sync_state import SyncState

if TYPE_CHECKING:
    import httpx

Clock = Callable[[], dt.datetime]
RETRY_PAUSE_S = 1.0  # between automatic attempts (more when the hub said Retry-After, at most MAX_PAUSE_S)
MAX_PAUSE_S = 5.0


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _new_request_id() -> str:
    return str(uuid.uuid4())


def hub_address(hub_url: str) -> str:
    """The hub's address as stored: trimmed, without a trailing slash; SyncError unless http:// or https://."""
    url = hub_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise SyncError(_("the hub address must start with http:// or https://"))
    return url


def enrol(
    db: sqlite_utils.Database,
    hub_url: str,
    code: str,
    *,
    device_name: str | None = None,
    clock: Clock = _utc_now,
    transport: httpx.BaseTransport | None = None,
    attempts: int = 1,
    new_id: Callable[[], str] = _new_request_id,
    sleep: Callable[[float], None] = time.sleep,
) -> SyncState:
    """Enrol this device with the hub at `hub_url` using a one-time code; store and return the new state.
    AuthError when the code is refused, SyncError when the hub cannot be reached (or answered 5xx) on every one
    of `attempts` tries — the request id stays stored, so the next call with this code is a retry."""
    from field_app.sync.client import HubClient, HubError, HubRefused

    url = hub_address(hub_url)
    request_id = attempts_store.begin(db, code, url, now=clock(), new_id=new_id)
    with HubClient(url, transport=transport) as client:
        tries = max(1, attempts)
        for attempt in range(1, tries + 1):
            try:
                answer = client.enrol(code, device_name, request_id=request_id)
                break
            except HubRefused:
                raise
            except HubError as exc:  # unreachable, cut off, 5xx, 429: the hub may have enrolled us — retry
                if attempt == tries:
                    raise
                sleep(min(MAX_PAUSE_S, exc.retry_after if exc.retry_after is not None else RETRY_PAUSE_S))
    with db.atomic():
        state = sync_state.save_enrolment(
            db,
            hub_url=url,
            hub_id=answer.hub_id,
            device_id=answer.device_id,
            token=answer.token,
            role=answer.role,
            region=answer.region,
            now=clock(),
            epoch=answer.epoch,
        )
        attempts_store.forget(db, code)
    return state
