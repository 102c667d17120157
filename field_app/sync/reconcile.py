"""Reconciling with a restored or replaced hub database (issue 10): nothing the device holds is lost silently.

A hub database restored from a backup has forgotten what it received after the backup, and its change log is
shorter than the one the device pulled from; a new database (a total loss) has nothing at all. Nothing in the old
protocol noticed: the device's entries were `done`, its cursor sat above the hub's head. Now every push and pull
answer carries the hub's `HubState` (epoch, head, directory version), and the device reconciles when
(`reason`):
- the hub's **epoch** is not the one it last synced with (`field-app hub restore`, `hub new-epoch`, a new
  database);
- the hub's **head** is below the device's cursor (a restore that kept the epoch: a file copied back);
- the pull's `missing` names the op it asked about with `check` (its latest done op as the sync started: the hub
  lost it).

Reconciling (`run`) goes in steps, each recorded in the sync state's row (`sync_state.Trust`), so that a sync cut
anywhere resumes where it stopped and repeats at most one chunk:
1. DIFFING: every done outbox entry, oldest first, in chunks of `MAX_DIFF`, to `POST /sync/ops/diff`; the ones the
   hub lacks go back to pending (in their place in the queue) in the same transaction as the progress mark.
2. Then, in one transaction: entries quarantined because the hub did not know their referral (`unknown_entity`)
   go back to pending too (the referral is sent again before them: it is earlier in the queue), the events' hub
   receipt ranks (`referral_events.hub_order`, the old database's) are cleared, the cursor goes back to 0 and the
   phase to PULLING.
3. The engine then pushes (the pending entries, in queue order) and pulls from 0 with `full=1` (the referral
   changes of this device's own earlier pushes included); the last page sets SYNCED with the hub's epoch.

Re-sending is safe: an op the hub holds answers `duplicate`; the hub's own `sent` events have fixed ids, so the
device never holds two. After a re-enrolment the device has another id: the events of the entries sent again name
it as their actor (`outbox.set_actor`; the hub accepts an event only from the device it names).
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlite_utils

from field_app.storage import outbox, sync_state
from field_app.storage.sync_state import DIFFING, PULLING, SYNCED, Trust

if TYPE_CHECKING:
    from field_app.sync.client import HubClient
    from field_app.sync.protocol import HubState

log = logging.getLogger(__name__)

REQUEUED_CODES = ("unknown_entity",)  # refusals a restored hub may have caused: sent again after a reconcile


class Why(StrEnum):
    """Why a device reconciles (logged; no personal data)."""

    EPOCH = "epoch"  # the hub's database is another one (restored or new)
    HEAD = "head"  # the hub's change log ends before the device's cursor
    MISSING = "missing"  # the hub lacks the device's latest done op
    ENROLMENT = "enrolment"  # enrolled with another hub database (or one not known)
    UNFINISHED = "unfinished"  # a reconcile that was cut off


def reason(trust: Trust, state: HubState, cursor: int) -> Why | None:
    """Why the device, standing at `trust` and `cursor`, must reconcile with a hub in `state`; None if not."""
    if trust.phase == DIFFING:
        return Why.UNFINISHED
    if trust.epoch is not None and trust.epoch != state.epoch:
        return Why.EPOCH  # SYNCED with another epoch, or PULLING from another one than the hub's now
    if state.head < cursor:
        return Why.HEAD
    return None


def start(db: sqlite_utils.Database, epoch: str | None) -> Trust:
    """Begin a reconcile with the hub database of `epoch` (the ops diff from the first done entry)."""
    trust = Trust(DIFFING, epoch, 0)
    with db.atomic():
        sync_state.set_trust(db, trust)
    return trust


def run(db: sqlite_utils.Database, client: HubClient, trust: Trust) -> tuple[int, Trust]:
    """Steps 1 and 2 (see the module doc), from where `trust` (DIFFING) stands; returns how many entries went back
    to the queue and the new trust (PULLING, cursor 0)."""
    from field_app.sync.protocol import MAX_DIFF

    assert trust.phase == DIFFING
    device_id = sync_state.require(db).device_id
    epoch, after, requeued = trust.epoch, trust.after, 0
    while chunk := outbox.done_after(db, after, MAX_DIFF):
        answer = client.ops_diff([op_id for _seq, op_id in chunk])
        epoch = answer.state.epoch
        after = chunk[-1][0]
        with db.atomic():
            requeued += outbox.requeue(db, answer.missing)
            outbox.set_actor(db, answer.missing, device_id)
            sync_state.set_trust(db, Trust(DIFFING, epoch, after))
    pulling = Trust(PULLING, epoch)
    with db.atomic():
        refused = outbox.requeue_refused(db, REQUEUED_CODES)
        requeued += len(refused)
        outbox.set_actor(db, refused, device_id)
        # the hub's receipt ranks were the old database's: NULL until the full pull brings the new ones
        db.execute("UPDATE referral_events SET hub_order = NULL WHERE hub_order IS NOT NULL")
        sync_state.set_trust(db, pulling, cursor=0)
    log.info("reconciled with the hub's database: %d entries to send again, pulling from 0", requeued)
    return requeued, pulling


def finished(db: sqlite_utils.Database, epoch: str | None) -> None:
    """The full pull reached the end (inside the last page's transaction): synced with `epoch`."""
    sync_state.set_trust(db, Trust(SYNCED, epoch))
