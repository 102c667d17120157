"""Routing: turn a route into the stack of screens under it, keeping each screen's state while it is on the stack.

Everything screen-specific comes from the route table (`routes.SCREENS`): the router reads a row's factories,
roles and menu entry, and has no branch per screen. A view model lives as long as its route stays on the stack (so
the filters of the returnee page survive a look at a partner and back), and is refreshed whenever its screen comes
back on top (so counts and statuses are current). The role (agent, office, supervisor) decides the home screen, the
menu and which screens open. At desktop width (`wide`) each screen sits beside a navigation rail; at phone width
the office and supervisor get a bottom navigation bar. Built off-page: tests drive it with a stand-in `Nav`.
Every screen's app bar ends with the controls `app_bar()` makes (the language menu, from the composition root);
after a language change `forget_views()` makes the next stack draw every screen again in the new language, keeping
the view models (a half-filled form survives).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flet as ft
import sqlite_utils

from field_app.casework.roles import current as current_workspace
from field_app.errors import FieldAppError, NotFound
from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.common import Clock
from field_app.ui.viewmodels.sync import SyncRunner, SyncViewModel
from field_app.ui.views.common import Nav, button, handler, note, screen
from field_app.ui.views.sync import sync_badge

if TYPE_CHECKING:
    from field_app.ui.views.nearby import Locate

WIDE_PX = 1000  # from this page width: navigation rail, list and detail side by side


class Router:
    """Builds `page.views` for a route; `views_for(route)` returns the stack, the role's home first.

    The router is also the `routes.Context` the table's factories receive (db, clock, nav, role, wide…)."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        clock: Clock,
        nav: Nav,
        locate: Locate | None = None,
        sync: SyncRunner | None = None,
        *,
        wide: bool = False,
        data_dir: Path | None = None,
        app_bar: Callable[[], list[ft.Control]] | None = None,
    ):
        self.db = db
        self.clock = clock
        self.nav = nav
        self.locate = locate
        self.wide = wide
        db_file = Path(db.conn.execute("PRAGMA database_list").fetchone()[2] or ".")
        self.exports_dir = (data_dir or db_file.parent) / "exports"
        self.role = routes.AGENT
        self.region: str | None = None
        self._models: dict[str, Any] = {}
        self._views: dict[str, ft.View] = {}
        # sync: one view model for the session (the runner's), shared by the home panel and the sync screen
        self.sync_vm = sync.vm if sync is not None else SyncViewModel(db, clock)
        self._sync_now: Callable[[], None] = sync.request if sync is not None else (lambda: None)
        self._redraws: dict[str, Callable[[], None]] = {}
        self._building: str | None = None
        self._app_bar = app_bar or list  # what ends every app bar (the language menu)

    # --- routes.Context -------------------------------------------------------------------------------------------

    def sync_now(self) -> None:
        self._sync_now()

    def on_redraw(self, redraw: Callable[[], None]) -> None:
        """The screen being built redraws itself in place with `redraw()` when the sync state changes."""
        if self._building is not None:
            self._redraws[self._building] = redraw

    def enrolled(self) -> None:
        self.sync_vm.finished()
        self._sync_now()

    # --- building the stack ---------------------------------------------------------------------------------------

    def read_role(self) -> None:
        """The role and region from this device's enrolment (agent when not enrolled)."""
        workspace = current_workspace(self.db)
        if (workspace.role, workspace.region) != (self.role, self.region):
            self._models.clear()  # another workspace: nothing of the old one carries over
            self._views.clear()
        self.role, self.region = workspace.role, workspace.region

    def views_for(self, route: str) -> list[ft.View]:
        self.read_role()
        chain = routes.stack(routes.parse(route), self.role)
        stack: list[ft.View] = []
        for i, key in enumerate(chain):
            on_top = i == len(chain) - 1
            view = self._views.get(key)
            if view is None or on_top:
                view = self._build(key, refresh=on_top)
            stack.append(view)
        self._models = {k: v for k, v in self._models.items() if k in chain}
        self._views = {v.route: v for v in stack if v.route}
        self._redraws = {k: v for k, v in self._redraws.items() if k in chain}
        return stack

    def set_wide(self, wide: bool) -> bool:
        """The page was resized; True when the layout changes (then show the route again)."""
        changed = wide != self.wide
        self.wide = wide
        if changed:
            self._views.clear()
        return changed

    def forget_views(self) -> None:
        """Draw every screen of the stack again at the next `views_for` (the language changed); models stay."""
        self._views.clear()

    def sync_changed(self) -> None:
        """Redraw the sync status on the screens of the stack (the caller then updates the page)."""
        for redraw in list(self._redraws.values()):
            redraw()

    def model(self, route: str) -> Any:
        """The view model behind a screen on the stack (for tests)."""
        return self._models.get(route)

    def _build(self, key: str, *, refresh: bool) -> ft.View:
        r = routes.resolve(routes.parse(key), self.role)
        row = routes.BY_NAME[r.name]
        self._building = key
        try:
            if not routes.allowed(r, self.role):
                raise NotFound(_("This page is not part of this device's workspace."))
            vm = self._models.get(key)
            if vm is None:
                vm = self._models[key] = row.model(self, r)
            elif refresh and hasattr(vm, "refresh"):
                vm.refresh()
            view = row.view(self, vm)
            badge_wanted = row.sync_badge
        except FieldAppError as exc:
            self._models.pop(key, None)
            view = self._problem(key, exc)
            badge_wanted = True
        finally:
            self._building = None
        view.route = key
        if badge_wanted and isinstance(view.appbar, ft.AppBar):
            if refresh:
                self.sync_vm.refresh()  # the count waiting may have changed on the screen before
            badge, redraw = sync_badge(self.sync_vm, self.nav)
            view.appbar.actions = [*(view.appbar.actions or []), badge]
            self._redraws[key] = redraw
        if isinstance(view.appbar, ft.AppBar):
            view.appbar.actions = [*(view.appbar.actions or []), *self._app_bar()]
        self._frame(view, r.name)
        return view

    def _frame(self, view: ft.View, name: str) -> None:
        """The menu: a navigation rail beside the screen (desktop), a bottom bar (office, supervisor on a phone)."""
        entries = routes.menu(self.role, phone=not self.wide)
        if not entries:
            return
        names = [e.name for e in entries]
        selected = names.index(name) if name in names else None
        trail = routes.stack(routes.parse(view.route or routes.HOME), self.role)
        if selected is None:  # a screen under a destination lights that destination
            for i, e in enumerate(entries):
                if routes.screen_path(e.name) in trail:
                    selected = i

        def go(e: Any) -> None:
            index = int(e.control.selected_index or 0)
            self.nav.go(routes.screen_path(names[index]))

        def icon(entry: routes.Screen) -> ft.IconData:
            found: ft.IconData = getattr(ft.Icons, entry.menu[0] if entry.menu else "CIRCLE")
            return found

        def label(entry: routes.Screen) -> str:
            return _(entry.menu[1]) if entry.menu else entry.name

        if self.wide:
            rail = ft.NavigationRail(
                destinations=[ft.NavigationRailDestination(icon=icon(e), label=label(e)) for e in entries],
                selected_index=selected,
                label_type=ft.NavigationRailLabelType.ALL,
                min_width=96,
                on_change=go,
                key="rail",
            )
            content = ft.Column(
                [c for c in view.controls if isinstance(c, ft.Control)],
                scroll=view.scroll,
                expand=True,
                horizontal_alignment=view.horizontal_alignment,
            )
            view.controls = [
                ft.Row(
                    [rail, ft.VerticalDivider(width=1), content],
                    expand=True,
                    vertical_alignment=ft.CrossAxisAlignment.START,
                )
            ]
            view.scroll = None
            view.horizontal_alignment = ft.CrossAxisAlignment.STRETCH
        else:
            view.navigation_bar = ft.NavigationBar(
                destinations=[ft.NavigationBarDestination(icon=icon(e), label=label(e)) for e in entries],
                selected_index=selected if selected is not None else 0,
                on_change=go,
                key="navbar",
            )

    def _problem(self, key: str, exc: FieldAppError) -> ft.View:
        return screen(
            key,
            _("Not found"),
            [
                ft.Text(_("This page cannot be shown."), size=18, weight=ft.FontWeight.W_600),
                note(str(exc)),
                button(_("Back to home"), handler(lambda: self.nav.go(routes.HOME)), icon=ft.Icons.HOME),
            ],
        )
