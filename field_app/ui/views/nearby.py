"""The returnee page: who, near where, filters, and one card per partner with its services and this person's
verdict on each, best first; "more" loads the next partners. Tap a service → its page.

Phone first (one column at 360 px; the same column, centred, on a desktop). A card: the partner, where it is and
how many of its services matched, the line that says why it stands there, then its first services (verdict chip
with words and icon, the sector it shares with the person's interests, where, the fee) and "show all".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.nearby import LocationProblem, NearbyViewModel, PartnerCard, ServiceLine
from field_app.ui.views.common import (
    TOUCH,
    Nav,
    button,
    dropdown,
    handler,
    heading,
    note,
    screen,
    switch,
    verdict_chip,
)

Locate = Callable[[], Awaitable[tuple[float, float] | LocationProblem]]


def service_tile(line: ServiceLine, on_open: Callable[[], None]) -> ft.Control:
    """One service of a card: its name (read out with its partner's), verdict chip, shared sector, where, fee,
    first reasons. The whole line opens the service's page."""
    facts: list[ft.Control] = [verdict_chip(line.verdict, line.verdict_text)]
    if line.matched:
        facts.append(
            ft.Row(
                [ft.Icon(ft.Icons.STAR, size=16, color=ft.Colors.PRIMARY), ft.Text(line.matched, size=13)],
                spacing=2,
                tight=True,
            )
        )
    facts += [ft.Text(line.where, size=13), ft.Text(line.fee, size=13)]
    lines: list[ft.Control] = [
        ft.Row(facts, wrap=True, spacing=8, run_spacing=4, vertical_alignment=ft.CrossAxisAlignment.CENTER)
    ]
    lines += [ft.Text(reason, size=13, color=ft.Colors.ON_SURFACE_VARIANT) for reason in line.reasons]
    return ft.ListTile(
        title=ft.Text(line.title, weight=ft.FontWeight.W_600, semantics_label=f"{line.title}, {line.organization}"),
        subtitle=ft.Column(lines, spacing=4, tight=True),
        on_click=handler(on_open),
        min_height=64,
        content_padding=ft.Padding.symmetric(horizontal=4, vertical=2),
        key=line.service_id,
    )


def partner_card(
    vm: NearbyViewModel, card: PartnerCard, on_open: Callable[[str], None], on_toggle: Callable[[str], None]
) -> ft.Control:
    head = ft.Column(
        [
            ft.Semantics(
                header=True,
                content=ft.Text(f"{card.rank}. {card.name}", size=16, weight=ft.FontWeight.W_600),
            ),
            ft.Text(" · ".join(filter(None, [card.where, card.count])), size=13),
            ft.Row(
                [
                    ft.Icon(ft.Icons.INFO_OUTLINE, size=16, color=ft.Colors.PRIMARY),
                    ft.Text(card.why, size=13, color=ft.Colors.PRIMARY, expand=True),
                ],
                spacing=6,
                vertical_alignment=ft.CrossAxisAlignment.START,
            ),
        ],
        spacing=2,
        tight=True,
    )
    rows: list[ft.Control] = [head, ft.Divider(height=8)]
    rows += [service_tile(line, partial(on_open, line.service_id)) for line in vm.visible_services(card)]
    toggle = vm.toggle_text(card)
    if toggle:
        rows.append(
            ft.Row(
                [
                    button(
                        toggle,
                        handler(partial(on_toggle, card.organization_id)),
                        icon=ft.Icons.EXPAND_LESS if card.organization_id in vm.expanded else ft.Icons.EXPAND_MORE,
                        kind="text",
                    )
                ]
            )
        )
    return ft.Card(
        content=ft.Container(
            ft.Column(rows, spacing=2, tight=True), padding=ft.Padding.symmetric(horizontal=12, vertical=10)
        ),
        key=f"partner:{card.organization_id}",
    )


def nearby_view(vm: NearbyViewModel, nav: Nav, locate: Locate | None = None) -> ft.View:
    results = ft.Column(spacing=8, key="results")
    status = ft.Text(vm.status, size=15, weight=ft.FontWeight.W_600, key="count")
    location = note(vm.location_message, size=13)
    interests = note(vm.interests_summary, size=13)

    def open_service(service_id: str) -> None:
        nav.go(routes.service(service_id, vm.returnee.id))

    def on_toggle(organization_id: str) -> None:
        vm.toggle(organization_id)
        redraw()

    def on_more(e: Any) -> None:
        vm.load_more()
        redraw()

    more = ft.Container(content=button(vm.shown, on_more, icon=ft.Icons.EXPAND_MORE, kind="tonal"), key="more")

    def redraw() -> None:
        results.controls = [partner_card(vm, card, open_service, on_toggle) for card in vm.cards]
        status.value = vm.status
        more.content = button(vm.shown, on_more, icon=ft.Icons.EXPAND_MORE, kind="tonal")
        more.visible = vm.more
        filters.subtitle = ft.Text(vm.filters_summary, size=13)
        location.value, location.visible = vm.location_message, bool(vm.location_message)
        interests.value, interests.visible = vm.interests_summary, bool(vm.interests_summary)
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
                    switch(_("Free only"), vm.free_only, on_free, key="free_only")[1],
                    switch(_("Eligible only"), vm.eligible_only, on_eligible, key="eligible_only")[1],
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
        interests,
        status,
        results,
        more,
    ]
    return screen(routes.returnee(vm.returnee.id), _("Returnee"), controls)
