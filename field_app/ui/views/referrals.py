"""My referrals: a count, then each referral's status in words, date, person, partner; "Cancel" on queued ones
(confirmed); tap → the referral's page with its slip; "More" under the last line (50 at a time).

A cancel redraws its line in place from the database and sends the page's changes (closing the dialog sends only
the dialog), so the screen says "Cancelled" at once, without a reload.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.referrals import ReferralRow, ReferralsViewModel
from field_app.ui.views.common import Nav, button, handler, note, screen


def referrals_view(vm: ReferralsViewModel, nav: Nav) -> ft.View:
    rows = ft.Column(spacing=4, key="rows")
    count = note(vm.count_text, size=13)
    message = note(vm.message, size=13)

    def confirm_cancel(row: ReferralRow) -> None:
        def yes(e: Any) -> None:
            nav.close_dialog()
            vm.cancel(row.referral_id)
            redraw()
            nav.update()

        nav.show_dialog(
            ft.AlertDialog(
                modal=True,
                title=ft.Text(_("Cancel this referral?")),
                content=ft.Text(vm.cancel_question(row)),
                actions=[
                    button(_("Keep it"), handler(nav.close_dialog), kind="text"),
                    button(_("Yes, cancel it"), yes, kind="filled"),
                ],
            )
        )

    def tile(row: ReferralRow) -> ft.Control:
        status = ft.Row(
            [ft.Text(row.status, weight=ft.FontWeight.W_600, color=ft.Colors.PRIMARY), ft.Text(row.date, size=13)],
            wrap=True,
            spacing=8,
        )
        parts: list[ft.Control] = [
            ft.ListTile(
                title=ft.Text(row.person, weight=ft.FontWeight.W_600),
                subtitle=ft.Column([ft.Text(row.partner, size=13), status], spacing=2, tight=True),
                on_click=handler(lambda: nav.go(routes.referral(row.referral_id))),
                min_height=64,
                content_padding=ft.Padding.symmetric(horizontal=4),
                key=row.referral_id,
            )
        ]
        if row.can_cancel:
            parts.append(
                ft.Row(
                    [
                        button(
                            _("Cancel referral"), handler(lambda: confirm_cancel(row)), icon=ft.Icons.CLOSE, kind="text"
                        )
                    ],
                    alignment=ft.MainAxisAlignment.END,
                )
            )
        return ft.Column([*parts, ft.Divider(height=1)], spacing=0, key=f"line-{row.referral_id}")

    def more() -> None:
        vm.more()
        redraw()

    def redraw() -> None:
        items: list[ft.Control] = [tile(r) for r in vm.rows] or [note(vm.empty_text)]
        if vm.has_more:
            items.append(button(vm.more_text, handler(more), icon=ft.Icons.EXPAND_MORE, kind="outlined"))
        rows.controls = items
        count.value, count.visible = vm.count_text, bool(vm.rows)
        message.value, message.visible = vm.message, bool(vm.message)

    redraw()
    return screen(routes.referrals(vm.returnee_id), _("My referrals"), [count, message, rows])
