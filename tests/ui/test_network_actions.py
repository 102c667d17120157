"""Every network action of the app ends in a visible outcome within its timeout, seen at the Flet session level:
the app's own `main` on a real (in-memory) Flet session, the screen driven as the browser drives it, and the page
checked to hold nothing the phone has not been sent.

Three hubs that do not work, each a real socket on this machine:
- refused: a port with nothing listening (the kernel refuses the connection at once);
- silent: a listening socket that never answers (connected, then nothing comes back);
- unanswered: a listening socket whose queue is full (the connection itself never completes).
The issue's target is an error on screen within 15 s; the client's own timeouts (8 s to enrol, 10/12 s to sync)
are what keep it there, so these tests use the real timeouts, not shortened ones.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import flet as ft
import pytest
import sqlite_utils

from field_app.i18n import _
from field_app.storage import sync_state
from field_app.ui import routes
from field_app.ui.app import make_main
from tests.ui.session import AppSession

pytestmark = pytest.mark.usefixtures("english")
LIMIT_S = 15.0  # the issue: a refused or unreachable hub shows its error within 15 s
START_ALLOWANCE_S = 10.0  # the app's own start, before the sync at start can even begin


@contextmanager
def refused() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield f"http://127.0.0.1:{port}"  # closed again: nothing listens there


@contextmanager
def silent() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)  # connections complete in the kernel's queue; nobody ever reads or answers
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


@contextmanager
def unanswered() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        port = s.getsockname()[1]
        filler = socket.create_connection(("127.0.0.1", port), timeout=2)  # fills the queue: later SYNs drop
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            filler.close()


HUBS = {"refused": refused, "silent": silent, "unanswered": unanswered}


@pytest.fixture(autouse=True)
def english_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's `main` sets the language from the environment: English words, as the assertions read."""
    monkeypatch.setenv("FIELD_APP_LANG", "en")


def run(scenario: Callable[[], object]) -> None:
    asyncio.run(scenario())  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], timeout: float) -> float:
    """Wait until `condition()` holds; how long it took (AssertionError after `timeout`)."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.1)
    return time.monotonic() - start


@pytest.mark.parametrize("hub", list(HUBS))
def test_enrolment_to_a_hub_that_does_not_work_says_so_within_15_s(
    hub: str, db: sqlite_utils.Database, clock: Callable[[], dt.datetime], tmp_path: Path
) -> None:
    async def scenario() -> None:
        app = await AppSession(make_main(tmp_path, clock), route=routes.ENROL).start()
        try:
            with HUBS[hub]() as url:
                await app.type_into(app.by_key("hub_url"), url)
                await app.type_into(app.by_key("code"), "ABCD-EFGH")
                took = await app.click(app.button(_("Connect this phone")))
                field = app.by_key("hub_url")
                assert isinstance(field, ft.TextField)
                assert field.error and field.error.startswith("The hub cannot be reached: "), field.error
                assert "Error" not in field.error  # no library class name ("ConnectError")
                assert field.error.count("cannot be reached") == 1  # said once
                assert app.by_key("busy").visible is False
                assert not app.unsent(), "the phone was not sent the outcome"
                assert took <= LIMIT_S, f"{took:.1f} s"
                assert sync_state.load(db) is None and app.page.route == routes.ENROL
        finally:
            app.close()

    run(scenario)


def test_the_reason_says_what_happened(
    db: sqlite_utils.Database, clock: Callable[[], dt.datetime], tmp_path: Path
) -> None:
    """Refused, silent and unanswered each have their own words (a person can tell a typo from a dead link)."""
    from field_app.sync.client import HubUnreachable
    from field_app.sync.engine import enrol

    seen = {}
    for name, hub in HUBS.items():
        with hub() as url:
            with pytest.raises(HubUnreachable) as caught:
                enrol(db, url, "ABCD-EFGH", clock=clock)
            seen[name] = caught.value.reason
            assert str(caught.value) == f"The hub cannot be reached: {caught.value.reason}."
    assert seen == {
        "refused": "nothing answers at this address (connection refused)",
        "silent": "the hub did not answer within 8 seconds",
        "unanswered": "nothing answered within 8 seconds",
    }


def enrolled(db: sqlite_utils.Database, url: str, clock: Callable[[], dt.datetime]) -> None:
    sync_state.save_enrolment(
        db, hub_url=url, hub_id="hub-1", device_id="dev-1", token="t0ken", role="agent", region=None, now=clock()
    )


@pytest.mark.parametrize("hub", ["refused", "silent"])
def test_sync_now_against_a_hub_that_does_not_work_ends_offline_within_15_s(
    hub: str, db: sqlite_utils.Database, clock: Callable[[], dt.datetime], tmp_path: Path
) -> None:
    async def scenario() -> None:
        with HUBS[hub]() as url:
            enrolled(db, url, clock)
            app = await AppSession(make_main(tmp_path, clock), route=routes.SYNC).start()
            try:
                status = app.by_key("sync-status")
                assert isinstance(status, ft.Text)
                # the sync at start: it fails, and the screen says so (its time includes the app's start, which a
                # loaded test machine stretches: the 15 s are measured below, from the press of "Sync now")
                await until(lambda: status.value.startswith("Offline"), LIMIT_S + START_ALLOWANCE_S)
                await app.settle()
                assert app.by_key("sync-progress").visible is False and not app.unsent()
                # "Sync now": busy at once, then offline again within the limit, everything sent
                took = await app.click(app.button(_("Sync now")))
                assert took < 1 and status.value == _("Syncing…")
                assert app.by_key("sync-progress").visible is True and not app.unsent()
                waited = await until(lambda: status.value.startswith("Offline"), LIMIT_S)
                await app.settle()
                assert app.by_key("sync-progress").visible is False
                assert not app.unsent(), "the phone was not sent the outcome"
                state = sync_state.load(db)
                assert state is not None and state.last_result == sync_state.OFFLINE and state.last_error
                assert state.last_error.startswith("The hub cannot be reached: ")
                assert state.last_error in app.texts()  # why, on the sync screen
                assert waited <= LIMIT_S
            finally:
                app.close()

    run(scenario)
