"""Referral confirmation (consent read out, note, queue it), then the slip; and the slip on its own."""

from __future__ import annotations

from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.referral import NOTE_MAX, ReferralViewModel, SlipViewModel
from field_app.ui.views.common import Nav, button, error_text, handler, heading, note, screen


def slip_panel(slip: SlipViewModel, on_done: Any) -> list[ft.Control]:
    """The slip as the returnee will read it, "Send by SMS" and "Done"."""
    return [
        heading(_("Referral slip")),
        ft.Container(
            ft.Text(slip.text, selectable=True, size=15, key="slip"),
            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
            padding=12,
            border_radius=8,
        ),
        button(_("Send by SMS"), icon=ft.Icons.SMS, url=slip.sms_link, kind="tonal"),
        note(slip.sms_hint, size=13),
        button(_("Done"), on_done, icon=ft.Icons.DONE, big=True),
    ]


def referral_view(vm: ReferralViewModel, nav: Nav) -> ft.View:
    body = ft.Column(spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, key="referral")
    problem = error_text(vm.error)
    consent = ft.Checkbox(
        label=_("Yes, they agree"),
        value=vm.consent,
        on_change=lambda e: vm.set_consent(bool(e.control.value)),
        key="consent",
    )
    note_box = ft.TextField(
        label=_("Note for the partner (optional)"),
        multiline=True,
        min_lines=2,
        max_length=NOTE_MAX,
        on_change=lambda e: vm.set_note(e.control.value or ""),
        key="note",
    )

    def done() -> None:
        nav.go(routes.returnee(vm.returnee.id))

    def draw() -> None:
        if vm.slip is None:
            problem.value, problem.visible = vm.error, bool(vm.error)
            body.controls = [
                ft.Text(vm.summary, size=16),
                heading(_("Consent")),
                ft.Container(
                    ft.Text(vm.question, size=16, weight=ft.FontWeight.W_500),
                    bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
                    padding=12,
                    border_radius=8,
                ),
                consent,
                problem,
                note_box,
                button(_("Queue the referral"), on_queue, icon=ft.Icons.SEND, big=True),
            ]
        else:
            body.controls = [
                ft.Row(
                    [
                        ft.Icon(ft.Icons.SCHEDULE_SEND, color=ft.Colors.PRIMARY),
                        ft.Text(vm.queued_message, expand=True, size=15),
                    ]
                ),
                ft.Text(vm.summary, size=16),
                *slip_panel(vm.slip, handler(done)),
            ]

    def on_queue(e: Any) -> None:
        vm.submit()
        draw()

    draw()
    return screen(routes.refer(vm.returnee.id, vm.service_id), _("Refer"), [body])


def slip_view(vm: SlipViewModel, nav: Nav) -> ft.View:
    return screen(
        routes.referral(vm.referral_id), _("Referral {code}").format(code=vm.code), slip_panel(vm, handler(nav.back))
    )
