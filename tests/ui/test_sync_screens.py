"""Sync on screen: the status panel on home (offline / syncing / failed / up to date, what waits, last sync,
progress), enrolment, the sync screen with refused changes, and the background runner — against a real hub
process where a hub is involved, built off-page otherwise."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Callable, Iterator

import flet as ft
import pytest
import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.returnees.service import register
from field_app.storage import outbox, sync_state
from field_app.storage.database import open_db
from field_app.sync.engine import BATCH_PUSHED, FINISHED, PAGE_PULLED, STARTED, SyncEvent, enrol
from field_app.ui import routes
from field_app.ui.router import Router
from field_app.ui.viewmodels.sync import (
    NEVER,
    NOT_ENROLLED,
    OFFLINE,
    SYNCING,
    UP_TO_DATE,
    EnrolViewModel,
    SyncRunner,
    SyncViewModel,
    when_text,
)
from field_app.ui.views.sync import enrol_view, sync_panel
from tests.sync.hubproc import HubProcess
from tests.ui.conftest import NOW
from tests.ui.helpers import NavRecorder, button, by_key, fire, labels, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
PERSON_2 = {"given_name": "Mariam", "family_name": "Keita", "sex": "F", "age": 30, "region": "kayes", "consent": True}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    tmp = tmp_path_factory.mktemp("hub")
    process = HubProcess(str(tmp / "hub.db"), tmp).start()
    yield process
    process.stop()


def db_path(db: sqlite_utils.Database) -> str:
    return str(db.execute("PRAGMA database_list").fetchone()[2])


def runner_for(db: sqlite_utils.Database, clock: Clock, vm: SyncViewModel, interval_s: float = 3600) -> SyncRunner:
    """The app's runner: its own connection to the same database file."""
    path = db_path(db)
    return SyncRunner(lambda: open_db(path), clock, random.Random(3), vm, interval_s=interval_s)


def test_a_phone_with_no_hub_offers_to_connect(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    router = Router(db, clock, recorder.nav)
    home = router.views_for(routes.HOME)[-1]
    assert router.sync_vm.phase == NOT_ENROLLED
    assert "Not connected to a hub yet" in texts(home) and "Nothing waiting to be sent" in texts(home)
    assert button(home, "Sync now").visible is False
    fire(button(home, "Connect to the hub"))
    assert recorder.went == [routes.ENROL]
    assert [v.route for v in router.views_for(routes.ENROL)] == [routes.HOME, routes.SYNC, routes.ENROL]


def test_the_enrolment_form_says_what_is_missing(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    vm = EnrolViewModel(db, clock)
    view = enrol_view(vm, recorder.nav, on_enrolled=lambda: None)
    fire(button(view, "Connect this phone"))
    assert by_key(view, "hub_url", ft.TextField).error == "Enter the hub's address."
    assert by_key(view, "code", ft.TextField).error == "Enter the code given by the hub's operator."
    by_key(view, "hub_url", ft.TextField).value = "hub.local:8700"
    by_key(view, "code", ft.TextField).value = "ABCD-EFGH"
    fire(button(view, "Connect this phone"))
    assert by_key(view, "hub_url", ft.TextField).error == "The address starts with http:// or https://"
    assert recorder.went == [] and sync_state.load(db) is None


def test_enrol_then_sync_with_a_real_hub(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder, hub: HubProcess, fatoumata: Returnee
) -> None:
    enrolled: list[bool] = []
    vm = EnrolViewModel(db, clock)
    view = enrol_view(vm, recorder.nav, on_enrolled=lambda: enrolled.append(True))
    by_key(view, "hub_url", ft.TextField).value = hub.url
    by_key(view, "code", ft.TextField).value = "WRONG-CODE-0000"
    fire(button(view, "Connect this phone"))
    assert by_key(view, "code", ft.TextField).error == "The hub refused this code: check it, or ask for a new one."
    by_key(view, "code", ft.TextField).value = hub.enrol_code()
    fire(button(view, "Connect this phone"))
    assert enrolled == [True] and recorder.went == [routes.HOME]
    assert vm.message == "This phone is enrolled. It syncs with the hub from now on."
    sync = SyncViewModel(db, clock)
    assert sync.phase == NEVER and sync.pending == 1 and sync.status_text == "Not synced yet"
    report = runner_for(db, clock, sync).sync_blocking()
    assert report is not None and report.applied == 1
    assert sync.phase == UP_TO_DATE and sync.pending == 0
    panel = sync_panel(sync, recorder.nav, lambda: None)
    assert "Up to date" in texts(panel.control) and "Nothing waiting to be sent" in texts(panel.control)
    assert sync.last_sync_text == f"Last sync: {when_text(NOW, NOW)}"
    assert sync.last_sync_text.startswith("Last sync: today at ")


def test_progress_is_shown_while_a_sync_runs(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    sync_state.save_enrolment(
        db, hub_url="http://127.0.0.1:9", hub_id="h", device_id="d", token="t", role="agent", region=None, now=NOW
    )
    vm = SyncViewModel(db, clock)
    panel = sync_panel(vm, recorder.nav, lambda: None)
    bar = by_key(panel.control, "sync-progress", ft.ProgressBar)
    assert bar.visible is False
    steps = [
        (SyncEvent(STARTED, batches=2, to_send=4), 0.0),
        (SyncEvent(BATCH_PUSHED, batch=1, batches=2, sent=2, to_send=4), 0.5),
        (SyncEvent(BATCH_PUSHED, batch=2, batches=2, sent=4, to_send=4), 1.0),
    ]
    for event, value in steps:
        vm.on_event(event)
        panel.redraw()
        assert vm.phase == SYNCING and bar.visible is True and bar.value == value
        assert "Syncing…" in texts(panel.control)
        assert button(panel.control, "Sync now").disabled is True
    vm.on_event(SyncEvent(PAGE_PULLED, pulled=3))
    vm.on_event(SyncEvent(FINISHED))
    panel.redraw()
    assert bar.visible is False and button(panel.control, "Sync now").disabled is False


def test_offline_says_when_it_tries_again(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    sync_state.save_enrolment(
        db, hub_url="http://127.0.0.1:9", hub_id="h", device_id="d", token="t", role="agent", region=None, now=NOW
    )
    vm = SyncViewModel(db, clock)
    runner = runner_for(db, clock, vm)
    assert runner.sync_blocking() is None and runner.last_error is not None
    assert vm.phase == OFFLINE and vm.status_text.startswith("Offline: will try again")
    assert vm.last_sync_text == "Never synced"
    state = sync_state.require(db)
    assert state.next_attempt_at is not None
    assert runner.seconds_until_due() == (state.next_attempt_at - NOW).total_seconds()
    router = Router(db, clock, recorder.nav)
    screen = router.views_for(routes.SYNC)[-1]
    assert "Hub: http://127.0.0.1:9" in labels(screen)  # labelled text, read as one
    assert {"Hub", "http://127.0.0.1:9"} <= set(texts(screen))
    [why] = [t for t in texts(screen) if "cannot be reached" in t]
    assert why == "The hub cannot be reached: nothing answers at this address (connection refused)."


def test_refused_changes_are_listed_with_their_reason_and_sent_again(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder, fatoumata: Returnee
) -> None:
    [entry] = outbox.entries(db)
    with db.atomic():
        outbox.quarantine(db, entry.op_id, code="invalid_payload", reason="sex: Field required", now=NOW)
    router = Router(db, clock, recorder.nav)
    home = router.views_for(routes.HOME)[-1]
    assert "Changes refused by the hub: 1" in texts(home)
    fire(button(home, "Sync details"))
    screen = router.views_for(routes.SYNC)[-1]
    assert "Returnee record: Fatoumata Traoré" in texts(screen)
    assert "The hub found this record invalid: correct it, then send it again." in texts(screen)
    fire(button(screen, "Fix the record"))
    assert recorder.went == [routes.SYNC, routes.edit_returnee(fatoumata.id)]
    fire(button(screen, "Send again"))
    assert outbox.entries(db)[0].state == "pending"
    assert "It will be sent again at the next sync." in texts(screen)
    assert "No change was refused by the hub." in texts(screen)


def test_the_home_panel_follows_a_running_sync(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    sync_state.save_enrolment(
        db, hub_url="http://127.0.0.1:9", hub_id="h", device_id="d", token="t", role="agent", region=None, now=NOW
    )
    vm = SyncViewModel(db, clock)
    router = Router(db, clock, recorder.nav, sync=runner_for(db, clock, vm))
    home = router.views_for(routes.HOME)[-1]
    assert "Not synced yet" in texts(home)
    vm.on_event(SyncEvent(STARTED, to_send=0))
    router.sync_changed()
    assert "Syncing…" in texts(home)
    assert by_key(home, "sync-progress", ft.ProgressBar).value is None  # nothing to send: indeterminate


def test_the_runner_syncs_at_start_and_when_asked(
    db: sqlite_utils.Database, clock: Clock, hub: HubProcess, fatoumata: Returnee
) -> None:
    enrol(db, hub.url, hub.enrol_code())
    vm = SyncViewModel(db, clock)
    changes: list[str] = []
    vm.subscribe(lambda: changes.append(vm.phase))
    runner = runner_for(db, clock, vm)

    async def scenario() -> None:
        task = asyncio.create_task(runner.run())
        await wait_for(lambda: vm.phase == UP_TO_DATE and vm.pending == 0)  # synced at start
        register(db, {**PERSON_2}, now=NOW)
        vm.refresh()
        assert vm.pending == 1
        runner.request()  # "Sync now"
        await wait_for(lambda: vm.pending == 0)
        runner.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert changes.count(UP_TO_DATE) >= 2 and SYNCING in changes


async def wait_for(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
