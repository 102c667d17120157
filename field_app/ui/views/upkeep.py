"""Directory upkeep: the list of organisations this device may correct, and one organisation's form."""

from __future__ import annotations

from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.upkeep import UpkeepListViewModel, UpkeepViewModel
from field_app.ui.views.common import button, dropdown, error_text, handler, heading, note, screen


def upkeep_list_screen(ctx: routes.Context, vm: UpkeepListViewModel) -> ft.View:
    rows = ft.Column(spacing=0, key="orgs")
    status = note(vm.status_text, size=13)

    def opener(oid: str) -> Any:
        return handler(lambda: ctx.nav.go(routes.upkeep(oid)))

    def redraw() -> None:
        rows.controls = [
            ft.ListTile(
                title=ft.Text(name, weight=ft.FontWeight.W_600),
                subtitle=note(oid, size=12),
                trailing=ft.Icon(ft.Icons.EDIT),
                on_click=opener(oid),
                min_height=56,
                key=oid,
            )
            for oid, name in vm.rows
        ]
        status.value = vm.status_text

    def on_text(e: Any) -> None:
        vm.set_text(e.control.value or "")
        redraw()

    redraw()
    search = ft.TextField(label=_("Find an organisation"), prefix_icon=ft.Icons.SEARCH, on_change=on_text)
    return screen(routes.UPKEEP, _("Directory upkeep"), [search, status, rows])


def upkeep_screen(ctx: routes.Context, vm: UpkeepViewModel) -> ft.View:
    body = ft.Column(spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, key="upkeep")

    def field(name: str, label: str, hint: str | None = None) -> ft.TextField:
        def on_change(e: Any) -> None:
            vm.set(name, e.control.value or "")

        return ft.TextField(
            label=label,
            value=vm.values.get(name, ""),
            hint_text=hint,
            error=vm.errors.get(name),
            on_change=on_change,
            key=name,
        )

    def save() -> None:
        vm.save()
        redraw()

    def verified() -> None:
        vm.verified_today()
        redraw()

    def redraw() -> None:
        several = _("several: separate with commas")
        controls: list[ft.Control] = [
            ft.Text(vm.name, size=22, weight=ft.FontWeight.W_600),
            note(vm.verified_text, size=13),
            error_text(vm.errors.get("organization", "")),
        ]
        if vm.message:
            controls.append(note(vm.message, color=ft.Colors.PRIMARY, size=13))
        controls += [
            heading(_("Organisation")),
            field("phones", _("Phones"), several),
            field("emails", _("E-mails"), several),
            heading(_("Contact person")),
            field("contacts/0/name", _("Name")),
            field("contacts/0/title", _("Title")),
            field("contacts/0/phones", _("Contact's phones"), several),
            field("contacts/0/emails", _("Contact's e-mails"), several),
            heading(_("Services")),
        ]
        for s in vm.services:
            key = f"services/{s.service_id}/status"

            def on_status(e: Any, key: str = key) -> None:
                vm.set(key, e.control.value or "")

            _dd, row = dropdown(s.name, vm.status_options(), s.status, on_status, error=vm.errors.get(key))
            controls.append(row)

        def on_note(e: Any) -> None:
            vm.note = e.control.value or ""

        controls += [
            ft.TextField(label=_("Note (why, source)"), value=vm.note, multiline=True, on_change=on_note, key="note"),
            ft.Row(
                [
                    button(_("Save"), handler(save), icon=ft.Icons.SAVE),
                    button(_("Verified today"), handler(verified), icon=ft.Icons.VERIFIED, kind="outlined"),
                ],
                wrap=True,
                spacing=8,
            ),
        ]
        body.controls = controls

    redraw()
    return screen(routes.upkeep(vm.organization_id), _("Correct the directory"), [body])
