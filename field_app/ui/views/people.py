"""People: a search box (name, phone or slip code), how many match, the list a page at a time with "Show more";
tap a person → their page. Logic lives in PeopleViewModel."""

from __future__ import annotations

from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.people import PeopleViewModel, PersonRow
from field_app.ui.views.common import Nav, button, handler, note, screen


def people_view(vm: PeopleViewModel, nav: Nav) -> ft.View:
    rows = ft.Column(spacing=0, key="people")
    count = ft.Text(vm.count_text, size=14, weight=ft.FontWeight.W_600, key="count")
    shown = note(vm.shown_text, size=13)
    empty = note(vm.empty_text)

    def show_more() -> None:
        vm.more()
        redraw()

    more = button(_("Show more"), handler(show_more), icon=ft.Icons.EXPAND_MORE, kind="outlined")

    def tile(row: PersonRow) -> ft.Control:
        return ft.ListTile(
            leading=ft.Icon(ft.Icons.PERSON),
            title=ft.Text(row.name, weight=ft.FontWeight.W_600),
            subtitle=ft.Text(row.detail, size=13),
            on_click=handler(lambda: nav.go(routes.person(row.returnee_id))),
            min_height=64,
            content_padding=ft.Padding.symmetric(horizontal=4),
            key=row.returnee_id,
        )

    def redraw() -> None:
        rows.controls = [tile(r) for r in vm.rows]
        count.value = vm.count_text
        shown.value = vm.shown_text
        shown.visible = vm.has_more or len(vm.rows) < vm.total
        empty.value = vm.empty_text
        empty.visible = not vm.rows
        more.visible = vm.has_more

    def on_search(e: Any) -> None:
        vm.search(search.value or "")
        redraw()

    search = ft.TextField(
        label=_("Name, phone or slip code"),
        value=vm.text,
        prefix_icon=ft.Icons.SEARCH,
        on_change=on_search,
        on_submit=on_search,
        autofocus=True,
        key="search",
    )
    redraw()
    return screen(routes.PEOPLE, _("People"), [search, count, rows, shown, more, empty])
