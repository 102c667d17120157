"""Home: the big actions (register, find a person, the directory), "My referrals", the people registered lately
(tap → their page) with a link to everyone, and what waits to be sent."""

from __future__ import annotations

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.home import HomeViewModel, PersonRow
from field_app.ui.views.common import Nav, button, handler, heading, note, screen


def home_view(vm: HomeViewModel, nav: Nav, sync: ft.Control | None = None, *, walk_in: bool = False) -> ft.View:
    """Home; `sync` is the sync status panel (offline / syncing / failed / up to date, what waits, "Sync now"),
    shown first, in place of the plain count of what waits to be sent."""

    def person(row: PersonRow) -> ft.Control:
        return ft.ListTile(
            leading=ft.Icon(ft.Icons.PERSON),
            title=ft.Text(row.name, weight=ft.FontWeight.W_600),
            subtitle=ft.Text(row.detail),
            on_click=handler(lambda: nav.go(routes.person(row.returnee_id))),
            min_height=56,
            key=row.returnee_id,
        )

    pending = ft.Row(
        [
            ft.Icon(ft.Icons.CLOUD_UPLOAD if vm.pending else ft.Icons.CLOUD_DONE, color=ft.Colors.PRIMARY),
            ft.Text(vm.pending_text, size=15, expand=True),
        ],
        key="pending",
    )
    controls: list[ft.Control] = [
        *([sync] if sync is not None else []),
        button(
            _("Register a returnee"),
            handler(lambda: nav.go(routes.NEW_RETURNEE)),
            icon=ft.Icons.PERSON_ADD,
            big=True,
        ),
        button(
            _("Find a person"),
            handler(lambda: nav.go(routes.PEOPLE)),
            icon=ft.Icons.PEOPLE,
            kind="tonal",
            big=True,
        ),
        button(
            _("Search the directory"),
            handler(lambda: nav.go(routes.DIRECTORY)),
            icon=ft.Icons.SEARCH,
            kind="tonal",
            big=True,
        ),
        button(
            _("My referrals"),
            handler(lambda: nav.go(routes.REFERRALS)),
            icon=ft.Icons.ASSIGNMENT,
            kind="outlined",
        ),
        *([pending] if sync is None else []),
        ft.Divider(),
        heading(vm.recent_title),
        *[person(r) for r in vm.recent],
    ]
    if vm.recent:
        controls.append(button(vm.everyone_text, handler(lambda: nav.go(routes.PEOPLE)), kind="text"))
    else:
        controls.append(note(_("Registered returnees appear here: tap one to see their page and refer them.")))
    return screen(routes.WALK_IN if walk_in else routes.HOME, _("Walk-ins") if walk_in else "Passerelle", controls)


def home_screen(ctx: routes.Context, vm: HomeViewModel) -> ft.View:
    """Home as the route table builds it: with the sync panel, redrawn while a sync runs."""
    from field_app.ui.views.sync import sync_panel

    ctx.sync_vm.refresh()
    panel = sync_panel(ctx.sync_vm, ctx.nav, ctx.sync_now)
    ctx.on_redraw(panel.redraw)
    return home_view(vm, ctx.nav, panel.control, walk_in=ctx.role != routes.AGENT)
