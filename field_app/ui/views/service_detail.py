"""A partner's service: offer, conditions for this returnee, costs, capacity, offices, contacts, "Refer"."""

from __future__ import annotations

import flet as ft

from field_app.directory.detail import ContactLine
from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.service_detail import ServiceDetailViewModel
from field_app.ui.views.common import Nav, button, handler, heading, note, screen, verdict_chip


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
            *[ft.Text(v, selectable=True) for v in (contact.phone, contact.email) if v],
            ft.Row(
                [button(text, icon=icon, url=url, kind="outlined") for text, icon, url in links if url],
                wrap=True,
                spacing=6,
                run_spacing=6,
            ),
        ],
        spacing=4,
    )


def service_detail_view(vm: ServiceDetailViewModel, nav: Nav) -> ft.View:
    controls: list[ft.Control] = [
        ft.Text(vm.title, size=22, weight=ft.FontWeight.W_600),
        note(f"{vm.organization} · {vm.pathway}"),
    ]
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
    controls += [ft.Text(t) for t in (vm.description, vm.duration) if t]
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
    controls += [ft.Text(c) for c in vm.costs]
    if vm.capacity:
        controls += [heading(_("Capacity")), ft.Text(vm.capacity)]
    controls.append(heading(_("Offices")))
    controls += [
        ft.Column([ft.Text(o.title, weight=ft.FontWeight.W_500), *([note(o.detail)] if o.detail else [])], spacing=0)
        for o in vm.offices
    ] or [note(_("No office listed: ask the contacts below."))]
    controls.append(heading(_("Contacts")))
    controls += [contact_card(c) for c in vm.contacts] or [note(_("No contact listed."))]
    controls += [ft.Divider(), note(vm.verified, size=13), note(vm.source, size=13)]
    return screen(routes.service(vm.service_id, vm.returnee.id if vm.returnee else None), _("Partner"), controls)
