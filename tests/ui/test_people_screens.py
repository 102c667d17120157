"""People and a person's page, built off-page: search as one types, "Show more", how many match; the person's
summary, record, referrals (tap → slip), "Refer" (→ partners nearby) and "Edit"; French agreement by sex."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import flet as ft
import pytest
import sqlite_utils

from field_app import i18n
from field_app.domain.returnees import Returnee
from field_app.referrals.service import refer
from field_app.returnees.service import register
from field_app.ui import routes
from field_app.ui.viewmodels.people import PeopleViewModel
from field_app.ui.viewmodels.person import PersonViewModel
from field_app.ui.views.people import people_view
from field_app.ui.views.person import person_view
from tests.ui.conftest import FATOUMATA, NOW
from tests.ui.helpers import NavRecorder, button, by_key, fire, texts, walk

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
SERVICE = "atelier-ecole-kayes/alphabetisation"


def crowd(db: sqlite_utils.Database, n: int) -> list[Returnee]:
    """`n` people a minute apart; the first, Fatoumata Traoré, is the oldest."""
    people = [register(db, FATOUMATA, now=NOW)]
    for k in range(1, n):
        person = {**FATOUMATA, "given_name": f"Awa{k}", "family_name": "Diarra", "phone": f"76 00 00 {k:02d}"}
        people.append(register(db, person, now=NOW + dt.timedelta(minutes=k)))
    return people


def names(view: ft.View) -> list[str]:
    return [str(c.title.value) for c in walk(view) if isinstance(c, ft.ListTile) and isinstance(c.title, ft.Text)]


def test_search_finds_the_first_registered_among_many(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    people = crowd(db, 15)
    vm = PeopleViewModel(db, clock)
    view = people_view(vm, recorder.nav)
    assert "15 people registered on this device" in texts(view)
    assert names(view)[0] == "Awa14 Diarra" and names(view)[-1] == "Fatoumata Traoré"
    fire(by_key(view, "search", ft.TextField), "change", value="traore")
    assert names(view) == ["Fatoumata Traoré"]
    assert "1 person matches “traore”" in texts(view)
    fire(by_key(view, people[0].id))
    assert recorder.went == [routes.person(people[0].id)]
    fire(by_key(view, "search", ft.TextField), "change", value="0007")
    assert names(view) == ["Awa7 Diarra"]
    fire(by_key(view, "search", ft.TextField), "change", value="nobody")
    assert names(view) == [] and "Nobody matches “nobody”." in texts(view)


def test_show_more_pages_through_everyone(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    crowd(db, 12)
    vm = PeopleViewModel(db, clock, page_size=5)
    view = people_view(vm, recorder.nav)
    assert len(names(view)) == 5 and "Showing 5 of 12" in texts(view)
    more = button(view, "Show more")
    fire(more)
    assert len(names(view)) == 10 and more.visible
    fire(more)
    assert len(names(view)) == 12 and not more.visible and names(view)[-1] == "Fatoumata Traoré"
    assert len(set(names(view))) == 12
    vm.refresh()  # back from a person's page: the same rows, read again
    assert len(vm.rows) == 12


def test_the_search_survives_a_visit_and_sees_changes(db: sqlite_utils.Database, clock: Clock) -> None:
    crowd(db, 3)
    vm = PeopleViewModel(db, clock)
    vm.search("diarra")
    register(db, {**FATOUMATA, "given_name": "Mariam", "family_name": "Diarra"}, now=NOW + dt.timedelta(hours=1))
    vm.refresh()
    assert vm.text == "diarra" and vm.rows[0].name == "Mariam Diarra" and vm.total == 3


def test_an_empty_device(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    view = people_view(PeopleViewModel(db, clock), recorder.nav)
    assert "0 people registered on this device" in texts(view)
    assert any("Nobody is registered on this device yet" in t for t in texts(view))


def test_a_persons_page(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    person = register(db, {**FATOUMATA, "phone": "76 12 34 56"}, now=NOW)
    referral = refer(db, returnee_id=person.id, service_id=SERVICE, consent_share=True, now=NOW)
    vm = PersonViewModel(db, clock, person.id)
    view = person_view(vm, recorder.nav)
    shown = texts(view)
    assert "Fatoumata Traoré" in shown and vm.summary.startswith("Woman · 22 years · Kayes · registered ")
    assert "1 referral" in shown
    assert any("Alphabétisation" in t for t in shown) and f"Slip code {referral.id[:8].upper()}" in shown
    labels = [c.label for c in walk(view) if isinstance(c, ft.Semantics) and c.label]
    assert "Phone: +22376123456" in labels and "Place of return: Kayes" in labels and "Sex: Woman" in labels
    fire(button(view, "Refer Fatoumata Traoré"))
    fire(button(view, "Edit"))
    fire(by_key(view, referral.id))
    assert recorder.went == [routes.returnee(person.id), routes.edit_returnee(person.id), routes.referral(referral.id)]
    assert view.route == routes.person(person.id)


def test_a_person_without_referrals(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    person = register(db, FATOUMATA, now=NOW)
    view = person_view(PersonViewModel(db, clock, person.id), recorder.nav)
    assert "Referrals" in texts(view) and any(t.startswith("No referral yet") for t in texts(view))


def test_registered_agrees_with_the_person_in_french(db: sqlite_utils.Database, clock: Clock) -> None:
    woman = register(db, FATOUMATA, now=NOW)
    man = register(db, {**FATOUMATA, "given_name": "Moussa", "sex": "M"}, now=NOW)
    i18n.set_language("fr")
    try:
        assert "enregistrée le" in PersonViewModel(db, clock, woman.id).summary
        summary = PersonViewModel(db, clock, man.id).summary
        assert "enregistré le" in summary and "enregistrée" not in summary
    finally:
        i18n.set_language("en")
