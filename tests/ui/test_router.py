"""Routing: the stack of screens under each route, state kept while on the stack, refreshed on top."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import flet as ft
import pytest
import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.ui import routes
from field_app.ui.router import Router
from field_app.ui.viewmodels.home import HomeViewModel
from field_app.ui.viewmodels.nearby import NearbyViewModel
from field_app.ui.viewmodels.referral import ReferralViewModel
from tests.ui.helpers import NavRecorder, button, fire, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]
SERVICE = "atelier-ecole-kayes/maraichage"


def test_each_route_builds_its_stack(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    router = Router(db, clock, recorder.nav)
    refer = routes.refer(fatoumata.id, SERVICE)
    views = router.views_for(refer)
    assert [v.route for v in views] == routes.stack(routes.parse(refer))
    assert all(isinstance(v.appbar, ft.AppBar) for v in views)
    for route in ("/", "/directory", "/returnee/new", "/referrals", routes.edit_returnee(fatoumata.id)):
        assert router.views_for(route)[-1].route == route


def test_state_survives_a_visit_and_counts_refresh_on_return(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    router = Router(db, clock, recorder.nav)
    page = routes.returnee(fatoumata.id)
    router.views_for(page)
    nearby = router.model(page)
    assert isinstance(nearby, NearbyViewModel)
    nearby.set_filters(free_only=True)
    refer = routes.refer(fatoumata.id, SERVICE)
    router.views_for(refer)
    assert router.model(page) is nearby  # still on the stack, filters kept
    referral = router.model(refer)
    assert isinstance(referral, ReferralViewModel)
    referral.set_consent(True)
    referral.submit()
    router.views_for(page)
    assert router.model(page) is nearby and nearby.free_only and router.model(refer) is None
    home = router.views_for("/")[-1]
    assert isinstance(router.model("/"), HomeViewModel)
    assert "2 waiting to be sent" in texts(home)  # the returnee and the referral


def test_unknown_records_show_a_way_home(db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder) -> None:
    router = Router(db, clock, recorder.nav)
    for route in (routes.returnee("nobody"), routes.service("no/such"), routes.referral("none")):
        view = router.views_for(route)[-1]
        assert view.route == route and "This page cannot be shown." in texts(view)
        fire(button(view, "Back to home"))
    assert recorder.went == ["/", "/", "/"]


def test_every_other_screen_shows_the_sync_state_in_its_app_bar(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee, recorder: NavRecorder
) -> None:
    router = Router(db, clock, recorder.nav)
    page = routes.returnee(fatoumata.id)
    top = router.views_for(page)[-1]
    assert top.appbar is not None and top.appbar.actions
    badge = top.appbar.actions[-1]
    assert isinstance(badge, ft.Semantics)
    assert badge.label == f"{router.sync_vm.status_text}. 1 waiting to be sent"  # the returnee's record
    refer = routes.refer(fatoumata.id, SERVICE)
    router.views_for(refer)
    referral = router.model(refer)
    assert isinstance(referral, ReferralViewModel)
    referral.set_consent(True)
    referral.submit()
    badge = router.views_for(routes.referrals(None))[-1].appbar.actions[-1]  # type: ignore[union-attr,index]
    assert isinstance(badge, ft.Semantics) and badge.label.endswith("2 waiting to be sent")
    assert isinstance(badge.content, ft.Container)
    fire(badge.content)
    assert recorder.went[-1] == routes.SYNC
    home = router.views_for("/")[-1]
    assert home.appbar is not None and not any(isinstance(a, ft.Semantics) for a in home.appbar.actions or [])
