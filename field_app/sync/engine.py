"""The device's sync engine: send the outbox to the hub, take in the hub's changes — nothing lost, nothing twice.

Public API (the app, `field-app sync` and the fault tests use exactly this):

    from field_app.sync.engine import SyncEngine, enrol, client_for
    state = enrol(db, "http://hub:8700", "CODE")          # once: stores device id + token (SyncState)
    with client_for(db) as client:                        # = HubClient(state.hub_url, token=state.token)
        report = SyncEngine(db, client, clock, rng).sync_once()
    report.pushed, report.applied, report.duplicates, report.rejected, report.pulled, report.cursor

`db` is the device's SQLite database (`open_db`), `clock` a `() -> datetime` in UTC, `rng` a `random.Random`
(backoff jitter). `sync_once()` returns a `SyncReport`, or raises `SyncError` (network, 5xx — the hub's
Retry-After is in `exc.retry_after`) or `AuthError` (token refused: enrol again); either way the failure count
and the next attempt time (backoff) are recorded in the sync state first. A listener (`listener=`) receives
`SyncEvent`s: started, batch_pushed (n of N), page_pulled, finished, failed — the UI's progress.

How one sync goes, and why it is safe to stop it anywhere:
1. Push: pending outbox entries, oldest first, in batches of at most MAX_BATCH. After each answered batch, in one
   transaction: applied or duplicate → done; rejected → quarantined with the hub's code and reason (the rest of
   the queue goes on; the agent fixes the record and retries). A crash before that checkpoint only means the
   batch is sent again: the hub answers `duplicate` for what it already has (same op id, same payload).
   A 413/422 for a whole batch is split in halves until the one entry at fault is quarantined.
2. Pull: pages of changes after the cursor until `has_more` is false; each page and the new cursor are written
   in ONE transaction, so a crash mid-pull repeats at most one page (applying a change twice is harmless:
   directory upserts compare content hashes, referral events are inserted only when new).
Changes applied: `organization` and `locality` upsert/delete (the directory build's per-item code, full-text and
nearby index included); `referral` → the referral (made here or on another device: an office's region) with its
events and the person when shared; `referral_event` → the event is added if new and the referral re-folded;
`device`, `access`, `directory_audit` (supervisors) → their rows. A change this device cannot use (an event for a
referral it does not hold, a document that fails validation) is counted and skipped, so one bad row never blocks
every later status change.
3. Report: the device's own counts (pending, quarantined, app version, cursor) to `POST /devices/report`, so that
   supervisors see them; a hub too old to know that endpoint (404) or a failed report does not fail the sync.

Trust (issue 10): the first answer of a sync (push or pull) carries the hub's `HubState`; the first pull page is
asked with `check=` the latest op that was done when the sync started. Another epoch than the one stored, a head
below the cursor, or that op `missing` → reconcile (`field_app.sync.reconcile`: the ops diff puts what the hub
lacks back in the queue, the cursor goes to 0), then push again and pull with `full=1`. A push answer that shows
the mismatch is not checkpointed (its entries are sent again, in queue order, after the reconcile). A hub that
answers without a state is asked once per sync through `POST /sync/ops/diff` with that op; a hub without that
endpoint (404) is trusted as before. After each push batch the hub's per-op answers (status, events) are merged
(`storage.referrals.merge_push_answer`); a directory version other than the device's → `directory.manifest
.catch_up` (issue 10, helpers O and D).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import random
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import sqlite_utils

from field_app.errors import AuthError, FieldAppError, SyncError, ValidationError, reason_of
from field_app.i18n import _, ngettext
from field_app.storage import outbox, sync_state
from field_app.storage.sync_state import SyncState
from field_app.sync import backoff, reconcile
from field_app.sync.enrolment import enrol as enrol  # the public API keeps `engine.enrol`

# What only a sync needs is imported when one runs (the HTTP client, the wire models, the directory's per-item
# build, the stores of pulled rows): the app starts, and shows the sync state, without them (tests/test_cold_start.py).
if TYPE_CHECKING:
    import httpx

    from field_app.storage.outbox import OutboxEntry
    from field_app.sync.client import HubClient
    from field_app.sync.protocol import Change, HubState, Op, OpResult

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
INTERVAL_S = 300.0  # sync every 5 minutes while the app is open (and `field-app sync` runs)
SPLIT_STATUSES = (413, 422)  # a whole batch refused for its content: find the entry at fault


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- what a sync tells its listeners, and what it comes to ----------------------------------------------------

STARTED = "started"
BATCH_PUSHED = "batch_pushed"
PAGE_PULLED = "page_pulled"
FINISHED = "finished"
FAILED = "failed"


@dataclass(frozen=True)
class SyncReport:
    pushed: int = 0  # entries the hub answered (applied + duplicates + rejected)
    applied: int = 0
    duplicates: int = 0  # the hub had them already (e.g. sent again after a lost answer)
    rejected: int = 0  # quarantined with the hub's reason
    pulled: int = 0  # changes received
    cursor: int = 0  # the pull cursor at the end
    duration_s: float = 0.0
    skipped: int = 0  # changes received that do not concern this device, or that it could not use
    requeued: int = 0  # entries sent again because the hub's database had lost them (a restore: see reconcile)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for people, e.g. for `field-app sync`: "sent 1 (1 new, 0 already there, 0 refused), received
        2 changes, …" — each count in its own plural form (French makes every part agree with its number)."""
        return _("{sent} ({new}, {already}, {refused}), {received}, cursor {cursor}, {seconds} s").format(
            sent=ngettext("sent {n}", "sent {n}", self.pushed).format(n=self.pushed),
            new=ngettext("{n} new", "{n} new", self.applied).format(n=self.applied),
            already=ngettext("{n} already there", "{n} already there", self.duplicates).format(n=self.duplicates),
            refused=ngettext("{n} refused", "{n} refused", self.rejected).format(n=self.rejected),
            received=ngettext("received {n} change", "received {n} changes", self.pulled).format(n=self.pulled),
            cursor=self.cursor,
            seconds=f"{self.duration_s:.1f}",
        )


@dataclass(frozen=True)
class SyncEvent:
    """Progress of one sync. `batch`/`batches` count push batches (`batches` is estimated at the start),
    `sent`/`to_send` entries; `pulled` counts changes received so far."""

    kind: str  # STARTED, BATCH_PUSHED, PAGE_PULLED, FINISHED, FAILED
    batch: int = 0
    batches: int = 0
    sent: int = 0
    to_send: int = 0
    pulled: int = 0
    report: SyncReport | None = None
    result: str | None = None  # for FAILED: sync_state.OFFLINE, FAILED or REFUSED
    error: str | None = None  # for FAILED: what went wrong, in words
    retry_at: dt.datetime | None = None  # for FAILED: the next attempt

    @property
    def progress(self) -> float | None:
        """How far the push has got (0…1), when there is something to send; None otherwise."""
        if self.to_send <= 0:
            return None
        return min(1.0, self.sent / self.to_send)


Listener = Callable[[SyncEvent], None]


# --- enrolment: field_app.sync.enrolment (re-exported here) ---------------------------------------------------


def client_for(db: sqlite_utils.Database, *, transport: httpx.BaseTransport | None = None) -> HubClient:
    """A client for the hub this device is enrolled with (NotEnrolled otherwise)."""
    from field_app.sync.client import HubClient

    state = sync_state.require(db)
    return HubClient(state.hub_url, token=state.token, transport=transport)


def next_due(state: SyncState | None, now: dt.datetime, interval_s: float = INTERVAL_S) -> dt.datetime | None:
    """When the next automatic sync should run: now if never tried, `interval_s` after a success, at the backoff
    time after a failure; None when the device is not enrolled."""
    if state is None:
        return None
    if state.last_result is None or state.last_attempt_at is None:
        return now
    if state.last_result == sync_state.OK:
        return state.last_attempt_at + dt.timedelta(seconds=interval_s)
    return state.next_attempt_at or now


# --- the engine ----------------------------------------------------------------------------------------------


class SyncEngine:
    """One device's sync with its hub; `sync_once()` does a whole push + pull (see the module doc)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        client: HubClient,
        clock: Clock = utc_now,
        rng: backoff.Uniform | None = None,
        *,
        listener: Listener | None = None,
        batch_size: int | None = None,
        page_size: int | None = None,
    ):
        """`batch_size`, `page_size`: at most (and by default) the protocol's MAX_BATCH and MAX_PULL."""
        from field_app.sync.protocol import MAX_BATCH, MAX_PULL

        self.db = db
        self.client = client
        self.clock = clock
        self.rng: backoff.Uniform = rng or random.Random()
        self.listeners: list[Listener] = [listener] if listener else []
        self.batch_size = max(1, min(batch_size or MAX_BATCH, MAX_BATCH))
        self.page_size = max(1, min(page_size or MAX_PULL, MAX_PULL))
        self._check: str | None = None  # per sync (see sync_once)
        self._asked = False
        self._reconciles = 0
        self._directory_checked = False

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def _emit(self, event: SyncEvent) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken progress display must not break the sync
                log.exception("sync listener failed on %s", event.kind)

    def sync_once(self) -> SyncReport:
        """Push everything pending, then pull until up to date. SyncError / AuthError on failure (recorded)."""
        from field_app.sync.client import HubError, HubUnreachable

        started = self.clock()
        state = sync_state.require(self.db)
        counts = {"pushed": 0, "applied": 0, "duplicates": 0, "rejected": 0, "pulled": 0, "skipped": 0, "requeued": 0}
        self._check = outbox.latest_done(self.db)  # the hub must hold it (asked with the first pull page)
        self._asked = False  # the fallback ops diff (a hub whose answers carry no state): at most once a sync
        self._reconciles = 0
        self._directory_checked = False
        try:
            if state.trust.phase == sync_state.DIFFING:  # a reconcile was cut off (or a re-enrolment asks for one)
                self._reconcile(reconcile.Why.UNFINISHED, state.trust, counts)
            self._push(counts)
            cursor = self._pull(counts)
        except AuthError as exc:
            self._failed(state, sync_state.REFUSED, exc, None)
            raise
        except HubUnreachable as exc:
            self._failed(state, sync_state.OFFLINE, exc, exc.retry_after)
            raise
        except HubError as exc:
            self._failed(state, sync_state.FAILED, exc, exc.retry_after)
            raise
        except SyncError as exc:
            self._failed(state, sync_state.FAILED, exc, None)
            raise
        except (FieldAppError, sqlite3.Error) as exc:  # e.g. the local database was locked or could not be written
            self._failed(state, sync_state.FAILED, exc, None)
            raise SyncError(
                _("the local database could not be updated: {reason}").format(reason=reason_of(exc))
            ) from exc
        self._report(cursor)
        finished = self.clock()
        report = SyncReport(cursor=cursor, duration_s=max(0.0, (finished - started).total_seconds()), **counts)
        sync_state.record_success(self.db, now=finished, report=report.as_dict())
        self._emit(SyncEvent(FINISHED, sent=report.pushed, to_send=report.pushed, pulled=report.pulled, report=report))
        return report

    def _report(self, cursor: int) -> None:
        """Tell the hub how this device stands (supervisors see it). Never fails the sync: an older hub answers
        404, and a report lost now is sent again at the next sync."""
        from field_app.sync.client import HubError
        from field_app.sync.protocol import DeviceReport

        counts = outbox.counts(self.db)
        body = DeviceReport(
            pending=counts["pending"], quarantined=counts["quarantined"], app_version=app_version(), cursor=cursor
        )
        try:
            self.client.report(body)
        except (HubError, AuthError) as exc:
            log.info("device report not taken by the hub (%s)", getattr(exc, "status", None) or type(exc).__name__)

    def _failed(self, state: SyncState, result: str, exc: Exception, retry_after: float | None) -> None:
        now = self.clock()
        current = sync_state.load(self.db) or state
        failures = current.failures + 1
        retry_at = backoff.next_attempt(now, failures, self.rng, retry_after=retry_after)
        try:
            sync_state.record_failure(self.db, now=now, result=result, error=str(exc), next_attempt_at=retry_at)
        except Exception:  # the database itself may be what failed: keep the original error
            log.exception("could not record the sync failure")
        self._emit(SyncEvent(FAILED, result=result, error=str(exc), retry_at=retry_at))

    # --- push --------------------------------------------------------------------------------------------

    def _push(self, counts: dict[str, int]) -> None:
        from field_app.sync.client import HubRefused

        to_send = outbox.pending_count(self.db)
        batches = math.ceil(to_send / self.batch_size)
        self._emit(SyncEvent(STARTED, batches=batches, to_send=to_send))
        size, after, batch_no = self.batch_size, 0, 0
        while True:
            batch = outbox.entries(self.db, "pending", after=after, limit=size)
            if not batch:
                return
            ops, invalid = _ops(batch)
            with self.db.atomic():
                outbox.count_attempt(self.db, [e.op_id for e in batch])
                for entry, problem in invalid:  # cannot even be put on the wire: the hub would refuse it too
                    outbox.quarantine(self.db, entry.op_id, code="invalid_payload", reason=problem, now=self.clock())
            counts["pushed"] += len(invalid)
            counts["rejected"] += len(invalid)
            batch = [e for e in batch if e.op_id in {op.op_id for op in ops}]
            if not ops:
                after = max(e.seq for e, _problem in invalid)
                continue
            try:
                answer = self.client.push(ops)
            except HubRefused as exc:
                if exc.status not in SPLIT_STATUSES:
                    raise
                if len(batch) > 1:
                    size = max(1, len(batch) // 2)  # the same entries again, in halves
                    continue
                with self.db.atomic():
                    outbox.quarantine(
                        self.db, batch[0].op_id, code=exc.code or "invalid_payload", reason=str(exc), now=self.clock()
                    )
                counts["pushed"] += 1
                counts["rejected"] += 1
                after = batch[0].seq
                continue
            if self._distrusts(answer.state, counts):  # a restored hub: not checkpointed, all sent again in order
                size, after = self.batch_size, 0
                to_send = max(to_send, counts["pushed"] + outbox.pending_count(self.db))
                continue
            self._checkpoint(batch, answer.results, counts)
            after = batch[-1].seq
            size = min(self.batch_size, size * 2)
            batch_no += 1
            self._emit(
                SyncEvent(
                    BATCH_PUSHED,
                    batch=batch_no,
                    batches=max(batches, batch_no),
                    sent=counts["pushed"],
                    to_send=max(to_send, counts["pushed"]),
                )
            )

    def _checkpoint(self, batch: list[OutboxEntry], results: list[OpResult], counts: dict[str, int]) -> None:
        """Record the hub's answer for one batch, all in one transaction."""
        from field_app.sync.client import HubError

        ours = {e.op_id for e in batch}
        resent = {e.op_id for e in batch if e.error_code == outbox.RESENT}
        answered = {r.op_id: r for r in results if r.op_id in ours}
        now = self.clock()
        from field_app.storage.referrals import merge_push_answer

        with self.db.atomic():
            done = [i for i, r in answered.items() if r.result in ("applied", "duplicate")]
            outbox.mark_done(self.db, done)
            for op_id, r in answered.items():
                if r.result == "rejected" and r.code in reconcile.REQUEUED_CODES and op_id in resent:
                    continue  # sent again after a restore: its referral may reach the hub later, from another device
                if r.result == "rejected":
                    outbox.quarantine(self.db, op_id, code=r.code or "rejected", reason=r.reason or "", now=now)
                elif r.status is not None or r.events:
                    merge_push_answer(self.db, r)  # the referral's status and the hub's events (`sent`), ranked
        for r in answered.values():
            counts["pushed"] += 1
            counts["applied" if r.result == "applied" else "duplicates" if r.result == "duplicate" else "rejected"] += 1
        if len(answered) < len(batch):  # left pending: sent again next time
            total = len(batch)
            answer = ngettext("the hub answered {n} of {total} entry", "the hub answered {n} of {total} entries", total)
            raise HubError(answer.format(n=len(answered), total=total))

    # --- pull --------------------------------------------------------------------------------------------

    def _pull(self, counts: dict[str, int]) -> int:
        from field_app.sync.client import HubError

        first = True
        while True:
            state = sync_state.require(self.db)
            cursor, trust = state.cursor, state.trust
            full = trust.phase == sync_state.PULLING
            check = self._check if first and not full else None
            page = self.client.pull(cursor, self.page_size, check=check, full=full)
            if check is not None and check in page.missing:
                self._reconcile(reconcile.Why.MISSING, trust, counts, epoch=page.state.epoch if page.state else None)
                self._push(counts)
                first = False
                continue
            if self._distrusts(page.state, counts, cursor=cursor):
                self._push(counts)
                first = False
                continue
            if page.state is None and first and check is not None and self._ask(counts):
                self._push(counts)
                first = False
                continue
            first = False
            with self.db.atomic():
                for change in page.changes:
                    if not self._apply(change):
                        counts["skipped"] += 1
                sync_state.set_cursor(self.db, page.next_cursor)
                if not page.has_more and full:
                    reconcile.finished(self.db, page.state.epoch if page.state else trust.epoch)
            counts["pulled"] += len(page.changes)
            self._emit(SyncEvent(PAGE_PULLED, sent=counts["pushed"], pulled=counts["pulled"]))
            if not page.has_more:
                return page.next_cursor
            if page.next_cursor <= cursor:
                raise HubError(_("the hub's change log did not move forward (cursor {n})").format(n=cursor))

    # --- trust in the hub's database (issue 10) -----------------------------------------------------------

    def _distrusts(self, hub: HubState | None, counts: dict[str, int], *, cursor: int | None = None) -> bool:
        """Compare the hub's state with what this device knows; reconcile (True) when the hub's database is not
        the one the device synced with. A device that never knew an epoch adopts the hub's. Also the directory
        check, once a sync."""
        if hub is None:
            return False
        state = sync_state.require(self.db)
        why = reconcile.reason(state.trust, hub, state.cursor if cursor is None else cursor)
        if why is None:
            if state.trust.phase == sync_state.SYNCED and state.trust.epoch is None:
                with self.db.atomic():
                    sync_state.set_trust(self.db, sync_state.Trust(sync_state.SYNCED, hub.epoch))
            self._directory(hub)
            return False
        self._reconcile(why, state.trust, counts, epoch=hub.epoch)
        return True

    def _ask(self, counts: dict[str, int]) -> bool:
        """A hub whose answers carry no state: ask it once, through the ops diff, whether it holds this device's
        latest done op (and its state). True when that led to a reconcile."""
        from field_app.sync.client import HubRefused

        if self._asked or self._check is None:
            return False
        self._asked = True
        try:
            answer = self.client.ops_diff([self._check])
        except HubRefused as exc:
            if exc.status in (404, 405):  # a hub from before issue 10: nothing to compare with
                return False
            raise
        if self._check in answer.missing:
            self._reconcile(reconcile.Why.MISSING, sync_state.require(self.db).trust, counts, epoch=answer.state.epoch)
            return True
        return self._distrusts(answer.state, counts)

    def _reconcile(
        self, why: reconcile.Why, trust: sync_state.Trust, counts: dict[str, int], *, epoch: str | None = None
    ) -> None:
        from field_app.sync.client import HubError

        self._reconciles += 1
        if self._reconciles > 3:  # the hub's database changes under our feet: try again later
            raise HubError(_("the hub's database keeps changing; the sync will be tried again"))
        log.info("the hub's database is not the one this device synced with (%s): reconciling", why.value)
        if trust.phase != sync_state.DIFFING:
            trust = reconcile.start(self.db, epoch)
        requeued, _trust = reconcile.run(self.db, self.client, trust)
        counts["requeued"] += requeued

    def _directory(self, hub: HubState) -> None:
        """The directory versions compared once a sync; the difference fetched when they differ (D's manifest)."""
        if self._directory_checked or hub.directory_version is None:
            return
        self._directory_checked = True
        from field_app.directory import manifest
        from field_app.sync.client import HubRefused

        try:
            manifest.catch_up_if_behind(self.db, self.client, hub.directory_version)
        except HubRefused as exc:  # a hub without the directory diff: the change log still brings corrections
            if exc.status not in (404, 405):
                raise
            log.info("the hub has no directory diff (%s)", exc.status)

    def _apply(self, change: Change) -> bool:
        """Apply one change (inside the page's transaction); False when it was skipped."""
        import pydantic

        try:
            return apply_change(self.db, change, now=self.clock())
        except (pydantic.ValidationError, ValidationError, ValueError) as exc:
            # the error's text may quote the change's data (an office's note…): never log it, only where it failed
            if isinstance(exc, pydantic.ValidationError):
                fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            elif isinstance(exc, ValidationError):
                fields = sorted({p.field for p in exc.problems})
            else:
                fields = ["data"]
            log.warning(
                "skipped change %s (%s %s): invalid %s", change.seq, change.entity, change.id, ", ".join(fields)
            )
            return False


def app_version() -> str:
    """This app's version, as devices report it."""
    try:
        import field_app

        version = getattr(field_app, "__version__", None)
        if version:
            return str(version)[:40]
        from importlib.metadata import version as package_version

        return package_version("field-app")[:40]
    except Exception:  # not installed as a package (a source checkout)
        return "0+unknown"


def apply_change(db: sqlite_utils.Database, change: Change, *, now: dt.datetime | None = None) -> bool:
    """Apply one pulled change to the local database; False when it does not concern this device (an event for a
    referral it does not hold) or changes nothing it can use. Raises pydantic/our ValidationError on bad data."""
    from field_app.directory.build import put_locality, put_organization, remove_locality, remove_organization
    from field_app.domain.directory import Locality, Organization
    from field_app.domain.referrals import ReferralEvent
    from field_app.storage.access import put_access
    from field_app.storage.audit import put_audit
    from field_app.storage.devices import put_device
    from field_app.storage.referrals import merge_event, put_pulled_referral
    from field_app.sync.protocol import AccessRecord, AuditEntry, DeviceInfo, ReferralChange

    data = change.data or {}
    match change.entity, change.op:
        case "organization", "upsert":
            put_organization(db, Organization.model_validate(data))
            return True
        case "organization", "delete":
            remove_organization(db, change.id)
            return True
        case "locality", "upsert":
            put_locality(db, Locality.model_validate(data))
            return True
        case "locality", "delete":
            return remove_locality(db, change.id)
        case "referral_event", "upsert":
            fields = {k: v for k, v in data.items() if k in ReferralEvent.model_fields}
            event = ReferralEvent.model_validate(fields)
            received = data.get("received")  # the hub's receipt rank (issue 10): the fold follows it
            rank = received if isinstance(received, int) and not isinstance(received, bool) else None
            return merge_event(db, event, received=rank) or _known_event(db, event.id)
        case "referral", "upsert":
            return put_pulled_referral(db, ReferralChange.model_validate(data), now=now or utc_now())
        case "device", "upsert":
            put_device(db, DeviceInfo.model_validate(data))
            return True
        case "access", "upsert":
            put_access(db, AccessRecord.model_validate(data))
            return True
        case "directory_audit", "upsert":
            put_audit(db, AuditEntry.model_validate(data))
            return True
    return False


def _known_event(db: sqlite_utils.Database, event_id: str) -> bool:
    return db.execute("SELECT 1 FROM referral_events WHERE id = ?", [event_id]).fetchone() is not None


def _ops(batch: list[OutboxEntry]) -> tuple[list[Op], list[tuple[OutboxEntry, str]]]:
    """The batch as wire ops, and the entries that are not valid ops (with why)."""
    import pydantic

    from field_app.sync.protocol import Op

    ops: list[Op] = []
    invalid: list[tuple[OutboxEntry, str]] = []
    for entry in batch:
        try:
            ops.append(
                Op.model_validate(
                    {
                        "op_id": entry.op_id,
                        "entity": entry.entity,
                        "entity_id": entry.entity_id,
                        "op": entry.op,
                        "payload": entry.payload,
                        "base_version": entry.base_version,
                    }
                )
            )
        except pydantic.ValidationError as exc:
            invalid.append((entry, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())))
    return ops, invalid
