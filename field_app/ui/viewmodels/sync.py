"""Sync as the agent sees it: the status line on home, the sync screen (refused entries), the enrolment form,
and the runner that syncs in the background — plain Python, tested without Flet.

- `SyncViewModel` reads the sync state and the outbox (on the screens' database connection) and follows a sync in
  progress through the engine's events: offline / syncing / failed / up to date, what waits, the last sync.
- `SyncRunner` (the one background runner, in `field_app.sync.runner`, shared with `field-app sync`) syncs on
  its OWN connection, in a worker thread, one sync at a time; it is imported here for the app's composition.
- `EnrolViewModel` checks the hub address and code, then enrols (the network call runs in a worker thread).
Event callbacks arrive on the worker thread: the composition root hands `on_change` listeners that hop back to
the page's event loop before touching controls.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlite_utils
from babel.dates import format_date as babel_date
from babel.dates import format_time as babel_time

from field_app.errors import AuthError, FieldAppError, NotFound, SyncError
from field_app.i18n import BABEL_LOCALES, _, labelled, language, ngettext
from field_app.labels import SYNC_ROLES, label, pending_words
from field_app.sync import quarantine, status
from field_app.sync.engine import (
    BATCH_PUSHED,
    FAILED,
    FINISHED,
    PAGE_PULLED,
    STARTED,
    SyncEvent,
    enrol,
)
from field_app.sync.runner import SyncRunner as _SyncRunner
from field_app.sync.status import SyncState
from field_app.ui.viewmodels.common import Clock

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# What the status line says (phases).
NOT_ENROLLED = "not_enrolled"
NEVER = "never"  # enrolled, not synced yet
SYNCING = "syncing"
UP_TO_DATE = "up_to_date"
OFFLINE = "offline"
FAILED_PHASE = "failed"
REFUSED = "refused"


def when_text(value: dt.datetime, now: dt.datetime) -> str:
    """A past moment as the agent reads it: "today at 10:05", or "1 June 2025 at 10:05" (Mali keeps UTC)."""
    locale = BABEL_LOCALES[language()]
    value, now = value.astimezone(dt.UTC), now.astimezone(dt.UTC)
    time = babel_time(value.time(), format="short", locale=locale)
    if value.date() == now.date():
        return _("today at {time}").format(time=time)
    return _("{date} at {time}").format(date=babel_date(value.date(), format="long", locale=locale), time=time)


class SyncViewModel:
    """The sync status line and screen. `refresh()` re-reads the database; `on_event` follows a running sync."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock):
        self._db = db
        self._clock = clock
        self._listeners: list[Callable[[], None]] = []
        self.state: SyncState | None = None
        self.pending = 0
        self.refused: list[RefusedRow] = []
        self.syncing = False
        self.progress: float | None = None  # of the push, while syncing (None: not known)
        self.pulled = 0
        self.message = ""
        self.refresh()

    # --- reading -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.state = status.state(self._db)
        self.pending = status.pending(self._db)
        self.refused = [_refused_row(self._db, q) for q in quarantine.items(self._db)]

    def subscribe(self, listener: Callable[[], None]) -> None:
        """`listener()` runs after each change (from the sync's worker thread: hop to the UI loop yourself)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            try:
                listener()
            except Exception:  # a closed page must not stop the sync
                log.exception("sync listener failed")

    def on_event(self, event: SyncEvent) -> None:
        """The engine's progress (called on the worker thread)."""
        if event.kind == STARTED:
            self.syncing, self.progress, self.pulled = True, (0.0 if event.to_send else None), 0
        elif event.kind == BATCH_PUSHED:
            self.progress = event.progress
        elif event.kind == PAGE_PULLED:
            self.pulled = event.pulled
        elif event.kind in (FINISHED, FAILED):
            self.syncing, self.progress = False, None
        self._changed()

    def finished(self) -> None:
        """A sync (or an enrolment) ended: re-read what it changed and tell the listeners."""
        self.syncing, self.progress = False, None
        self.refresh()
        self._changed()

    # --- what the screens show -------------------------------------------------------------------------------

    @property
    def enrolled(self) -> bool:
        return self.state is not None

    @property
    def phase(self) -> str:
        state = self.state
        if state is None:
            return NOT_ENROLLED
        if self.syncing:
            return SYNCING
        match state.last_result:
            case None:
                return NEVER
            case status.OK:
                return UP_TO_DATE
            case status.OFFLINE:
                return OFFLINE
            case status.REFUSED:
                return REFUSED
        return FAILED_PHASE

    @property
    def status_text(self) -> str:
        now = self._clock()
        retry = self.state.next_attempt_at if self.state else None
        retry_words = when_text(retry, now) if retry and retry > now else _("soon")
        match self.phase:
            case "not_enrolled":
                return _("Not connected to a hub yet")
            case "never":
                return _("Not synced yet")
            case "syncing":
                return _("Syncing…")
            case "up_to_date":
                return _("Up to date")
            case "offline":
                return _("Offline: will try again {when}").format(when=retry_words)
            case "refused":
                return _("The hub refused this phone: enrol it again")
        return _("Sync failed: will try again {when}").format(when=retry_words)

    @property
    def pending_text(self) -> str:
        return pending_words(self.pending)

    @property
    def last_sync_text(self) -> str:
        state = self.state
        if state is None or state.last_success_at is None:
            return _("Never synced")
        return _("Last sync: {when}").format(when=when_text(state.last_success_at, self._clock()))

    @property
    def refused_text(self) -> str:
        n = len(self.refused)
        if n == 0:
            return ""
        return _("Changes refused by the hub: {n}").format(n=n)  # no plural forms: the catalogs carry none yet

    @property
    def error_text(self) -> str:
        """Why the last sync failed (the engine's words), for the sync screen."""
        state = self.state
        if state is None or state.last_result in (None, status.OK):
            return ""
        return state.last_error or ""

    @property
    def can_sync(self) -> bool:
        return self.enrolled and not self.syncing

    @property
    def hub_lines(self) -> list[tuple[str, str]]:
        state = self.state
        if state is None:
            return []
        lines = [
            (_("Hub"), state.hub_url),
            (_("This phone"), state.device_id),
            (_("Role"), label(SYNC_ROLES, state.role)),
        ]
        if state.next_attempt_at and self.phase in (OFFLINE, FAILED_PHASE, REFUSED):
            lines.append((_("Next attempt"), when_text(state.next_attempt_at, self._clock())))
        return lines

    def retry(self, seq: int) -> None:
        """Send a refused entry again at the next sync (after the agent fixed the record)."""
        try:
            quarantine.retry(self._db, seq)
            self.message = _("It will be sent again at the next sync.")
        except NotFound as exc:
            self.message = str(exc)
        self.refresh()


@dataclass(frozen=True)
class RefusedRow:
    seq: int
    what: str  # "Returnee record: Awa Diarra", "Referral: Awa Diarra"
    why: str  # the reason in the agent's language
    returnee_id: str | None  # to open the person's record and fix it


def _refused_row(db: sqlite_utils.Database, item: quarantine.QuarantinedItem) -> RefusedRow:
    from field_app.referrals.service import get as get_referral  # only for a refused entry's line
    from field_app.referrals.service import returnee_of_event
    from field_app.returnees.service import get as get_returnee

    returnee_id: str | None = None
    try:
        if item.entity == "returnee":
            returnee_id = item.entity_id
        elif item.entity == "referral":
            returnee_id = get_referral(db, item.entity_id).referral.returnee_id
        elif item.entity == "referral_event":
            returnee_id = returnee_of_event(db, item.entity_id)
        who = get_returnee(db, returnee_id).full_name if returnee_id else None
    except FieldAppError:
        who, returnee_id = None, None
    what = labelled(item.what, who) if who else item.what
    return RefusedRow(item.seq, what, item.message, returnee_id)


# The one background runner (field_app.sync.runner), watched by the sync view model: what the app composes.
SyncRunner = _SyncRunner[SyncViewModel]


def no_answer_text(seconds: float) -> str:
    """What the screen says when a network action has had no outcome for `seconds` (it keeps waiting for one)."""
    n = round(seconds)
    return ngettext(
        "No answer after {n} second: check the address and this phone's data connection.",
        "No answer after {n} seconds: check the address and this phone's data connection.",
        n,
    ).format(n=n)


class EnrolViewModel:
    """The enrolment form: hub address and one-time code → this phone's device id and token (stored)."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, transport: httpx.BaseTransport | None = None):
        self._db = db
        self._clock = clock
        self._transport = transport
        state = status.state(db)
        self.hub_url = state.hub_url if state else ""
        self.code = ""
        self.errors: dict[str, str] = {}
        self.message = ""
        self.problem = ""  # what went wrong that is no field's fault (shown above the button)
        self.enrolled_as: str | None = None
        self.busy = False

    def check(self) -> bool:
        """Both fields filled in, the address an http(s) URL; problems in `errors` by field."""
        self.errors = {}
        url = self.hub_url.strip()
        if not url:
            self.errors["hub_url"] = _("Enter the hub's address.")
        elif not url.startswith(("http://", "https://")):
            self.errors["hub_url"] = _("The address starts with http:// or https://")
        if not self.code.strip():
            self.errors["code"] = _("Enter the code given by the hub's operator.")
        return not self.errors

    def submit(self) -> bool:
        """Enrol (blocking: the network call; run it in a worker thread). True when this phone is enrolled.
        Ends within the client's enrolment timeouts whatever the hub does (refuses, stays silent, is unknown)."""
        self.message, self.problem = "", ""
        if not self.check():
            return False
        self.busy = True
        try:
            state = enrol(
                self._db, self.hub_url.strip(), self.code.strip(), clock=self._clock, transport=self._transport
            )
        except AuthError:
            self.errors["code"] = _("The hub refused this code: check it, or ask for a new one.")
            return False
        except SyncError as exc:  # already a whole sentence ("The hub cannot be reached: …"): shown as it is
            self.errors["hub_url"] = str(exc)
            return False
        except FieldAppError as exc:  # e.g. the enrolment could not be stored on this phone
            self.problem = str(exc)
            return False
        finally:
            self.busy = False
        self.enrolled_as = state.device_id
        self.code = ""
        self.message = _("This phone is enrolled. It syncs with the hub from now on.")
        return True
