"""A partner's service: offer, conditions for this returnee, costs, capacity, offices, contacts, "Refer".

What stops a referral today (ended on its date, not open, full) and how old the facts are come first, before the
Refer button; what the source warns of ("Good to know") and whether the partner has worked with returnees follow
the costs."""

from __future__ import annotations

import flet as ft

from field_app.directory.detail import ContactLine
from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.service_detail import ServiceDetailViewModel
from field_app.ui.views.common import Nav, button, handler, heading, note, screen, value_text, verdict_chip


def contact_card(contact: ContactLine) -> ft.Control:
    """Who, their number or e-mail, and a button for each way to reach them (the phone opens the app)."""
    links = [
        (_("Call"), ft.Icons.CALL, contact.tel),
        (_("SMS"), ft.Icons.SMS, contact.sms),
        ("WhatsApp", ft.Icons.CHAT, contact.whatsapp),
        (_("E-mail"), ft.Icons.EMAIL, contact.mailto),
    ]
    return ft.Column(
        [
            ft.Text(contact.who, weight=ft.FontWeight.W_600),
            *[value_text(name, v) for name, v in ((_("Phone"), contact.phone), (_("E-mail"), contact.email)) if v],
            ft.Row(
                [button(text, icon=icon, url=url, kind="outlined") for text, icon, url in links if url],
                wrap=True,
                spacing=6,
                run_spacing=6,
            ),
        ],
        spacing=4,
    )


def banner(text: str, icon: ft.IconData, *, bg: str, fg: str) -> ft.Control:
    """A sentence that matters before anything else, with an icon and words (never colour alone)."""
    return ft.Container(
        content=ft.Row(
            [ft.Icon(icon, color=fg, size=20), ft.Text(text, color=fg, weight=ft.FontWeight.W_500, expand=True)],
            spacing=8,
            vertical_alignment=ft.CrossAxisAlignment.START,
        ),
        bgcolor=bg,
        border_radius=8,
        padding=ft.Padding.symmetric(horizontal=10, vertical=8),
    )


def service_detail_view(vm: ServiceDetailViewModel, nav: Nav) -> ft.View:
    controls: list[ft.Control] = [
        ft.Text(vm.title, size=22, weight=ft.FontWeight.W_600),
        note(f"{vm.organization} · {vm.pathway}"),
    ]
    if vm.status_banner:
        controls.append(banner(vm.status_banner, ft.Icons.EVENT_BUSY, bg=ft.Colors.RED_50, fg=ft.Colors.RED_900))
    if vm.freshness:
        controls.append(banner(vm.freshness, ft.Icons.HISTORY, bg=ft.Colors.AMBER_50, fg=ft.Colors.BROWN_900))
    if vm.inferred:
        controls.append(banner(vm.inferred, ft.Icons.INFO_OUTLINE, bg=ft.Colors.BLUE_50, fg=ft.Colors.BLUE_900))
    verdict = vm.verdict()
    if vm.can_refer and vm.returnee is not None:
        refer_route = routes.refer(vm.returnee.id, vm.service_id)
        controls.append(
            button(
                _("Refer {name}").format(name=vm.returnee.full_name),
                handler(lambda: nav.go(refer_route)),
                icon=ft.Icons.SEND,
                big=True,
            )
        )
    controls.append(heading(_("What they offer")))
    controls += [ft.Text(t) for t in (vm.description, vm.duration, vm.period, vm.target_groups) if t]
    controls.append(heading(_("Conditions")))
    if verdict is not None and vm.returnee is not None:
        status, words, reasons = verdict
        controls.append(
            ft.Row(
                [verdict_chip(status, words), note(_("for {name}").format(name=vm.returnee.full_name))],
                wrap=True,
            )
        )
        controls += [ft.Text("• " + r) for r in reasons]
    controls += [ft.Text(line) for line in vm.documents]
    if vm.conditions_text:
        controls.append(note(_("The source says: “{text}”").format(text=vm.conditions_text)))
    controls.append(heading(_("Costs")))
    if vm.fee_summary:
        controls.append(ft.Text(vm.fee_summary, weight=ft.FontWeight.W_600))
    controls += [ft.Text(c) for c in vm.costs]
    if vm.caveats:
        controls.append(heading(_("Good to know")))
        controls += [ft.Text("• " + c) for c in vm.caveats]
    controls.append(heading(_("Returning migrants")))
    served, quote = vm.serves_returnees
    controls.append(ft.Text(served))
    if quote:
        controls.append(note(_("The source says: “{text}”").format(text=quote)))
    if vm.capacity:
        controls += [heading(_("Capacity")), ft.Text(vm.capacity)]
    controls.append(heading(_("Offices")))
    controls += [
        ft.Column([ft.Text(o.title, weight=ft.FontWeight.W_500), *([note(o.detail)] if o.detail else [])], spacing=0)
        for o in vm.offices
    ] or [note(_("No office listed: ask the contacts below."))]
    controls.append(heading(_("Contacts")))
    controls += [contact_card(c) for c in vm.contacts] or [note(_("No contact listed."))]
    controls.append(ft.Divider())
    if vm.inferred_from:
        controls.append(note(vm.inferred_from, size=13))
    controls += [note(vm.verified, size=13), note(vm.source, size=13)]
    return screen(routes.service(vm.service_id, vm.returnee.id if vm.returnee else None), _("Partner"), controls)
