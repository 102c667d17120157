"""The returnee page: who, near where, filters, and the partners with this person's verdict. Tap → detail."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.nearby import LocationProblem, NearbyRow, NearbyViewModel
from field_app.ui.views.common import TOUCH, Nav, button, dropdown, handler, heading, note, screen, verdict_chip

Locate = Callable[[], Awaitable[tuple[float, float] | LocationProblem]]


def service_tile(row: NearbyRow, on_open: Callable[[], None]) -> ft.Control:
    """One partner: service, organisation, verdict chip, where, fee, first reasons."""
    facts = ft.Row(
        [verdict_chip(row.verdict, row.verdict_text), ft.Text(row.where, size=13), ft.Text(row.fee, size=13)],
        wrap=True,
        spacing=8,
        run_spacing=4,
        vertical_alignment=ft.CrossAxisAlignment.CENTER,
    )
    lines: list[ft.Control] = [ft.Text(row.organization, size=13), facts]
    lines += [ft.Text(reason, size=13, color=ft.Colors.ON_SURFACE_VARIANT) for reason in row.reasons]
    return ft.ListTile(
        title=ft.Text(row.title, weight=ft.FontWeight.W_600),
        subtitle=ft.Column(lines, spacing=4, tight=True),
        on_click=handler(on_open),
        min_height=72,
        content_padding=ft.Padding.symmetric(horizontal=4, vertical=4),
        key=row.service_id,
    )


def nearby_view(vm: NearbyViewModel, nav: Nav, locate: Locate | None = None) -> ft.View:
    results = ft.Column(spacing=0, key="results")
    status = note(vm.status, size=13)
    location = note(vm.location_message, size=13)

    def redraw() -> None:
        results.controls = [
            service_tile(row, partial(nav.go, routes.service(row.service_id, vm.returnee.id))) for row in vm.rows
        ]
        status.value = vm.status
        filters.subtitle = ft.Text(vm.filters_summary, size=13)
        location.value, location.visible = vm.location_message, bool(vm.location_message)
        place_dd.options = [ft.DropdownOption(key=o.key, text=o.text) for o in vm.places()]
        place_dd.value = vm.place_key

    def on_place(e: Any) -> None:
        vm.set_place(e.control.value)
        redraw()

    async def on_locate(e: Any) -> None:
        if locate is None:
            vm.position_failed(LocationProblem.UNAVAILABLE)
        else:
            found = await locate()
            if isinstance(found, LocationProblem):
                vm.position_failed(found)
            else:
                vm.use_position(*found)
        redraw()

    def on_pathway(e: Any) -> None:
        vm.set_filters(pathway=e.control.value or "")
        redraw()

    def on_text(e: Any) -> None:
        vm.set_filters(text=e.control.value or "")
        redraw()

    def on_free(e: Any) -> None:
        vm.set_filters(free_only=bool(e.control.value))
        redraw()

    def on_eligible(e: Any) -> None:
        vm.set_filters(eligible_only=bool(e.control.value))
        redraw()

    place_dd, place = dropdown(_("Near"), vm.places(), vm.place_key, on_place)
    place_dd.key = "near"
    pathway_dd, pathway = dropdown(_("Pathway"), vm.pathways(), vm.pathway or "-", on_pathway)
    pathway_dd.key = "pathway"
    filters = ft.ExpansionTile(
        title=ft.Text(_("Filters"), weight=ft.FontWeight.W_500),
        subtitle=ft.Text(vm.filters_summary, size=13),
        leading=ft.Icon(ft.Icons.FILTER_LIST),
        expanded=vm.filters_active,
        maintain_state=True,
        tile_padding=ft.Padding.symmetric(horizontal=4),
        controls_padding=ft.Padding.only(top=8, bottom=4),
        expanded_cross_axis_alignment=ft.CrossAxisAlignment.STRETCH,
        min_tile_height=TOUCH,
        key="filters",
        controls=[
            pathway,
            ft.TextField(
                label=_("Training field or sector"),
                value=vm.text,
                prefix_icon=ft.Icons.SEARCH,
                on_change=on_text,
                key="text",
            ),
            ft.Row(
                [
                    ft.Switch(label=_("Free only"), value=vm.free_only, on_change=on_free, key="free_only"),
                    ft.Switch(
                        label=_("Eligible only"), value=vm.eligible_only, on_change=on_eligible, key="eligible_only"
                    ),
                ],
                wrap=True,
                spacing=16,
            ),
        ],
    )
    redraw()
    controls: list[ft.Control] = [
        ft.Text(vm.name, size=22, weight=ft.FontWeight.W_600),
        note(vm.summary),
        ft.Row(
            [
                button(
                    _("Edit"),
                    handler(lambda: nav.go(routes.edit_returnee(vm.returnee.id))),
                    icon=ft.Icons.EDIT,
                    kind="outlined",
                ),
                button(
                    _("Their referrals"),
                    handler(lambda: nav.go(routes.referrals(vm.returnee.id))),
                    icon=ft.Icons.ASSIGNMENT,
                    kind="outlined",
                ),
            ],
            wrap=True,
        ),
        heading(_("Partners nearby")),
        place,
        button(_("Use my position"), on_locate, icon=ft.Icons.MY_LOCATION, kind="tonal"),
        location,
        filters,
        status,
        results,
    ]
    return screen(routes.returnee(vm.returnee.id), _("Returnee"), controls)
