"""The returnee page: partners near their place with the verdict in words, filters, and the phone's position."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import flet as ft
import pytest
import sqlite_utils

from field_app.domain.eligibility import Status
from field_app.domain.returnees import Returnee
from field_app.returnees.service import register
from field_app.ui import routes
from field_app.ui.viewmodels.nearby import HERE, LocationProblem, NearbyViewModel
from field_app.ui.views.nearby import nearby_view
from tests.ui.conftest import FATOUMATA, NOW
from tests.ui.helpers import NavRecorder, button, by_key, fire, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
BAMAKO_CENTRE = (12.6392, -8.0029)


def test_defaults_to_their_place_and_puts_the_best_first(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee
) -> None:
    vm = NearbyViewModel(db, clock, fatoumata.id)
    assert (vm.name, vm.summary, vm.place_id) == ("Fatoumata Traoré", "22 years · Kayes", "kayes")
    assert vm.rows and vm.rows[0].verdict is Status.ELIGIBLE
    assert [r.verdict for r in vm.rows] == sorted(r.verdict for r in vm.rows)
    first = vm.rows[0]
    assert first.verdict_text == "Eligible" and first.where.startswith("0 km")
    assert first.fee in ("Free", "Cost not stated") or first.fee.startswith("From ")


def test_without_a_place_of_return_the_region_capital_is_used(db: sqlite_utils.Database, clock: Clock) -> None:
    person = register(db, {**FATOUMATA, "locality": None, "region": "mopti"}, now=NOW)
    assert NearbyViewModel(db, clock, person.id).place_id == "mopti"


def test_reasons_are_sentences_and_filters_narrow(db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee) -> None:
    vm = NearbyViewModel(db, clock, fatoumata.id)
    vm.set_filters(text="mecanique auto")
    ifpi = next(r for r in vm.rows if r.service_id == "ifpi-kayes/mecanique-auto")
    assert ifpi.verdict is Status.ELIGIBLE_IF and ifpi.verdict_text == "Eligible if…"
    assert ifpi.reasons and all(r.endswith(".") for r in ifpi.reasons)
    vm.set_filters(text="", pathway="social")
    assert vm.rows and {r.service_id.split("/")[0] for r in vm.rows} >= {"enda-mali"}
    minors = next(r for r in vm.rows if r.service_id == "enda-mali/protection-mineurs")
    assert minors.verdict is Status.NOT_ELIGIBLE and minors.reasons == ["Too old: up to 17 years."]
    vm.set_filters(eligible_only=True)
    assert all(r.verdict is not Status.NOT_ELIGIBLE for r in vm.rows)
    vm.set_filters(free_only=True, pathway="-")
    assert vm.rows and all(r.fee == "Free" for r in vm.rows)


def test_position_is_used_or_the_reason_is_given(db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee) -> None:
    vm = NearbyViewModel(db, clock, fatoumata.id)
    vm.position_failed(LocationProblem.DENIED)
    assert vm.place_key == "kayes" and "refused" in vm.location_message
    vm.use_position(*BAMAKO_CENTRE)
    assert vm.place_key == HERE and vm.places()[0].text == "My position"
    assert "Bamako" in vm.rows[0].where
    vm.set_place("kita")
    assert vm.place_key == "kita" and vm.position is None


def test_view_filters_opens_a_partner_and_locates(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    async def refused() -> tuple[float, float] | LocationProblem:
        return LocationProblem.DENIED

    view = nearby_view(NearbyViewModel(db, clock, fatoumata.id), recorder.nav, refused)
    results = by_key(view, "results", ft.Column)
    before = len(results.controls)
    fire(by_key(view, "text", ft.TextField), "change", value="alphabetisation")
    assert 0 < len(results.controls) < before
    first = results.controls[0]
    fire(first)
    assert recorder.went == [routes.service(str(first.key), fatoumata.id)]
    fire(button(view, "Use my position"))
    assert any("refused" in t for t in texts(view))
    fire(by_key(view, "near", ft.Dropdown), "select", value="bamako")
    assert by_key(view, "near", ft.Dropdown).value == "bamako"
    fire(button(view, "Edit"))
    fire(button(view, "Their referrals"))
    assert recorder.went[-2:] == [routes.edit_returnee(fatoumata.id), routes.referrals(fatoumata.id)]


def test_view_uses_the_position_it_is_given(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    async def in_bamako() -> tuple[float, float] | LocationProblem:
        return BAMAKO_CENTRE

    view = nearby_view(NearbyViewModel(db, clock, fatoumata.id), recorder.nav, in_bamako)
    fire(button(view, "Use my position"))
    near = by_key(view, "near", ft.Dropdown)
    assert near.value == HERE and near.options[0].text == "My position"
