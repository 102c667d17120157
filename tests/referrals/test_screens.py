"""The referral screens: the second-referral warning and its confirmation; "My referrals" 50 at a time with More,
a cancel redrawn in place; a referral's page with its status, the one-SMS slip and the full slip as labelled text.
Off-page (views built, handlers fired) and on a real in-memory Flet session (tests/ui/session.py), where the page
is checked to hold nothing the phone has not been sent after a cancel."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import flet as ft
import pytest
import sqlite_utils

from field_app import i18n
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.referrals import ReferralStatus
from field_app.referrals.service import refer
from field_app.returnees.service import register
from field_app.storage.database import open_db
from field_app.storage.referrals import get_referral
from field_app.ui import routes
from field_app.ui.app import make_main
from field_app.ui.viewmodels.referral import ReferralViewModel, SlipViewModel
from field_app.ui.viewmodels.referrals import ReferralsViewModel
from field_app.ui.views.referral import referral_view, slip_view
from field_app.ui.views.referrals import referrals_view
from tests.ui.helpers import NavRecorder, button, by_key, fire, texts, walk
from tests.ui.session import AppSession

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
SERVICE = "atelier-ecole-kayes/maraichage"
FORM = {"given_name": "Fatoumata", "family_name": "Traoré", "sex": "F", "age": 22, "region": "kayes", "consent": True}


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FIELD_APP_LANG", "en")  # the app's `main` reads it
    before = i18n.language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


@pytest.fixture
def db(tmp_path: Path, dataset: Dataset) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "field_app.db")
    build_directory(database, dataset=dataset)
    yield database
    database.close()


@pytest.fixture
def clock() -> Callable[[], dt.datetime]:
    return lambda: NOW


def person(db: sqlite_utils.Database, **extra: object) -> str:
    return register(db, {**FORM, **extra}, now=NOW).id


def queue(db: sqlite_utils.Database, who: str, service: str = SERVICE, at: dt.datetime = NOW) -> str:
    return refer(db, returnee_id=who, service_id=service, consent_share=True, now=at, force=True).id


def labels(root: object) -> list[str]:
    return [str(c.label) for c in walk(root) if isinstance(c, ft.Semantics) and c.label]


# --- the second referral --------------------------------------------------------------------------------------


def test_a_second_referral_is_warned_and_needs_the_box_ticked(
    db: sqlite_utils.Database, clock: Callable[[], dt.datetime]
) -> None:
    who = person(db)
    fresh = ReferralViewModel(db, clock, who, SERVICE)
    assert fresh.prior is None and fresh.warning == ""
    view = referral_view(fresh, NavRecorder().nav)
    with pytest.raises(AssertionError):
        by_key(view, "already")  # no warning for a first referral
    first = queue(db, who)

    recorder = NavRecorder()
    vm = ReferralViewModel(db, clock, who, SERVICE)
    view = referral_view(vm, recorder.nav)
    shown = by_key(view, "already", ft.Text)
    assert (
        shown.value == "Fatoumata Traoré was already referred to this service on December 2, 2026 (Waiting to be sent)."
    )
    fire(by_key(view, "consent", ft.Checkbox), "change", value=True)
    fire(button(view, "Queue the referral"))
    assert vm.slip is None and "Tick “Refer again anyway”" in " ".join(texts(view))
    assert [get_referral(db, first).status] == [ReferralStatus.QUEUED]
    fire(button(view, "Open that referral"))
    assert recorder.went == [routes.referral(first)]
    fire(by_key(view, "again", ft.Checkbox), "change", value=True)
    fire(button(view, "Queue the referral"))
    assert vm.slip is not None and vm.slip.referral_id != first
    assert "The referral is queued on this phone: it will be sent at the next sync." in texts(view)


def test_the_warning_goes_when_the_first_is_cancelled(
    db: sqlite_utils.Database, clock: Callable[[], dt.datetime]
) -> None:
    who = person(db)
    first = queue(db, who)
    vm = ReferralViewModel(db, clock, who, SERVICE)
    assert vm.prior is not None and vm.prior.id == first
    ReferralsViewModel(db, clock).cancel(first)
    vm.refresh()  # the router refreshes the screen when it comes back on top
    assert vm.prior is None and vm.warning == ""
    vm.set_consent(True)
    assert vm.submit() is True


# --- My referrals, 50 at a time ------------------------------------------------------------------------------------


def test_my_referrals_pages_with_more(db: sqlite_utils.Database, clock: Callable[[], dt.datetime]) -> None:
    who = person(db)
    made = [queue(db, who, at=NOW + dt.timedelta(minutes=n)) for n in range(120)]
    vm = ReferralsViewModel(db, clock)
    assert [r.referral_id for r in vm.rows] == made[::-1][:50]
    assert vm.has_more and vm.count_text == "50 of 120 referrals"
    view = referrals_view(vm, NavRecorder().nav)
    assert len([c for c in walk(view) if isinstance(c, ft.ListTile)]) == 50
    fire(button(view, "More (50 of 120 shown)"))
    assert len(vm.rows) == 100 and len([c for c in walk(view) if isinstance(c, ft.ListTile)]) == 100
    fire(button(view, "More (100 of 120 shown)"))
    assert [r.referral_id for r in vm.rows] == made[::-1] and not vm.has_more
    assert vm.count_text == "120 referrals"
    with pytest.raises(AssertionError):
        button(view, "More (120 of 120 shown)")
    vm.refresh()  # back on top: as many lines as were shown
    assert len(vm.rows) == 120


def test_one_persons_referrals_and_someone_not_on_this_phone(
    db: sqlite_utils.Database, clock: Callable[[], dt.datetime]
) -> None:
    who, other = person(db), person(db, given_name="Awa")
    queue(db, who)
    queue(db, other)
    vm = ReferralsViewModel(db, clock, who)
    assert [r.person for r in vm.rows] == ["Fatoumata Traoré"] and vm.count_text == "1 referral"
    db.execute("DELETE FROM returnees WHERE id = ?", [other])  # as a referral made on another phone looks here
    assert "Someone not registered on this phone" in [r.person for r in ReferralsViewModel(db, clock).rows]


def test_cancel_redraws_its_line_in_place(db: sqlite_utils.Database, clock: Callable[[], dt.datetime]) -> None:
    who = person(db)
    older, newer = queue(db, who), queue(db, who, at=NOW + dt.timedelta(minutes=1))
    recorder = NavRecorder()
    sent: list[int] = []
    recorder.nav.update = lambda: sent.append(1)
    vm = ReferralsViewModel(db, clock)
    view = referrals_view(vm, recorder.nav)
    line = by_key(view, f"line-{older}")
    fire(button(line, "Cancel referral"))
    fire(button(recorder.dialogs[0], "Yes, cancel it"))
    assert get_referral(db, older).status is ReferralStatus.REVOKED
    assert recorder.dialogs == [] and sent == [1]  # the page's changes sent after the dialog closed
    assert [r.status for r in vm.rows] == ["Waiting to be sent", "Cancelled"]
    assert [r.referral_id for r in vm.rows] == [newer, older]  # nothing moved
    assert "Cancelled" in texts(by_key(view, f"line-{older}")) and "Referral cancelled." in texts(view)
    with pytest.raises(AssertionError):
        button(by_key(view, f"line-{older}"), "Cancel referral")
    button(by_key(view, f"line-{newer}"), "Cancel referral")  # the other one still can be


# --- a referral's page ---------------------------------------------------------------------------------------------


def test_the_referral_page_shows_its_status_the_sms_and_the_full_slip(
    db: sqlite_utils.Database, clock: Callable[[], dt.datetime]
) -> None:
    rid = queue(db, person(db, languages=["en"], phone="76 12 34 56"))
    recorder = NavRecorder()
    vm = SlipViewModel(db, rid, clock)
    view = slip_view(vm, recorder.nav)
    read = labels(view)
    assert "Status: Waiting to be sent" in read and "Returnee: Fatoumata Traoré" in read
    sms = next(x for x in read if x.startswith("SMS in English: "))
    assert sms == f"SMS in English: {vm.sms.text}" and vm.sms.size.fits_one
    assert any(x.startswith("Full slip: Passerelle referral ") for x in read)
    assert not [c for c in walk(view) if isinstance(c, ft.TextField)]  # labelled text, never a disabled field
    assert by_key(view, "sms", ft.Text).value == vm.sms.text
    assert str(by_key(view, "slip", ft.Text).value).startswith("Passerelle referral ")
    assert f"1 SMS · {vm.sms.size.units} characters" in texts(view)
    assert button(view, "Send by SMS").url.startswith("sms:+22376123456?body=")
    fire(button(view, "Cancel referral"))
    fire(button(recorder.dialogs[0], "Yes, cancel it"))
    assert "Status: Cancelled" in labels(view) and "Referral cancelled." in texts(view)
    assert "This referral is cancelled: do not send its slip." in texts(view)
    with pytest.raises(AssertionError):
        button(view, "Send by SMS")  # nothing to send for a cancelled referral
    with pytest.raises(AssertionError):
        button(view, "Cancel referral")
    without_clock = slip_view(SlipViewModel(db, queue(db, person(db, given_name="Awa"))), NavRecorder().nav)
    with pytest.raises(AssertionError):
        button(without_clock, "Cancel referral")  # no clock, no cancel (nothing to date the event with)


# --- on a real Flet session -----------------------------------------------------------------------------------------


def test_cancel_on_a_flet_session_sends_the_new_status(
    db: sqlite_utils.Database, clock: Callable[[], dt.datetime], tmp_path: Path
) -> None:
    """The bug of issue 9: the database had the cancel, the phone still showed "Waiting to be sent" until a reload.
    Here the app's own `main` runs on a session; after the dialog's "Yes", nothing is left unsent and the line the
    client holds says "Cancelled"."""
    rid = queue(db, person(db))

    async def scenario() -> None:
        app = await AppSession(make_main(tmp_path, clock), route=routes.REFERRALS).start()
        try:
            assert "Waiting to be sent" in app.texts() and not app.unsent()
            await app.click(app.button("Cancel referral"))
            await app.settle()
            dialog_yes = next(
                c
                for c in app.controls()
                if isinstance(c, ft.FilledButton) and c.content == "Yes, cancel it" and c.page is not None
            )
            await app.session.dispatch_event(dialog_yes._i, "click", None)
            await app.settle()
            assert get_referral(db, rid).status is ReferralStatus.REVOKED
            assert "Cancelled" in app.texts() and "Referral cancelled." in app.texts()
            assert "Waiting to be sent" not in app.texts()
            assert not app.unsent(), "the phone was not sent the new status"
        finally:
            app.close()

    asyncio.run(scenario())
