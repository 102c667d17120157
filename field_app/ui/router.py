"""Routing: turn a route into the stack of screens under it, keeping each screen's state while it is on the stack.

A view model lives as long as its route stays on the stack (so the filters of the returnee page survive a look
at a partner and back), and is refreshed whenever its screen comes back on top (so counts and statuses are
current). Built off-page: tests drive it with a stand-in `Nav`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft
import sqlite_utils

from field_app.errors import FieldAppError, NotFound
from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.common import Clock
from field_app.ui.viewmodels.directory import DirectoryViewModel
from field_app.ui.viewmodels.home import HomeViewModel
from field_app.ui.viewmodels.nearby import NearbyViewModel
from field_app.ui.viewmodels.referral import ReferralViewModel, SlipViewModel
from field_app.ui.viewmodels.referrals import ReferralsViewModel
from field_app.ui.viewmodels.returnee_form import ReturneeFormViewModel
from field_app.ui.viewmodels.service_detail import ServiceDetailViewModel
from field_app.ui.viewmodels.sync import EnrolViewModel, SyncRunner, SyncViewModel
from field_app.ui.views.common import Nav, button, handler, note, screen
from field_app.ui.views.directory import directory_view
from field_app.ui.views.home import home_view
from field_app.ui.views.nearby import Locate, nearby_view
from field_app.ui.views.referral import referral_view, slip_view
from field_app.ui.views.referrals import referrals_view
from field_app.ui.views.returnee_form import returnee_form_view
from field_app.ui.views.service_detail import service_detail_view
from field_app.ui.views.sync import enrol_view, sync_badge, sync_panel, sync_view


class Router:
    """Builds `page.views` for a route; `views_for(route)` returns the stack, home first."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        clock: Clock,
        nav: Nav,
        locate: Locate | None = None,
        sync: SyncRunner | None = None,
    ):
        self._db = db
        self._clock = clock
        self._nav = nav
        self._locate = locate
        self._models: dict[str, Any] = {}
        self._views: dict[str, ft.View] = {}
        # sync: one view model for the session (the runner's), shared by the home panel and the sync screen
        self.sync_vm = sync.vm if sync is not None else SyncViewModel(db, clock)
        self._sync_now: Callable[[], None] = sync.request if sync is not None else (lambda: None)
        self._redraws: dict[str, Callable[[], None]] = {}

    def views_for(self, route: str) -> list[ft.View]:
        chain = routes.stack(routes.parse(route))
        stack: list[ft.View] = []
        for i, key in enumerate(chain):
            on_top = i == len(chain) - 1
            view = self._views.get(key)
            if view is None or on_top:
                view = self._build(key, refresh=on_top)
            stack.append(view)
        self._models = {k: v for k, v in self._models.items() if k in chain}
        self._views = {v.route: v for v in stack}
        self._redraws = {k: v for k, v in self._redraws.items() if k in chain}
        return stack

    def sync_changed(self) -> None:
        """Redraw the sync status on the screens of the stack (the caller then updates the page)."""
        for redraw in list(self._redraws.values()):
            redraw()

    def model(self, route: str) -> Any:
        """The view model behind a screen on the stack (for tests)."""
        return self._models.get(route)

    def _build(self, key: str, *, refresh: bool) -> ft.View:
        try:
            vm = self._models.get(key)
            if vm is None:
                vm = self._models[key] = self._model(routes.parse(key))
            elif refresh and hasattr(vm, "refresh"):
                vm.refresh()
            view = self._view(routes.parse(key), vm)
        except FieldAppError as exc:
            self._models.pop(key, None)
            view = self._problem(key, exc)
        view.route = key
        if key not in (routes.HOME, routes.SYNC) and isinstance(view.appbar, ft.AppBar):
            if refresh:
                self.sync_vm.refresh()  # the count waiting may have changed on the screen before
            badge, redraw = sync_badge(self.sync_vm, self._nav)
            view.appbar.actions = [*(view.appbar.actions or []), badge]
            self._redraws[key] = redraw
        return view

    def _model(self, r: routes.Route) -> Any:
        db, clock = self._db, self._clock
        match r.name:
            case "home":
                return HomeViewModel(db, clock)
            case "directory":
                return DirectoryViewModel(db)
            case "returnee_new":
                return ReturneeFormViewModel(db, clock)
            case "returnee_edit":
                return ReturneeFormViewModel(db, clock, r.returnee_id)
            case "returnee" if r.returnee_id:
                return NearbyViewModel(db, clock, r.returnee_id)
            case "service" if r.service_id:
                return ServiceDetailViewModel(db, clock, r.service_id, r.returnee_id)
            case "refer" if r.returnee_id and r.service_id:
                return ReferralViewModel(db, clock, r.returnee_id, r.service_id)
            case "referrals":
                return ReferralsViewModel(db, clock, r.returnee_id)
            case "referral" if r.referral_id:
                return SlipViewModel(db, r.referral_id)
            case "sync":
                return self.sync_vm
            case "enrol":
                return EnrolViewModel(db, clock)
        raise NotFound(_("This page does not exist."))

    def _view(self, r: routes.Route, vm: Any) -> ft.View:
        nav = self._nav
        if isinstance(vm, HomeViewModel):
            self.sync_vm.refresh()
            panel = sync_panel(self.sync_vm, nav, self._sync_now)
            self._redraws[routes.HOME] = panel.redraw
            return home_view(vm, nav, panel.control)
        if isinstance(vm, SyncViewModel):
            view, redraw = sync_view(vm, nav, self._sync_now)
            self._redraws[routes.SYNC] = redraw
            return view
        if isinstance(vm, EnrolViewModel):
            return enrol_view(vm, nav, self._enrolled)
        if isinstance(vm, DirectoryViewModel):
            return directory_view(vm, on_open=lambda sid: nav.go(routes.service(sid)))
        if isinstance(vm, ReturneeFormViewModel):
            return returnee_form_view(vm, nav)
        if isinstance(vm, NearbyViewModel):
            return nearby_view(vm, nav, self._locate)
        if isinstance(vm, ServiceDetailViewModel):
            return service_detail_view(vm, nav)
        if isinstance(vm, ReferralViewModel):
            return referral_view(vm, nav)
        if isinstance(vm, ReferralsViewModel):
            return referrals_view(vm, nav)
        if isinstance(vm, SlipViewModel):
            return slip_view(vm, nav)
        raise NotFound(_("This page does not exist."))

    def _enrolled(self) -> None:
        self.sync_vm.finished()
        self._sync_now()

    def _problem(self, key: str, exc: FieldAppError) -> ft.View:
        return screen(
            key,
            _("Not found"),
            [
                ft.Text(_("This page cannot be shown."), size=18, weight=ft.FontWeight.W_600),
                note(str(exc)),
                button(_("Back to home"), handler(lambda: self._nav.go(routes.HOME)), icon=ft.Icons.HOME),
            ],
        )
