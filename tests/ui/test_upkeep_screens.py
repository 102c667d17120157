"""Directory upkeep off-page, as the Kayes office: its region's partners only; a corrected phone is applied here
and queued for the hub; a bad phone is refused on its field with nothing written; "verified today"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import SimpleNamespace

import flet as ft
import pytest
import sqlite_utils

from field_app.storage.sync_state import save_enrolment
from field_app.ui import routes
from field_app.ui.router import Router
from field_app.ui.viewmodels.upkeep import UpkeepListViewModel, UpkeepViewModel
from field_app.ui.views.upkeep import upkeep_screen
from tests.ui.conftest import NOW
from tests.ui.helpers import NavRecorder, button, by_key, fire, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
ORG = "atelier-ecole-kayes"


@pytest.fixture
def office_db(db: sqlite_utils.Database) -> sqlite_utils.Database:
    save_enrolment(db, hub_url="http://hub", hub_id="h", device_id="office-1", token="t", role="office",
                   region="kayes", now=NOW)  # fmt: skip
    return db


def edits(db: sqlite_utils.Database) -> int:
    return int(db.execute("SELECT count(*) FROM outbox WHERE entity = 'directory_edit'").fetchone()[0])


def test_the_office_menu_and_its_regions_partners(office_db: sqlite_utils.Database, clock: Clock) -> None:
    pytest.importorskip("field_app.casework.office", reason="casework.office (helper B1): the inbox is under it")
    recorder = NavRecorder()
    router = Router(office_db, clock, recorder.nav)
    view = router.views_for(routes.UPKEEP)[-1]
    vm = router.model(routes.UPKEEP)
    assert isinstance(vm, UpkeepListViewModel) and vm.rows
    assert ORG in [oid for oid, _name in vm.rows]
    assert isinstance(view.navigation_bar, ft.NavigationBar)
    assert [d.label for d in view.navigation_bar.destinations] == ["Referrals", "Walk-ins", "Directory"]
    assert view.navigation_bar.selected_index == 2
    fire(by_key(view, ORG, ft.ListTile))
    assert recorder.went[-1] == routes.upkeep(ORG)


def test_a_corrected_phone_is_queued_and_a_bad_one_is_refused_on_its_field(
    office_db: sqlite_utils.Database, clock: Clock
) -> None:
    recorder = NavRecorder()
    vm = UpkeepViewModel(office_db, clock, ORG)
    view = upkeep_screen(SimpleNamespace(nav=recorder.nav), vm)  # type: ignore[arg-type]
    fire(by_key(view, "phones", ft.TextField), "change", value="not a phone")
    fire(button(view, "Save"))
    assert "phones" in vm.errors and edits(office_db) == 0
    assert vm.errors["phones"] in texts(view) or by_key(view, "phones", ft.TextField).error == vm.errors["phones"]
    fire(by_key(view, "phones", ft.TextField), "change", value="76 12 34 56")
    fire(button(view, "Save"))
    assert not vm.errors and edits(office_db) == 1
    assert "76 12 34 56" in vm.values["phones"]
    fire(button(view, "Verified today"))
    assert edits(office_db) == 2 and vm.org.assured_date == NOW.date()
