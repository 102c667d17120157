"""The returnee page: one card per partner with its services and the verdict in words, ranked for the person's
interests, "more" for the next partners, filters, and the phone's position."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import flet as ft
import pytest
import sqlite_utils

from field_app import i18n
from field_app.directory.nearby import nearby_partners
from field_app.directory.search import resolve_place
from field_app.domain.eligibility import Status
from field_app.domain.returnees import Returnee
from field_app.domain.vocabulary import Sector
from field_app.labels import partners_and_services
from field_app.returnees.service import register
from field_app.ui import routes
from field_app.ui.viewmodels.nearby import FIRST_SERVICES, HERE, LocationProblem, NearbyViewModel
from field_app.ui.views.nearby import nearby_view
from tests.ui.conftest import FATOUMATA, NOW
from tests.ui.helpers import NavRecorder, button, by_key, fire, texts, walk

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
BAMAKO_CENTRE = (12.6392, -8.0029)
MECHANIC = {**FATOUMATA, "given_name": "Bakary", "family_name": "Keïta", "sex": "M", "age": 25, "documents": [],
            "sectors": ["mechanics"]}  # fmt: skip


def test_defaults_to_their_place_and_puts_the_best_partner_first(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee
) -> None:
    vm = NearbyViewModel(db, clock, fatoumata.id, page=5)
    assert (vm.name, vm.summary, vm.place_id) == ("Fatoumata Traoré", "22 years · Kayes", "kayes")
    assert len(vm.cards) == 5 and [c.rank for c in vm.cards] == [1, 2, 3, 4, 5]
    first = vm.cards[0]
    assert first.services[0].verdict is Status.ELIGIBLE and first.where.startswith("0 km")
    assert first.why == "Why here: Eligible"  # no interests to match, and its distance is the card's own
    assert vm.interests_summary == ""  # she gave no sectors of interest: the ranking says nothing of them
    for card in vm.cards:  # a card's services best first
        assert [s.verdict for s in card.services] == sorted(s.verdict for s in card.services)
        assert card.count == (f"{len(card.services)} service" + ("s" if len(card.services) != 1 else ""))
    line = first.services[0]
    assert line.fee in ("Free", "Cost not stated") or line.fee.startswith("From ")
    assert vm.total_partners > 5 and vm.total_services > vm.total_partners and vm.more
    assert vm.status == partners_and_services(vm.total_partners, vm.total_services)
    assert vm.status == f"{vm.total_partners} partners, {vm.total_services} services"


def test_a_man_interested_in_mechanics_sees_the_mechanics_partners_first(
    db: sqlite_utils.Database, clock: Clock
) -> None:
    person = register(db, MECHANIC, now=NOW)
    vm = NearbyViewModel(db, clock, person.id)
    assert [c.organization_id for c in vm.cards[:2]] == ["atelier-ecole-kayes", "ifpi-kayes"]
    assert vm.interests_summary == "Interests: Mechanics"
    atelier, ifpi = vm.cards[:2]
    assert atelier.why == "Why here: Eligible · Mechanics, a sector of interest"
    # IFPI's best verdict comes from a course for everyone, its match from "Mécanique auto" (a diploma to bring)
    assert "Mechanics, a sector of interest" in ifpi.why and "eligible if…" in ifpi.why
    auto = next(s for s in ifpi.services if s.service_id == "ifpi-kayes/mecanique-auto")
    assert auto.matched == "Mechanics" and auto.verdict is Status.ELIGIBLE_IF
    first_lines = vm.visible_services(ifpi)  # its best service, then the mechanics courses before the others
    assert first_lines[0].verdict is Status.ELIGIBLE and all(s.matched == "Mechanics" for s in first_lines[1:])
    assert all(s.matched is None for s in ifpi.services if "Hôtellerie" in s.title)
    without = NearbyViewModel(db, clock, register(db, {**MECHANIC, "given_name": "Oumar", "sectors": []}, now=NOW).id)
    assert [c.organization_id for c in without.cards[:2]] != ["atelier-ecole-kayes", "ifpi-kayes"]


def test_more_loads_the_next_partners_until_all_are_shown(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee
) -> None:
    vm = NearbyViewModel(db, clock, fatoumata.id, page=4)
    seen = [c.organization_id for c in vm.cards]
    while vm.more:
        before = len(vm.cards)
        vm.load_more()
        assert len(vm.cards) == min(before + 4, vm.total_partners)
        assert [c.organization_id for c in vm.cards[:before]] == seen  # the first ones stay, in place
        seen = [c.organization_id for c in vm.cards]
    assert [c.rank for c in vm.cards] == list(range(1, vm.total_partners + 1))
    kayes = resolve_place(db, "kayes")
    whole = nearby_partners(
        db, fatoumata.profile(NOW.date()), (kayes.latitude, kayes.longitude), today=NOW.date(), limit=None
    )
    assert seen == [p.organization_id for p in whole.partners]
    assert sum(len(c.services) for c in vm.cards) == vm.total_services == whole.total_services
    vm.load_more()  # nothing more: nothing changes
    assert [c.organization_id for c in vm.cards] == seen


def test_reasons_are_sentences_and_filters_narrow(db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee) -> None:
    vm = NearbyViewModel(db, clock, fatoumata.id)
    vm.set_filters(text="mecanique auto")
    lines = {s.service_id: s for c in vm.cards for s in c.services}
    ifpi = lines["ifpi-kayes/mecanique-auto"]
    assert ifpi.verdict is Status.ELIGIBLE_IF and ifpi.verdict_text == "Eligible if…"
    assert ifpi.reasons and all(r.endswith(".") for r in ifpi.reasons)
    vm.set_filters(text="", pathway="social")
    lines = {s.service_id: s for c in vm.cards for s in c.services}
    assert {sid.split("/")[0] for sid in lines} >= {"enda-mali"}
    minors = lines["enda-mali/protection-mineurs"]
    assert minors.verdict is Status.NOT_ELIGIBLE and minors.reasons == ["Too old: up to 17 years."]
    vm.set_filters(eligible_only=True)
    assert all(s.verdict is not Status.NOT_ELIGIBLE for c in vm.cards for s in c.services)
    vm.set_filters(free_only=True, pathway="-")
    assert vm.cards and all(s.fee == "Free" for c in vm.cards for s in c.services)
    vm.set_filters(text="zzzqqq")
    assert vm.cards == [] and vm.status == "No partner found: widen the filters." and not vm.more


def test_position_is_used_or_the_reason_is_given(db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee) -> None:
    vm = NearbyViewModel(db, clock, fatoumata.id)
    vm.position_failed(LocationProblem.DENIED)
    assert vm.place_key == "kayes" and "refused" in vm.location_message
    vm.use_position(*BAMAKO_CENTRE)
    assert vm.place_key == HERE and vm.places()[0].text == "My position"
    assert "Bamako" in vm.cards[0].where
    vm.set_place("kita")
    assert vm.place_key == "kita" and vm.position is None


def test_the_count_line_has_plural_forms_in_french() -> None:
    i18n.set_language("fr")
    assert partners_and_services(1, 3) == "1 partenaire, 3 services"
    assert partners_and_services(2, 1) == "2 partenaires, 1 service"
    assert partners_and_services(1200, 3400) == "1\u202f200 partenaires, 3\u202f400 services"
    i18n.set_language("en")
    assert partners_and_services(1, 1) == "1 partner, 1 service"


def test_view_cards_open_a_service_show_all_and_more(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    person = register(db, {**MECHANIC, "sectors": [Sector.MECHANICS.value]}, now=NOW)
    vm = NearbyViewModel(db, clock, person.id, page=3)
    view = nearby_view(vm, recorder.nav)
    results = by_key(view, "results", ft.Column)
    assert len(results.controls) == 3 and all(isinstance(c, ft.Card) for c in results.controls)
    atelier = by_key(view, "partner:atelier-ecole-kayes", ft.Card)
    tiles = [c for c in walk(atelier) if isinstance(c, ft.ListTile)]
    assert len(tiles) == FIRST_SERVICES
    assert any(t.startswith("Why here: Eligible · Mechanics") for t in texts(atelier))
    title = tiles[0].title
    assert isinstance(title, ft.Text) and title.semantics_label == f"{title.value}, Atelier École de Kayes"
    fire(tiles[0])
    assert recorder.went == [routes.service(str(tiles[0].key), person.id)]
    hidden = len(vm.cards[0].services) - FIRST_SERVICES
    fire(button(atelier, f"Show {hidden} more services"))
    atelier = by_key(view, "partner:atelier-ecole-kayes", ft.Card)
    assert len([c for c in walk(atelier) if isinstance(c, ft.ListTile)]) == len(vm.cards[0].services)
    more = by_key(view, "more", ft.Container)
    assert more.visible and f"(3 of {vm.total_partners} shown)" in texts(more)[0]
    fire(button(more, texts(more)[0]))
    assert len(by_key(view, "results", ft.Column).controls) == 6
    assert f"(6 of {vm.total_partners} shown)" in texts(by_key(view, "more", ft.Container))[0]
    assert by_key(view, "count", ft.Text).value == f"{vm.total_partners} partners, {vm.total_services} services"


def test_view_filters_and_locates(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    async def refused() -> tuple[float, float] | LocationProblem:
        return LocationProblem.DENIED

    vm = NearbyViewModel(db, clock, fatoumata.id)
    view = nearby_view(vm, recorder.nav, refused)
    before = vm.total_services
    fire(by_key(view, "text", ft.TextField), "change", value="alphabetisation")
    assert 0 < vm.total_services < before
    assert by_key(view, "count", ft.Text).value == vm.status
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
