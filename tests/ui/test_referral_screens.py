"""Referral: consent required, queued with its outbox entry, the slip; "My referrals" with cancel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import flet as ft
import pytest
import sqlite_utils

from field_app.domain.referrals import ReferralStatus
from field_app.domain.returnees import Returnee
from field_app.storage.outbox import entries
from field_app.storage.referrals import get_referral, list_referrals
from field_app.ui import routes
from field_app.ui.viewmodels.referral import ReferralViewModel, SlipViewModel
from field_app.ui.viewmodels.referrals import ReferralsViewModel
from field_app.ui.views.referral import referral_view, slip_view
from field_app.ui.views.referrals import referrals_view
from tests.ui.helpers import NavRecorder, button, by_key, fire, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
SERVICE = "atelier-ecole-kayes/maraichage"


def test_no_consent_no_referral(db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee) -> None:
    vm = ReferralViewModel(db, clock, fatoumata.id, SERVICE)
    assert vm.question.startswith("Does Fatoumata Traoré agree to share their details with ")
    assert vm.submit() is False and vm.error and vm.slip is None
    assert list_referrals(db) == []


def test_queued_with_note_and_outbox_entry_then_slip(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee
) -> None:
    vm = ReferralViewModel(db, clock, fatoumata.id, SERVICE)
    vm.set_consent(True)
    vm.set_note("  Wants to grow vegetables  ")
    assert vm.submit() is True and vm.slip is not None
    [stored] = list_referrals(db)
    assert stored.status is ReferralStatus.QUEUED and stored.referral.note == "Wants to grow vegetables"
    assert [(e.entity, e.entity_id) for e in entries(db)][-1] == ("referral", stored.referral.id)
    assert "Fatoumata Traoré" in vm.slip.text and vm.slip.sms_link.startswith("sms:?body=")
    assert vm.submit() is True and len(list_referrals(db)) == 1  # a second tap queues nothing more


def test_view_asks_consent_then_shows_the_slip(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    view = referral_view(ReferralViewModel(db, clock, fatoumata.id, SERVICE), recorder.nav)
    fire(button(view, "Queue the referral"))
    assert "The returnee must agree to share their details with this partner." in texts(view)
    fire(by_key(view, "consent", ft.Checkbox), "change", value=True)
    fire(by_key(view, "note", ft.TextField), "change", value="Morning is best")
    fire(button(view, "Queue the referral"))
    shown = texts(view)
    assert "The referral is queued on this phone: it will be sent at the next sync." in shown
    slip = by_key(view, "slip", ft.Text)
    assert str(slip.value).startswith("Passerelle referral ")
    assert button(view, "Send by SMS").url.startswith("sms:")
    fire(button(view, "Done"))
    assert recorder.went == [routes.returnee(fatoumata.id)]


def test_slip_goes_to_the_returnees_phone_when_there_is_one(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee
) -> None:
    from field_app.returnees.service import edit, form_values

    edit(db, fatoumata.id, {**form_values(fatoumata), "phone": "76 12 34 56"}, now=clock())
    vm = ReferralViewModel(db, clock, fatoumata.id, SERVICE)
    vm.set_consent(True)
    vm.submit()
    assert vm.slip is not None and vm.slip.sms_link.startswith("sms:+22376123456?body=")


def test_my_referrals_lists_cancels_and_reopens_the_slip(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    made = ReferralViewModel(db, clock, fatoumata.id, SERVICE)
    made.set_consent(True)
    made.submit()
    assert made.slip is not None
    rid = made.slip.referral_id
    vm = ReferralsViewModel(db, clock)
    [row] = vm.rows
    assert (row.person, row.status, row.can_cancel) == ("Fatoumata Traoré", "Waiting to be sent", True)
    assert row.partner.startswith("Atelier École de Kayes: ")
    view = referrals_view(vm, recorder.nav)
    fire(by_key(view, rid))
    assert recorder.went == [routes.referral(rid)]
    fire(button(view, "Cancel referral"))
    [dialog] = recorder.dialogs
    fire(button(dialog, "Keep it"))
    assert get_referral(db, rid).status is ReferralStatus.QUEUED and recorder.dialogs == []
    fire(button(view, "Cancel referral"))
    fire(button(recorder.dialogs[0], "Yes, cancel it"))
    assert get_referral(db, rid).status is ReferralStatus.REVOKED
    assert "Cancelled" in texts(view) and "Referral cancelled." in texts(view)
    with pytest.raises(AssertionError):
        button(view, "Cancel referral")  # a cancelled referral cannot be cancelled again
    slip = slip_view(SlipViewModel(db, rid), recorder.nav)
    fire(button(slip, "Done"))
    assert recorder.backs == 1


def test_nothing_yet_says_how_to_refer(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    view = referrals_view(ReferralsViewModel(db, clock), recorder.nav)
    assert "No referral yet: open a returnee, choose a partner, then Refer." in texts(view)
