"""The office's screens off-page on a real database (a Kayes office device with a walk-in it referred itself):
the inbox with counts and "n of total", the detail with the person (consent given), the move dialog refusing a
decline without its reason on the reason field, then accepting; the history shows it; desktop list/detail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import flet as ft
import pytest
import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.referrals.service import refer
from field_app.storage.sync_state import save_enrolment
from field_app.ui import routes
from field_app.ui.router import Router
from field_app.ui.viewmodels.office import CaseViewModel, InboxViewModel
from tests.ui.conftest import NOW
from tests.ui.helpers import NavRecorder, button, by_key, fire, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
SERVICE = "atelier-ecole-kayes/maraichage"


@pytest.fixture
def office(db: sqlite_utils.Database, fatoumata: Returnee) -> tuple[sqlite_utils.Database, str]:
    save_enrolment(db, hub_url="http://hub", hub_id="h", device_id="office-1", token="t", role="office",
                   region="kayes", now=NOW)  # fmt: skip
    referral = refer(db, returnee_id=fatoumata.id, service_id=SERVICE, consent_share=True, now=NOW)
    return db, referral.id


def test_inbox_counts_pages_and_opens_the_detail_on_a_phone(
    office: tuple[sqlite_utils.Database, str], clock: Clock
) -> None:
    db, rid = office
    recorder = NavRecorder()
    router = Router(db, clock, recorder.nav)
    home = router.views_for("/")[-1]
    vm = router.model(routes.INBOX)
    assert home.route == routes.INBOX and isinstance(vm, InboxViewModel)
    shown = texts(home)
    assert "Referrals of Kayes" in shown and "1 of 1 referral" in shown
    assert "All (1)" in shown and "Fatoumata Traoré" in shown
    fire(by_key(home, rid, ft.ListTile))
    assert recorder.went[-1] == routes.case(rid)


def test_detail_move_dialog_errors_on_the_field_then_accept(
    office: tuple[sqlite_utils.Database, str], clock: Clock
) -> None:
    db, rid = office
    recorder = NavRecorder()
    router = Router(db, clock, recorder.nav)
    view = router.views_for(routes.case(rid))[-1]
    vm = router.model(routes.case(rid))
    assert isinstance(vm, CaseViewModel)
    shown = " ".join(texts(view))
    assert "Fatoumata Traoré" in shown and "Phone:" in shown and "Atelier École de Kayes" in shown
    assert "Referral written" in shown  # the history
    moves = [o.key for o in vm.move_options()]
    assert "declined" in moves
    fire(button(view, "Decline"))
    dialog = recorder.dialogs[-1]
    fire(button(dialog, "Save"))  # no reason given
    assert "reason" in vm.form.errors and recorder.dialogs  # the dialog stays, the problem is on its field
    before = db.execute("SELECT count(*) FROM outbox WHERE entity = 'referral_event'").fetchone()[0]
    assert before == 0
    recorder.nav.close_dialog()
    view = router.views_for(routes.case(rid))[-1]
    fire(button(view, "Accept"))
    fire(button(recorder.dialogs[-1], "Save"))
    assert not recorder.dialogs and vm.item.status == "accepted"
    assert db.execute("SELECT count(*) FROM outbox WHERE entity = 'referral_event'").fetchone()[0] == 1
    body = by_key(view, "case", ft.Column)
    assert "Accepted by the partner" in texts(body) and "Accepted" in texts(body)


def test_desktop_shows_the_detail_beside_the_list(office: tuple[sqlite_utils.Database, str], clock: Clock) -> None:
    db, rid = office
    recorder = NavRecorder()
    router = Router(db, clock, recorder.nav, wide=True)
    view = router.views_for("/")[-1]
    assert isinstance(view.navigation_bar, type(None))
    fire(by_key(view, rid, ft.ListTile))
    assert not recorder.went  # selected beside the list, not a new screen
    detail = by_key(view, "detail", ft.Column)
    assert "Fatoumata Traoré" in texts(detail) and "History" in texts(detail)
    fire(button(detail, "Accept"))
    fire(button(recorder.dialogs[-1], "Save"))
    rows = by_key(view, "rows", ft.Column)
    assert "Accepted" in texts(rows)  # the list beside it shows the new status too


def test_a_conflicting_event_is_flagged_in_the_history(office: tuple[sqlite_utils.Database, str], clock: Clock) -> None:
    """The office accepted; the agent's cancellation arrives afterwards: it is kept, flagged, shown as a conflict."""
    import uuid

    from field_app.domain.referrals import EventKind, ReferralEvent
    from field_app.storage.referrals import merge_event

    db, rid = office
    recorder = NavRecorder()
    router = Router(db, clock, recorder.nav)
    router.views_for(routes.case(rid))
    vm = router.model(routes.case(rid))
    assert isinstance(vm, CaseViewModel)
    vm.start_move("accepted")
    assert vm.submit_move()
    late = ReferralEvent(id=str(uuid.uuid4()), referral_id=rid, kind=EventKind.REVOKED, at=NOW + dt.timedelta(hours=1))
    merge_event(db, late)
    view = router.views_for(routes.case(rid))[-1]
    shown = texts(view)
    assert "Conflict" in shown
    assert "Conflict: the referral's status did not allow this step when it arrived." in shown
