"""Referral confirmation (a second open referral warned and confirmed, consent read out, note, queue it), then the
slip; and a referral's own page: its status (Cancel while queued), the one-SMS slip, the full slip.

Read-only values (the SMS, the full slip, the partner's number) are labelled text (`value_text`): a screen reader
hears "SMS in Bambara: Passerelle 5F0C…", not an empty disabled text box.
"""

from __future__ import annotations

from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.referral import NOTE_MAX, ReferralViewModel, SlipViewModel
from field_app.ui.views.common import (
    Nav,
    button,
    checkbox,
    error_text,
    handler,
    heading,
    note,
    screen,
    value_text,
)

WARNING_BG = ft.Colors.AMBER_100
WARNING_FG = ft.Colors.BROWN_900


def _boxed(control: ft.Control, bgcolor: str = ft.Colors.SURFACE_CONTAINER_HIGHEST) -> ft.Container:
    return ft.Container(control, bgcolor=bgcolor, padding=12, border_radius=8)


def _keyed(control: ft.Control, value: str, key: str) -> ft.Control:
    """`control` with `key` on the Text inside it that shows `value` (tests find the slip by its key)."""
    stack: list[object] = [control]
    while stack:
        node = stack.pop()
        if isinstance(node, ft.Text) and node.value == value:
            node.key = key
            break
        stack += [c for c in (getattr(node, "content", None), *(getattr(node, "controls", None) or [])) if c]
    return control


def slip_panel(slip: SlipViewModel, on_done: Any) -> list[ft.Control]:
    """The SMS (in the person's language, what it costs), "Send by SMS", what to read out; the full slip; "Done"."""
    if not slip.sendable:  # cancelled or closed: the slip is shown for the record, not offered for sending
        return [
            heading(_("Referral slip")),
            note(slip.closed_note, color=ft.Colors.ERROR),
            _boxed(_keyed(value_text(_("Full slip"), slip.text), slip.text, "slip")),
            button(_("Done"), on_done, icon=ft.Icons.DONE, big=True),
        ]
    parts: list[ft.Control] = [
        heading(_("Referral slip")),
        _boxed(_keyed(value_text(slip.sms_heading, slip.sms.text), slip.sms.text, "sms")),
        note(slip.sms_cost, size=13),
        button(_("Send by SMS"), icon=ft.Icons.SMS, url=slip.sms_link, kind="tonal"),
        note(slip.sms_hint, size=13),
    ]
    if slip.left_out:
        parts.append(note(slip.left_out, size=13))
    parts += [
        heading(_("Full slip, to read out or share")),
        _boxed(_keyed(value_text(_("Full slip"), slip.text), slip.text, "slip")),
        button(_("Send the full slip"), icon=ft.Icons.FORWARD_TO_INBOX, url=slip.full_sms_link, kind="outlined"),
        button(_("Done"), on_done, icon=ft.Icons.DONE, big=True),
    ]
    return parts


def referral_view(vm: ReferralViewModel, nav: Nav) -> ft.View:
    body = ft.Column(spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, key="referral")
    problem = error_text(vm.error)
    consent_target = checkbox(
        _("Yes, they agree"), vm.consent, lambda e: vm.set_consent(bool(e.control.value)), key="consent"
    )[1]
    again_target = checkbox(
        _("Refer again anyway"), vm.again, lambda e: vm.set_again(bool(e.control.value)), key="again"
    )[1]
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

    def warning() -> list[ft.Control]:
        """The open referral to this service, a way to open it, and the box to tick to refer again."""
        if vm.prior is None:
            return []
        prior = vm.prior
        return [
            _boxed(
                ft.Column(
                    [
                        ft.Row(
                            [
                                ft.Icon(ft.Icons.WARNING_AMBER, color=WARNING_FG),
                                ft.Text(vm.warning, color=WARNING_FG, size=15, expand=True, key="already"),
                            ],
                            vertical_alignment=ft.CrossAxisAlignment.START,
                        ),
                        button(
                            _("Open that referral"),
                            handler(lambda: nav.go(routes.referral(prior.id))),
                            icon=ft.Icons.OPEN_IN_NEW,
                            kind="text",
                        ),
                        again_target,
                    ],
                    spacing=4,
                    tight=True,
                ),
                WARNING_BG,
            )
        ]

    def draw() -> None:
        if vm.slip is None:
            problem.value, problem.visible = vm.error, bool(vm.error)
            body.controls = [
                ft.Text(vm.summary, size=16),
                *warning(),
                heading(_("Consent")),
                _boxed(ft.Text(vm.question, size=16, weight=ft.FontWeight.W_500)),
                consent_target,
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
    """A referral's page: who, where, its status and date (Cancel while queued), then the slip."""
    body = ft.Column(spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH, key="slip-page")
    message = note(vm.message, size=13)

    def confirm_cancel() -> None:
        def yes(e: Any) -> None:
            nav.close_dialog()
            vm.cancel()
            draw()
            nav.update()

        nav.show_dialog(
            ft.AlertDialog(
                modal=True,
                title=ft.Text(_("Cancel this referral?")),
                content=ft.Text(vm.cancel_question),
                actions=[
                    button(_("Keep it"), handler(nav.close_dialog), kind="text"),
                    button(_("Yes, cancel it"), yes, kind="filled"),
                ],
            )
        )

    def draw() -> None:
        message.value, message.visible = vm.message, bool(vm.message)
        top: list[ft.Control] = [
            value_text(_("Returnee"), vm.person),
            value_text(_("Partner"), f"{vm.partner} — {vm.service}"),
            ft.Row(
                [value_text(_("Status"), vm.status), value_text(_("Date"), vm.date)],
                wrap=True,
                spacing=24,
                key="status",
            ),
        ]
        if vm.can_cancel:
            top.append(
                ft.Row(
                    [button(_("Cancel referral"), handler(confirm_cancel), icon=ft.Icons.CLOSE, kind="text")],
                    alignment=ft.MainAxisAlignment.END,
                )
            )
        body.controls = [*top, message, *slip_panel(vm, handler(nav.back))]

    draw()
    return screen(routes.referral(vm.referral_id), _("Referral {code}").format(code=vm.code), [body])
