"""Home: the two big actions, recent returnees (tap → their page), and the count waiting to be sent."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.returnees.service import register
from field_app.ui import routes
from field_app.ui.viewmodels.home import HomeViewModel
from field_app.ui.views.home import home_view
from tests.ui.conftest import FATOUMATA, NOW
from tests.ui.helpers import NavRecorder, button, by_key, fire, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]


def test_empty_phone_says_nothing_is_waiting(db: sqlite_utils.Database, clock: Clock) -> None:
    vm = HomeViewModel(db, clock)
    assert vm.recent == [] and vm.pending == 0
    assert vm.pending_text == "Nothing waiting to be sent"
    assert vm.recent_title == "Nobody registered on this phone yet"


def test_registered_person_is_listed_and_counted(db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee) -> None:
    vm = HomeViewModel(db, clock)
    assert [r.name for r in vm.recent] == ["Fatoumata Traoré"]
    assert vm.recent[0].detail.startswith("Woman · 22 years · Kayes · registered ")
    assert vm.pending == 1 and vm.pending_text == "1 waiting to be sent"


def test_buttons_and_people_navigate(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    view = home_view(HomeViewModel(db, clock), recorder.nav)
    assert view.route == "/"
    assert "1 waiting to be sent" in texts(view)
    for label in ("Register a returnee", "Find a person", "Search the directory", "My referrals"):
        fire(button(view, label))
    fire(by_key(view, fatoumata.id))
    fire(button(view, "See the 1 person registered"))
    assert recorder.went == [
        "/returnee/new", "/people", "/directory", "/referrals", routes.person(fatoumata.id), "/people"
    ]  # fmt: skip


def test_only_the_last_ten_with_a_link_to_everyone(db: sqlite_utils.Database, clock: Clock) -> None:
    for k in range(12):
        register(db, {**FATOUMATA, "given_name": f"Awa{k}"}, now=NOW + dt.timedelta(minutes=k))
    vm = HomeViewModel(db, clock)
    assert [r.name for r in vm.recent] == [f"Awa{k} Traoré" for k in range(11, 1, -1)]
    assert vm.everyone == 12 and vm.everyone_text == "See all 12 people registered"
