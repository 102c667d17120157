"""The supervisor's screens off-page, on a real database: the route table opens the overview as home, the devices
(with revoke after confirmation), an export into the data directory's exports/ folder, the audit and access logs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import flet as ft
import pytest
import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.referrals.service import refer
from field_app.storage.devices import put_device
from field_app.storage.sync_state import save_enrolment
from field_app.sync.protocol import DeviceInfo
from field_app.ui import routes
from field_app.ui.router import Router
from field_app.ui.viewmodels.supervisor import DevicesViewModel, ExportsViewModel, OverviewViewModel
from tests.ui.conftest import NOW
from tests.ui.helpers import NavRecorder, button, fire, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
SERVICE = "atelier-ecole-kayes/maraichage"
OFFICE_ID = "0b9a3c1e-2f4d-4a5b-8c6d-7e8f9a0b1c2d"


@pytest.fixture
def supervisor_db(db: sqlite_utils.Database, fatoumata: Returnee) -> sqlite_utils.Database:
    """A supervisor device: enrolled as one, one referral made here, one office device known."""
    save_enrolment(db, hub_url="http://hub", hub_id="h", device_id="sup-1", token="t", role="supervisor",
                   region=None, now=NOW)  # fmt: skip
    refer(db, returnee_id=fatoumata.id, service_id=SERVICE, consent_share=True, now=NOW)
    put_device(
        db,
        DeviceInfo(id=OFFICE_ID, role="office", region="kayes", name="Kayes office", created_at=NOW,
                   last_sync_at=NOW - dt.timedelta(hours=2), pending=3, quarantined=0, app_version="0.8.0"),
    )  # fmt: skip
    return db


def test_the_supervisor_home_is_the_overview_with_charts_and_the_menu(
    supervisor_db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    router = Router(supervisor_db, clock, recorder.nav)
    home = router.views_for("/")[-1]
    assert home.route == routes.OVERVIEW and isinstance(router.model(routes.OVERVIEW), OverviewViewModel)
    shown = texts(home)
    assert "Referrals per region" in shown and "Funnel: referred, accepted, enrolled, completed" in shown
    assert "Insertion rate (2022 report)" in shown and "Placement (measured)" in shown
    assert isinstance(home.navigation_bar, ft.NavigationBar)  # phone width: the bottom bar
    assert [d.label for d in home.navigation_bar.destinations] == [
        "Overview", "Referrals", "Devices", "Exports", "Logs"]  # fmt: skip
    wide = Router(supervisor_db, clock, recorder.nav, wide=True).views_for("/")[-1]
    rails = [c for c in ft_walk(wide) if isinstance(c, ft.NavigationRail)]
    assert rails and len(rails[0].destinations) == 6 and rails[0].selected_index == 0
    # agent screens are not part of a supervisor's workspace
    refused = router.views_for(routes.NEW_RETURNEE)[-1]
    assert "This page cannot be shown." in texts(refused)


def ft_walk(root: object) -> list[ft.BaseControl]:
    from tests.ui.helpers import walk

    return list(walk(root))


def test_devices_list_and_revoke_after_confirmation(
    supervisor_db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    router = Router(supervisor_db, clock, recorder.nav)
    view = router.views_for(routes.DEVICES)[-1]
    vm = router.model(routes.DEVICES)
    assert isinstance(vm, DevicesViewModel)
    shown = " ".join(texts(view))
    assert "Kayes office" in shown and "Regional office · Kayes" in shown and "version 0.8.0" in shown
    fire(button(view, "Revoke"))
    assert recorder.dialogs, "revoking asks first"
    fire(button(recorder.dialogs[-1], "Yes, revoke it"))
    assert vm.rows[0].revoked is not None and not vm.rows[0].can_revoke
    assert supervisor_db.execute("SELECT entity FROM outbox WHERE entity = 'device_revocation'").fetchall()


def test_export_writes_into_the_exports_folder_and_says_where(
    supervisor_db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder, tmp_path: Path
) -> None:
    router = Router(supervisor_db, clock, recorder.nav, data_dir=tmp_path)
    view = router.views_for(routes.EXPORTS)[-1]
    vm = router.model(routes.EXPORTS)
    assert isinstance(vm, ExportsViewModel) and vm.folder == tmp_path / "exports"
    fire(button(view, "Export"))
    assert vm.written is not None and vm.written.parent == tmp_path / "exports" and vm.written.exists()
    assert str(vm.written) in " ".join(texts(view)) and vm.message.startswith("1 row written")


def test_the_audit_and_access_logs_open(
    supervisor_db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    router = Router(supervisor_db, clock, recorder.nav)
    audit = router.views_for(routes.AUDIT)[-1]
    assert "No directory edit yet." in texts(audit)
    fire(button(audit, "Access log"))
    pytest.importorskip("field_app.casework.access", reason="casework.access (helper B1) not there yet")
    assert recorder.went[-1] == routes.ACCESS
    access = router.views_for(routes.ACCESS)[-1]
    assert [v.route for v in router.views_for(routes.ACCESS)] == [routes.AUDIT, routes.ACCESS]
    assert texts(access)
