"""The directory screen: search box, "near" picker, result list. Logic lives in DirectoryViewModel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.directory import DirectoryViewModel
from field_app.ui.views.common import back_button

NO_PLACE = "-"


def directory_view(vm: DirectoryViewModel, on_open: Callable[[str], None] | None = None) -> ft.View:
    """Build the screen; handlers update the view model, then redraw the list (Flet updates after handlers).

    `on_open(service_id)` is called when a result is tapped (the app opens the service's page).
    """

    def opener(service_id: str) -> Callable[[Any], None] | None:
        if on_open is None:
            return None
        return lambda e: on_open(service_id)

    results = ft.ListView(expand=True, spacing=0)
    status = ft.Text(vm.status, size=13, color=ft.Colors.ON_SURFACE_VARIANT)

    def redraw() -> None:
        results.controls = [
            ft.ListTile(
                title=ft.Text(row.title, weight=ft.FontWeight.W_600),
                subtitle=ft.Text(row.subtitle),
                trailing=ft.Text(row.distance) if row.distance else None,
                min_height=56,
                on_click=opener(row.service_id),
                key=row.service_id,
            )
            for row in vm.rows
        ]
        status.value = vm.status

    def on_search(e: Any) -> None:
        vm.set_query(search.value or "")
        redraw()

    def on_place(e: Any) -> None:
        vm.set_place(None if place.value in (None, NO_PLACE) else place.value)
        redraw()

    search = ft.TextField(
        label=_("Search partners, trainings, towns"),
        prefix_icon=ft.Icons.SEARCH,
        on_change=on_search,
        autofocus=True,
        dense=False,
    )
    place = ft.Dropdown(
        label=_("Near"),
        value=NO_PLACE,
        options=[ft.DropdownOption(key=NO_PLACE, text=_("Anywhere"))]
        + [ft.DropdownOption(key=p.id, text=p.name) for p in vm.places()],
        on_select=on_place,
        expand=True,
    )
    redraw()
    return ft.View(
        route=routes.DIRECTORY,
        appbar=ft.AppBar(
            leading=back_button(),  # 48×48 and named in the reader's language (Flutter's own is 40×40, "Back")
            automatically_imply_leading=False,
            title=ft.Text(_("Directory")),
            bgcolor=ft.Colors.PRIMARY_CONTAINER,
        ),
        controls=[
            search,
            ft.Row([ft.Semantics(label=_("Near"), content=place, expand=True)]),
            status,
            results,
        ],
        padding=12,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
    )


def directory_screen(ctx: routes.Context, vm: DirectoryViewModel) -> ft.View:
    return directory_view(vm, on_open=lambda sid: ctx.nav.go(routes.service(sid)))
