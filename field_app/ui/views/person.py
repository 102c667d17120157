"""A person's page: who they are (sex, age, region, when registered; the record as labelled text), "Refer"
(the partners near them) and "Edit", then their referrals, newest first (tap → the slip). Logic lives in
PersonViewModel."""

from __future__ import annotations

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.person import PersonViewModel, ReferralRow
from field_app.ui.views.common import Nav, button, handler, heading, note, screen, value_text


def person_view(vm: PersonViewModel, nav: Nav) -> ft.View:
    def referral(row: ReferralRow) -> ft.Control:
        status = ft.Row(
            [
                ft.Text(row.status, weight=ft.FontWeight.W_600, color=ft.Colors.PRIMARY),
                ft.Text(row.date, size=13),
                ft.Text(vm.code_text(row), size=13),
            ],
            wrap=True,
            spacing=8,
        )
        return ft.ListTile(
            leading=ft.Icon(ft.Icons.ASSIGNMENT),
            title=ft.Text(row.partner, size=14, weight=ft.FontWeight.W_600),
            subtitle=status,
            on_click=handler(lambda: nav.go(routes.referral(row.referral_id))),
            min_height=64,
            content_padding=ft.Padding.symmetric(horizontal=4),
            key=row.referral_id,
        )

    actions = ft.Row(
        [
            button(
                vm.refer_label,
                handler(lambda: nav.go(routes.returnee(vm.returnee_id))),
                icon=ft.Icons.SEND,
                big=True,
            ),
            button(
                _("Edit"),
                handler(lambda: nav.go(routes.edit_returnee(vm.returnee_id))),
                icon=ft.Icons.EDIT,
                kind="outlined",
                big=True,
            ),
        ],
        wrap=True,
        spacing=8,
        run_spacing=8,
    )
    controls: list[ft.Control] = [
        ft.Text(vm.name, size=22, weight=ft.FontWeight.W_600),  # not selectable: that reads as an empty text box
        note(vm.summary),
        actions,
        heading(vm.referrals_title),
        *[referral(r) for r in vm.referrals],
    ]
    if not vm.referrals:
        controls.append(note(vm.empty_referrals))
    if vm.see_all:
        controls.append(button(vm.see_all, handler(lambda: nav.go(routes.referrals(vm.returnee_id))), kind="text"))
    controls += [
        ft.Divider(),
        heading(_("Details")),
        *[value_text(name, value) for name, value in vm.lines],
    ]
    return screen(routes.person(vm.returnee_id), vm.name, controls)
