"""The office's screens: the inbox (search, counts per status as chips, filters, pages), a referral's detail with
its history, and the move dialog. At desktop width the inbox shows the selected referral beside the list."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import flet as ft

from field_app.i18n import _, labelled
from field_app.ui import routes
from field_app.ui.viewmodels.office import ANY, CaseViewModel, HistoryLine, InboxRow, InboxViewModel
from field_app.ui.views.common import (
    MAX_WIDTH,
    TOUCH,
    Nav,
    button,
    dropdown,
    error_text,
    handler,
    heading,
    note,
    screen,
    touch,
)
from field_app.ui.views.service_detail import contact_card

LIST_WIDTH = 440


def badge(text: str, *, bg: str, fg: str, icon: ft.IconData) -> ft.Control:
    """A marker with colour, icon AND words."""
    return ft.Container(
        content=ft.Row(
            [ft.Icon(icon, color=fg, size=16), ft.Text(text, color=fg, size=13, weight=ft.FontWeight.W_600)],
            spacing=4,
            tight=True,
        ),
        bgcolor=bg,
        border_radius=12,
        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
    )


def overdue_badge() -> ft.Control:
    return badge(_("Overdue"), bg=ft.Colors.RED_100, fg=ft.Colors.RED_900, icon=ft.Icons.SCHEDULE)


def conflict_badge() -> ft.Control:
    return badge(_("Conflict"), bg=ft.Colors.AMBER_100, fg=ft.Colors.BROWN_900, icon=ft.Icons.WARNING)


def inbox_tile(row: InboxRow, on_open: Callable[[], None], *, selected: bool = False) -> ft.Control:
    marks: list[ft.Control] = [ft.Text(row.status, weight=ft.FontWeight.W_600, color=ft.Colors.PRIMARY, size=13)]
    if row.overdue:
        marks.append(overdue_badge())
    if row.flagged:
        marks.append(conflict_badge())
    if row.follow_up:
        marks.append(note(_("follow up {date}").format(date=row.follow_up), size=13))
    return ft.ListTile(
        title=ft.Text(row.title, weight=ft.FontWeight.W_600),
        subtitle=ft.Column(
            [
                ft.Text(row.partner, size=13),
                ft.Row(marks, wrap=True, spacing=6, run_spacing=4),
                note(f"{row.code} · {row.detail}", size=12),
            ],
            spacing=2,
            tight=True,
        ),
        on_click=handler(on_open),
        selected=selected,
        min_height=72,
        content_padding=ft.Padding.symmetric(horizontal=4),
        key=row.referral_id,
    )


def inbox_screen(ctx: routes.Context, vm: InboxViewModel) -> ft.View:
    nav: Nav = ctx.nav
    wide = ctx.wide
    chips = ft.Row(wrap=True, spacing=6, run_spacing=6, key="status-chips")
    rows = ft.Column(spacing=0, key="rows")
    status = note(vm.status_text, size=13)
    status.key = "inbox-status"
    detail = ft.Column(spacing=12, key="detail", horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    since_error, until_error = error_text(""), error_text("")

    def open_row(row: InboxRow) -> None:
        if wide:
            vm.select(row.referral_id)
            redraw()
        else:
            nav.go(routes.case(row.referral_id))

    def pick_status(code: str) -> None:
        vm.set_filter(status=code)
        redraw()

    def chip(option: Any) -> ft.Control:
        chosen = (vm.filters.status or ANY) == option.key
        return touch(  # a 48 px target, like every chip made by common.chips
            ft.Chip(
                label=ft.Text(option.text),
                selected=chosen,
                on_select=handler(lambda: pick_status(option.key)),
                key=f"status-{option.key}",
            )
        )

    def redraw() -> None:
        chips.controls = [chip(o) for o in vm.status_chips()]
        items: list[ft.Control] = [
            ft.Column(
                [inbox_tile(r, partial(open_row, r), selected=r.referral_id == vm.selected), ft.Divider(height=1)],
                spacing=0,
            )
            for r in vm.rows
        ]
        if not vm.rows:
            items.append(note(vm.status_text))
        if vm.has_more:
            items.append(
                button(
                    vm.more_text,
                    handler(more),
                    icon=ft.Icons.EXPAND_MORE,
                    kind="outlined",
                )
            )
        rows.controls = items
        status.value = vm.status_text
        since_error.value, since_error.visible = vm.errors.get("since", ""), "since" in vm.errors
        until_error.value, until_error.visible = vm.errors.get("until", ""), "until" in vm.errors
        if wide:
            detail.controls = (
                case_panel(vm.case, nav, moved)
                if vm.case is not None
                else [note(_("Choose a referral in the list to see it here."))]
            )

    def moved() -> None:
        vm.refresh_list()
        redraw()

    def more() -> None:
        vm.more()
        redraw()

    def clear() -> None:
        vm.clear_filters()
        redraw()

    def on_text(e: Any) -> None:
        vm.set_filter(text=e.control.value or "")
        redraw()

    search = ft.TextField(
        label=_("Slip code or name"),
        prefix_icon=ft.Icons.SEARCH,
        value=vm.filters.text,
        on_change=on_text,
        key="search",
    )

    def select(name: str) -> Callable[[Any], None]:
        def on_select(e: Any) -> None:
            vm.set_filter(**{name: e.control.value})
            redraw()

        return on_select

    def typed(name: str) -> Callable[[Any], None]:
        def on_blur(e: Any) -> None:
            vm.set_filter(**{name: e.control.value or ""})
            redraw()

        return on_blur

    _partner, partner_row = dropdown(
        _("Partner"), vm.partner_options(), vm.filters.organization_id or ANY, select("organization_id")
    )
    _town, town_row = dropdown(_("Cercle or town"), vm.town_options(), vm.filters.locality or ANY, select("locality"))

    def date_field(name: str, label: str) -> ft.TextField:
        return ft.TextField(
            label=label,
            hint_text="YYYY-MM-DD",
            value=getattr(vm.filters, name),
            on_submit=typed(name),
            on_blur=typed(name),
            expand=True,
            key=name,
        )

    def on_overdue_only(e: Any) -> None:
        vm.set_filter(overdue_only=bool(e.control.value))
        redraw()

    def on_days(e: Any) -> None:
        vm.set_overdue_days(int(e.control.value))
        redraw()

    _days, days_row = dropdown(_("Overdue after"), vm.overdue_options(), str(vm.overdue_days), on_days)
    filters = ft.ExpansionTile(
        title=ft.Text(_("Filters")),
        leading=ft.Icon(ft.Icons.FILTER_LIST),
        controls=[
            ft.Column(
                [
                    partner_row,
                    town_row,
                    ft.TextField(
                        label=_("Agent device"),
                        value=vm.filters.device_id,
                        on_submit=typed("device_id"),
                        on_blur=typed("device_id"),
                    ),
                    ft.Row([date_field("since", _("From")), date_field("until", _("Until"))]),
                    since_error,
                    until_error,
                    ft.Switch(
                        label=_("Overdue only"), value=vm.filters.overdue_only, on_change=on_overdue_only, height=TOUCH
                    ),
                    days_row,
                    button(
                        _("Clear the filters"),
                        handler(clear),
                        icon=ft.Icons.CLEAR,
                        kind="text",
                    ),
                ],
                spacing=10,
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            )
        ],
        key="filters",
    )
    redraw()
    head: list[ft.Control] = [search, chips, filters, status]
    title = _("Referrals of {region}").format(region=vm.region_name) if vm.region else _("Referrals, all regions")
    if not wide:
        return screen(routes.INBOX, title, [*head, rows])
    view = screen(routes.INBOX, title, [])
    view.scroll = None
    view.controls = [
        ft.Row(
            [
                ft.Column([*head, rows], width=LIST_WIDTH, scroll=ft.ScrollMode.AUTO, spacing=10),
                ft.VerticalDivider(width=1),
                ft.Column([detail], expand=True, scroll=ft.ScrollMode.AUTO),
            ],
            expand=True,
            vertical_alignment=ft.CrossAxisAlignment.START,
        )
    ]
    return view


def case_screen(ctx: routes.Context, vm: CaseViewModel) -> ft.View:
    body = ft.Column(spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, key="case")

    def redraw() -> None:
        body.controls = case_panel(vm, ctx.nav, redraw)

    redraw()
    return screen(routes.case(vm.referral_id), vm.item.code, [body])


def history_line(line: HistoryLine) -> ft.Control:
    head = ft.Row(
        [
            ft.Icon(
                ft.Icons.WARNING if line.flagged else ft.Icons.CIRCLE,
                size=14 if not line.flagged else 18,
                color=ft.Colors.BROWN_700 if line.flagged else ft.Colors.PRIMARY,
            ),
            ft.Text(line.what, weight=ft.FontWeight.W_600, expand=True),
        ],
        spacing=6,
    )
    parts: list[ft.Control] = [head, note(f"{line.when} · {line.who}", size=13)]
    parts += [ft.Text(d, size=13, color=ft.Colors.BROWN_900 if line.flagged else None) for d in line.details]
    return ft.Container(
        content=ft.Column(parts, spacing=2),
        bgcolor=ft.Colors.AMBER_50 if line.flagged else None,
        padding=ft.Padding.symmetric(horizontal=8, vertical=6),
        border_radius=8,
        key=f"event-{line.event_id}",
    )


def case_panel(vm: CaseViewModel, nav: Nav, redraw: Callable[[], None]) -> list[ft.Control]:
    """A referral: status and marks, the person (with consent), partner and service, moves, history."""
    marks: list[ft.Control] = [ft.Text(vm.status, weight=ft.FontWeight.W_600, color=ft.Colors.PRIMARY, size=16)]
    if vm.item.overdue:
        marks.append(overdue_badge())
    if vm.item.flagged or vm.detail.flagged:
        marks.append(conflict_badge())
    controls: list[ft.Control] = [
        ft.Text(vm.person_name or vm.title, size=22, weight=ft.FontWeight.W_600),
        ft.Row(marks, wrap=True, spacing=8, run_spacing=4),
        *([note(vm.follow_up_text, size=13)] if vm.follow_up_text else []),
    ]
    if vm.message:
        controls.append(note(vm.message, color=ft.Colors.GREEN_900, size=13))
    moves = vm.move_options()
    if moves:
        controls.append(
            ft.Row(
                [button(o.text, handler(partial(open_move, vm, nav, redraw, o.key)), kind="tonal") for o in moves],
                wrap=True,
                spacing=8,
                run_spacing=8,
            )
        )
    controls.append(heading(_("Person")))
    if vm.person_name:
        controls.append(ft.Text(f"{vm.person_name} · {vm.title}", weight=ft.FontWeight.W_500))
        controls += [ft.Text(labelled(k, v)) for k, v in vm.person_lines]
        links = [(_("Call"), ft.Icons.CALL, vm.tel), (_("SMS"), ft.Icons.SMS, vm.sms)]
        controls.append(
            ft.Row([button(t, icon=i, url=u, kind="outlined") for t, i, u in links if u], wrap=True, spacing=6)
        )
    else:
        controls.append(note(vm.no_consent_text))
    controls.append(heading(_("Partner")))
    controls += [ft.Text(vm.partner, weight=ft.FontWeight.W_500), ft.Text(vm.service)]
    controls += [contact_card(c) for c in vm.contacts()] or [note(_("No contact listed."))]
    controls.append(heading(_("History")))
    controls += [history_line(h) for h in reversed(vm.history)] or [note(_("No event yet."))]
    return controls


def open_move(vm: CaseViewModel, nav: Nav, redraw: Callable[[], None], kind: str | None = None) -> None:
    """The move dialog: what happened (allowed moves only), reason or outcome where needed, note, follow-up."""
    vm.start_move(kind)
    form = vm.form
    kind_dd, kind_row = dropdown(_("What happened"), vm.move_options(), form.kind, lambda e: on_kind(e))
    reason_dd, reason_row = dropdown(_("Reason"), vm.reason_options(), form.reason, lambda e: on_pick(e, "reason"))
    outcome_dd, outcome_row = dropdown(
        _("Outcome"), vm.outcome_options(), form.outcome, lambda e: on_pick(e, "outcome")
    )
    note_field = ft.TextField(label=_("Note"), multiline=True, min_lines=2, max_length=500, key="move-note")
    follow = ft.TextField(label=_("Follow-up date"), hint_text="YYYY-MM-DD", key="move-follow-up")

    def show() -> None:
        reason_row.visible = vm.needs_reason
        outcome_row.visible = vm.needs_outcome
        kind_dd.error_text = vm.form.errors.get("kind")
        reason_dd.error_text = vm.form.errors.get("reason")
        outcome_dd.error_text = vm.form.errors.get("outcome")
        note_field.error = vm.form.errors.get("note")
        follow.error = vm.form.errors.get("follow_up")

    def on_kind(e: Any) -> None:
        vm.set_move(kind=e.control.value)
        show()

    def on_pick(e: Any, name: str) -> None:
        vm.set_move(**{name: e.control.value})
        show()

    def save(e: Any) -> None:
        vm.set_move(note=note_field.value or "", follow_up=follow.value or "")
        if vm.submit_move():
            nav.close_dialog()
            redraw()
            nav.update()
        else:
            show()

    show()
    nav.show_dialog(
        ft.AlertDialog(
            modal=True,
            title=ft.Text(_("Update the referral")),
            content=ft.Column(
                [kind_row, reason_row, outcome_row, note_field, follow],
                tight=True,
                spacing=12,
                width=min(MAX_WIDTH, 480),
                horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            ),
            actions=[
                button(_("Cancel"), handler(nav.close_dialog), kind="text"),
                button(_("Save"), save, kind="filled"),
            ],
        )
    )
