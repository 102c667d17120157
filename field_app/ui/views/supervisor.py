"""The supervisor's screens: overview (charts with their numbers in words too, funnel per partner, overdue,
conflicts), devices (revoke with confirmation), exports, the directory audit log (revert), the access log."""

from __future__ import annotations

from functools import partial
from typing import Any

import flet as ft
import flet_charts as fch

from field_app.i18n import _, labelled
from field_app.ui import routes
from field_app.ui.viewmodels.supervisor import (
    FUNNEL,
    AccessViewModel,
    AuditViewModel,
    DeviceRow,
    DevicesViewModel,
    ExportsViewModel,
    OverviewViewModel,
    funnel_word,
)
from field_app.ui.views.common import button, dropdown, error_text, handler, heading, note, screen
from field_app.ui.views.office import inbox_tile

CHART_H = 220
COLOURS = (ft.Colors.BLUE_700, ft.Colors.TEAL_700, ft.Colors.AMBER_800, ft.Colors.GREEN_700, ft.Colors.PURPLE_700)


def bar_chart(title: str, data: list[tuple[str, int]], *, key: str, colour: str = ft.Colors.BLUE_700) -> ft.Control:
    """A bar chart, labelled for screen readers with every figure (the canvas alone says nothing)."""
    if not any(n for _l, n in data):
        return ft.Column([heading(title), note(_("Nothing to show yet."))], key=key)
    top = max(n for _l, n in data) or 1
    chart = fch.BarChart(
        groups=[
            fch.BarChartGroup(
                x=i,
                rods=[
                    fch.BarChartRod(from_y=0, to_y=n, width=22, color=colour, border_radius=3, tooltip=labelled(lbl, n))
                ],
            )
            for i, (lbl, n) in enumerate(data)
        ],
        bottom_axis=fch.ChartAxis(
            labels=[fch.ChartAxisLabel(value=i, label=ft.Text(lbl[:10], size=11)) for i, (lbl, _n) in enumerate(data)],
            label_size=28,
        ),
        left_axis=fch.ChartAxis(label_size=32, title_size=0, label_spacing=max(1, top // 4)),  # whole referrals
        horizontal_grid_lines=fch.ChartGridLines(interval=max(1, top // 4), color=ft.Colors.OUTLINE_VARIANT, width=1),
        max_y=top + max(1, top // 5),
        interactive=True,
        height=CHART_H,
        expand=True,
    )
    words = ", ".join(labelled(lbl, n) for lbl, n in data)
    return ft.Column(
        [
            heading(title),
            ft.Semantics(label=f"{title}. {words}", content=ft.Container(chart, height=CHART_H)),
            note(words, size=12),
        ],
        spacing=6,
        key=key,
    )


def table(columns: list[str], rows: list[list[str]], *, key: str) -> ft.Control:
    return ft.Row(
        [
            ft.DataTable(
                columns=[ft.DataColumn(label=ft.Text(c, weight=ft.FontWeight.W_600, size=13)) for c in columns],
                rows=[ft.DataRow(cells=[ft.DataCell(ft.Text(v, size=13)) for v in r]) for r in rows],
                column_spacing=18,
                data_row_min_height=44,
                key=key,
            )
        ],
        scroll=ft.ScrollMode.AUTO,
    )


def overview_screen(ctx: routes.Context, vm: OverviewViewModel) -> ft.View:
    nav = ctx.nav
    charts: list[ft.Control] = [
        bar_chart(_("Referrals per region"), vm.by_region(), key="chart-region", colour=COLOURS[0]),
        bar_chart(_("Referrals per month"), vm.by_month(), key="chart-month", colour=COLOURS[1]),
        bar_chart(
            _("Funnel: referred, accepted, enrolled, completed"), vm.funnel(), key="chart-funnel", colour=COLOURS[3]
        ),
    ]
    chart_area: ft.Control = (
        ft.ResponsiveRow([ft.Container(c, col={"md": 6, "xl": 4}) for c in charts], run_spacing=16)
        if ctx.wide
        else ft.Column(charts, spacing=16)
    )
    partners = vm.partners()
    controls: list[ft.Control] = [
        ft.Text(vm.summary, size=16, weight=ft.FontWeight.W_600, key="summary"),
        chart_area,
        heading(_("By status")),
        note(" · ".join(labelled(k, n) for k, n in vm.by_status()) or _("No referral yet."), size=13),
        heading(_("Per partner")),
        note(
            _(
                "Placement measured here: completed with a job or self-employment, out of those completed. "
                "The 2022 figure is the partner's own insertion rate quoted in the 2022 report."
            ),
            size=12,
        ),
        table(
            [
                _("Partner"),
                *(funnel_word(step) for step in FUNNEL),
                _("Completion"),
                _("Placement (measured)"),
                _("Insertion rate (2022 report)"),
            ],
            [
                [
                    p.organization,
                    str(p.referred),
                    str(p.accepted),
                    str(p.enrolled),
                    str(p.completed),
                    p.completion,
                    p.placement,
                    p.quoted,
                ]
                for p in partners
            ],
            key="partners",
        )
        if partners
        else note(_("No referral yet.")),
        heading(_("Overdue")),
        *(
            [inbox_tile(r, partial(nav.go, routes.case(r.referral_id))) for r in vm.overdue()]
            or [note(_("Nothing overdue."))]
        ),
        heading(_("Conflicts")),
        *(
            [inbox_tile(r, partial(nav.go, routes.case(r.referral_id))) for r in vm.conflicts()]
            or [note(_("No conflict."))]
        ),
    ]
    view = screen(routes.OVERVIEW, _("Pipeline and outcomes"), controls)
    if ctx.wide:
        view.controls[0].width = None  # type: ignore[attr-defined]  # use the desktop's width for the charts
    return view


def device_card(row: DeviceRow, on_revoke: Any) -> ft.Control:
    facts = [
        f"{row.role} · {row.region}",
        _("Last sync: {when}").format(when=row.last_sync),
        _("Waiting: {pending} · refused: {quarantined} · version {version}").format(
            pending=row.pending, quarantined=row.quarantined, version=row.version
        ),
    ]
    parts: list[ft.Control] = [
        ft.Text(row.title, weight=ft.FontWeight.W_600),
        *[note(f, size=13) for f in facts],
        note(row.device_id, size=11),
    ]
    if row.revoked:
        parts.append(ft.Text(row.revoked, color=ft.Colors.ERROR, weight=ft.FontWeight.W_600, size=13))
    if row.can_revoke:
        parts.append(
            ft.Row(
                [button(_("Revoke"), handler(on_revoke), icon=ft.Icons.BLOCK, kind="text")],
                alignment=ft.MainAxisAlignment.END,
            )
        )
    return ft.Column([*parts, ft.Divider(height=1)], spacing=2, key=row.device_id)


def devices_screen(ctx: routes.Context, vm: DevicesViewModel) -> ft.View:
    nav = ctx.nav
    body = ft.Column(spacing=8, key="devices")

    def confirm(row: DeviceRow) -> None:
        def yes(e: Any) -> None:
            nav.close_dialog()
            vm.revoke(row.device_id)
            redraw()
            nav.update()

        nav.show_dialog(
            ft.AlertDialog(
                modal=True,
                title=ft.Text(_("Revoke this device?")),
                content=ft.Text(vm.revoke_question(row)),
                actions=[
                    button(_("Keep it"), handler(nav.close_dialog), kind="text"),
                    button(_("Yes, revoke it"), yes, kind="filled"),
                ],
            )
        )

    def redraw() -> None:
        head: list[ft.Control] = [note(vm.status_text, size=13)]
        if vm.message:
            head.append(note(vm.message, color=ft.Colors.PRIMARY, size=13))
        if ctx.wide and vm.rows:
            head.append(
                table(
                    [
                        _("Device"),
                        _("Role"),
                        _("Region"),
                        _("Last sync"),
                        _("Waiting"),
                        _("Refused"),
                        _("Version"),
                        _("Revoked"),
                    ],
                    [
                        [r.title, r.role, r.region, r.last_sync, r.pending, r.quarantined, r.version, r.revoked or "—"]
                        for r in vm.rows
                    ],
                    key="devices-table",
                )
            )
            head.append(heading(_("Revoke a device")))
        body.controls = head + [device_card(r, partial(confirm, r)) for r in vm.rows]

    redraw()
    view = screen(routes.DEVICES, _("Devices"), [body])
    if ctx.wide:
        view.controls[0].width = None  # type: ignore[attr-defined]
    return view


def exports_screen(ctx: routes.Context, vm: ExportsViewModel) -> ft.View:
    message = ft.Text("", key="export-message", visible=False)
    error = error_text("")

    def on(name: str) -> Any:
        def on_select(e: Any) -> None:
            value = e.control.value
            setattr(vm, name, None if value == "-" else value)

        return on_select

    def run() -> None:
        vm.export()
        message.value, message.visible = vm.message, bool(vm.message)
        error.value, error.visible = vm.error, bool(vm.error)

    _w, what = dropdown(_("What"), vm.what_options(), vm.what, on("what"))
    _f, fmt = dropdown(_("Format"), vm.format_options(), vm.fmt, on("fmt"))
    _s, status = dropdown(_("Status (referrals)"), vm.status_options(), "-", on("status"))
    controls: list[ft.Control] = [
        note(_("Files go to the exports folder of this device's data directory: {folder}").format(folder=vm.folder)),
        note(
            _(
                "Names and phones appear only where the person consented to share; each export with names is "
                "recorded in the access log."
            ),
            size=13,
        ),
        what,
        fmt,
        status,
        button(_("Export"), handler(run), icon=ft.Icons.DOWNLOAD),
        message,
        error,
    ]
    return screen(routes.EXPORTS, _("Exports"), controls)


def audit_screen(ctx: routes.Context, vm: AuditViewModel) -> ft.View:
    nav = ctx.nav
    body = ft.Column(spacing=4, key="audit")

    def revert(audit_id: str) -> None:
        def yes(e: Any) -> None:
            nav.close_dialog()
            vm.revert(audit_id)
            redraw()
            nav.update()

        nav.show_dialog(
            ft.AlertDialog(
                modal=True,
                title=ft.Text(_("Revert this edit?")),
                content=ft.Text(_("The field goes back to its value before the edit, on every device.")),
                actions=[
                    button(_("Keep it"), handler(nav.close_dialog), kind="text"),
                    button(_("Yes, revert it"), yes, kind="filled"),
                ],
            )
        )

    def redraw() -> None:
        items: list[ft.Control] = [
            button(_("Access log"), handler(lambda: nav.go(routes.ACCESS)), icon=ft.Icons.VISIBILITY, kind="outlined"),
            note(vm.status_text, size=13),
        ]
        if vm.message:
            items.append(note(vm.message, color=ft.Colors.PRIMARY, size=13))
        for r in vm.rows:
            parts: list[ft.Control] = [
                ft.Text(r.title, weight=ft.FontWeight.W_600),
                ft.Text(r.change, size=13),
                note(r.who, size=12),
            ]
            if r.note:
                parts.append(note(_("Note: {note}").format(note=r.note), size=12))
            if r.reverted:
                parts.append(ft.Text(_("Reverted"), color=ft.Colors.ERROR, size=13))
            if r.can_revert:
                parts.append(
                    ft.Row(
                        [button(_("Revert"), handler(partial(revert, r.audit_id)), icon=ft.Icons.UNDO, kind="text")],
                        alignment=ft.MainAxisAlignment.END,
                    )
                )
            items.append(ft.Column([*parts, ft.Divider(height=1)], spacing=2, key=r.audit_id))
        body.controls = items

    redraw()
    return screen(routes.AUDIT, _("Directory audit log"), [body])


def access_screen(ctx: routes.Context, vm: AccessViewModel) -> ft.View:
    rows: list[ft.Control] = [note(vm.status_text, size=13)]
    rows += [
        ft.Column([ft.Text(r.what, size=13), note(f"{r.when} · {r.who}", size=12), ft.Divider(height=1)], spacing=2)
        for r in vm.rows
    ]
    return screen(routes.ACCESS, _("Access log"), rows)
