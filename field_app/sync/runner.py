"""The one background sync runner, used by the app and by `field-app sync`.

`SyncRunner` syncs on its OWN database connection, one sync at a time: at start, every `interval_s` seconds
after a success, at the backoff time after a failure (so the first success after failures is the sync "on
reconnect"), and at once when asked (`request()`: "Sync now", a page reconnecting, a new enrolment).

- The app runs `await runner.run()` as an asyncio task (each sync in a worker thread); a view model given as
  `watcher` follows each sync through the engine's events (`on_event`) and is told when it ended (`finished`).
- `field-app sync` runs `runner.run_blocking(on_sync)` in the foreground until Ctrl+C/SIGTERM; `on_sync(report,
  error)` prints one line per sync. A refused token ends it (AuthError: it will not start working by itself).
Watcher callbacks arrive on the worker thread: the UI hops back to its event loop before touching controls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import sqlite_utils

from field_app.errors import AuthError, FieldAppError, SyncError
from field_app.storage import sync_state
from field_app.sync import backoff
from field_app.sync.engine import INTERVAL_S, Clock, SyncEngine, SyncEvent, SyncReport, client_for, next_due

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


class Watcher(Protocol):
    """What follows the runner's syncs (the sync view model)."""

    def on_event(self, event: SyncEvent) -> None: ...

    def finished(self) -> None: ...


class Quiet:
    """A watcher that watches nothing (the command line prints each sync's result itself)."""

    def on_event(self, event: SyncEvent) -> None:
        pass

    def finished(self) -> None:
        pass


W = TypeVar("W", bound=Watcher)
OnSync = Callable[[SyncReport | None, FieldAppError | None], None]


class SyncRunner(Generic[W]):
    """Runs syncs: `run()` (asyncio) or `run_blocking()` is the loop, `request()` asks for a sync now,
    `sync_blocking()` does one sync. One sync at a time, on the runner's own connection."""

    def __init__(
        self,
        open_db: Callable[[], sqlite_utils.Database],
        clock: Clock,
        rng: backoff.Uniform,
        watcher: W,
        *,
        interval_s: float = INTERVAL_S,
        transport: httpx.BaseTransport | None = None,
    ):
        self._open_db = open_db
        self._db: sqlite_utils.Database | None = None
        self._clock = clock
        self._rng = rng
        self.vm = watcher
        self.interval_s = interval_s
        self._transport = transport
        self._lock = threading.Lock()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_thread = threading.Event()
        self._stopped = False
        self.last_error: FieldAppError | None = None

    @property
    def db(self) -> sqlite_utils.Database:
        if self._db is None:
            self._db = self._open_db()
        return self._db

    def sync_blocking(self) -> SyncReport | None:
        """One whole sync now (blocking: call it from a worker thread); None when not enrolled, or when it failed
        (then `last_error` says why; the failure and the next attempt are in the sync state)."""
        with self._lock:
            try:
                if sync_state.load(self.db) is None:
                    return None
                with client_for(self.db, transport=self._transport) as client:
                    report = SyncEngine(self.db, client, self._clock, self._rng, listener=self.vm.on_event).sync_once()
                self.last_error = None
                return report
            except (SyncError, AuthError) as exc:
                self.last_error = exc
                return None
            except FieldAppError as exc:  # e.g. the database could not be opened
                self.last_error = exc
                log.warning("sync could not run: %s", exc)
                return None
            finally:
                self.vm.finished()

    def seconds_until_due(self) -> float | None:
        """How long until the next automatic sync (0: now); None when not enrolled."""
        now = self._clock()
        due = next_due(sync_state.load(self.db), now, self.interval_s)
        return None if due is None else max(0.0, (due - now).total_seconds())

    def request(self) -> None:
        """Sync as soon as possible ("Sync now", a new enrolment, the page reconnecting). Thread-safe."""
        self._wake_thread.set()
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def stop(self) -> None:
        self._stopped = True
        self.request()

    async def run(self) -> None:
        """The background loop for the app: sync at start, then whenever due or asked, until `stop()`."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        first = True
        while not self._stopped:
            try:
                wait = 0.0 if first else await asyncio.to_thread(self.seconds_until_due)
            except Exception:  # e.g. the database could not be read: try again in a while
                log.exception("could not read the sync state")
                wait = self.interval_s
            first = False
            if wait is None or wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)  # None: until asked
            self._wake.clear()
            if self._stopped:
                break
            try:
                await asyncio.to_thread(self.sync_blocking)
            except Exception:  # a bug must not end background syncing for the session: log it, go on
                log.exception("background sync failed")
                await asyncio.sleep(backoff.CAP_S / 10)

    def run_blocking(self, on_sync: OnSync | None = None) -> None:
        """The same loop in the calling thread (the command line): sync now, then whenever due or asked, until
        `stop()` or KeyboardInterrupt. `on_sync(report, error)` after each sync. NotEnrolled when the device has
        no hub; a refused token (AuthError) ends the loop by raising it."""
        sync_state.require(self.db)
        first = True
        while not self._stopped:
            wait = 0.0 if first else self.seconds_until_due()
            first = False
            if wait is None:
                sync_state.require(self.db)
            if wait is None or wait > 0:
                self._wake_thread.wait(timeout=wait)
            self._wake_thread.clear()
            if self._stopped:
                break
            report = self.sync_blocking()
            if on_sync is not None:
                on_sync(report, self.last_error)
            if isinstance(self.last_error, AuthError):
                raise self.last_error
