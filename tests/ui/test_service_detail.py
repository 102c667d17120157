"""A partner's page: offer, this person's conditions in words, costs in FCFA, offices, contacts, Refer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlite_utils

from field_app.domain.eligibility import Status
from field_app.domain.returnees import Returnee
from field_app.i18n import format_fcfa
from field_app.ui import routes
from field_app.ui.viewmodels.service_detail import ServiceDetailViewModel
from field_app.ui.views.service_detail import service_detail_view
from tests.ui.helpers import BUTTONS, NavRecorder, button, fire, texts, walk

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
SENOU = "cfp-senou/menuiserie-bois"


def test_conditions_costs_and_offices_in_words(db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee) -> None:
    vm = ServiceDetailViewModel(db, clock, SENOU, fatoumata.id)
    assert vm.title and "Sénou" in vm.organization
    verdict = vm.verdict()
    assert verdict is not None
    status, words, reasons = verdict
    assert status is Status.ELIGIBLE_IF and words == "Eligible if…"
    assert "Bring: birth certificate." in reasons
    assert vm.documents[0].startswith("Documents required: birth certificate, ")
    assert any(c.endswith(format_fcfa(25000)) for c in vm.costs)
    assert any(f"{format_fcfa(55000)} to {format_fcfa(350000)} for the whole training" in c for c in vm.costs)
    assert vm.offices and vm.offices[0].title
    assert vm.verified.startswith("Last verified: ") and vm.source.startswith("Source: fiche ")
    assert vm.can_refer


def test_offices_in_the_returnees_region_come_first(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee
) -> None:
    vm = ServiceDetailViewModel(db, clock, "api-mali/guichet-unique-creation-entreprise", fatoumata.id)
    assert vm.offices[0].title == "Kayes" and len(vm.offices) > 1


def test_view_links_every_contact_and_refers(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    vm = ServiceDetailViewModel(db, clock, "api-mali/guichet-unique-creation-entreprise", fatoumata.id)
    view = service_detail_view(vm, recorder.nav)
    contact = next(c for c in vm.contacts if c.e164 and c.email)
    urls = {b.url for b in walk(view) if isinstance(b, BUTTONS) and b.url}
    assert {contact.tel, contact.sms, contact.whatsapp, contact.mailto} <= urls
    assert "Eligible" in texts(view)
    fire(button(view, "Refer Fatoumata Traoré"))
    assert recorder.went == [routes.refer(fatoumata.id, vm.service_id)]


def test_without_a_returnee_there_is_no_verdict_and_no_refer(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    vm = ServiceDetailViewModel(db, clock, SENOU)
    assert vm.verdict() is None and not vm.can_refer
    view = service_detail_view(vm, recorder.nav)
    assert view.route == routes.service(SENOU)
    assert not [t for t in texts(view) if t.startswith("Refer ")]
