"""Sync on screen: the status panel on home, the sync screen (hub, refused changes, "Send again"), enrolment.

The panel and the sync screen are redrawn in place while a sync runs (`redraw()` updates their controls; the
composition root then updates the page), so the status line is current without rebuilding the screen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flet as ft

from field_app.errors import reason_of
from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.sync import (
    FAILED_PHASE,
    NOT_ENROLLED,
    OFFLINE,
    REFUSED,
    SYNCING,
    UP_TO_DATE,
    EnrolViewModel,
    SyncViewModel,
    no_answer_text,
)
from field_app.ui.views.common import (
    TOUCH,
    Nav,
    button,
    error_text,
    handler,
    heading,
    in_background,
    note,
    screen,
    send_page,
    value_text,
)

log = logging.getLogger(__name__)
ENROL_DEADLINE_S = 12.0  # the client gives up within 8 s (ENROL_TIMEOUT); the screen never waits unsaid past this

ICONS = {
    NOT_ENROLLED: (ft.Icons.CLOUD_OFF, ft.Colors.ON_SURFACE_VARIANT),
    SYNCING: (ft.Icons.SYNC, ft.Colors.PRIMARY),
    UP_TO_DATE: (ft.Icons.CLOUD_DONE, ft.Colors.GREEN_800),
    OFFLINE: (ft.Icons.CLOUD_OFF, ft.Colors.BROWN_700),
    FAILED_PHASE: (ft.Icons.ERROR_OUTLINE, ft.Colors.ERROR),
    REFUSED: (ft.Icons.BLOCK, ft.Colors.ERROR),
}


@dataclass
class SyncPanel:
    """The status line: icon AND words, what waits, the last sync, a progress bar while syncing, "Sync now"."""

    control: ft.Control
    redraw: Callable[[], None]


def sync_panel(vm: SyncViewModel, nav: Nav, sync_now: Callable[[], None], *, details: bool = True) -> SyncPanel:
    icon = ft.Icon(ft.Icons.SYNC)
    status = ft.Text(weight=ft.FontWeight.W_600, size=15, key="sync-status")
    pending = ft.Text(size=14, key="sync-pending")
    last = ft.Text(size=13, color=ft.Colors.ON_SURFACE_VARIANT, key="sync-last")
    refused = ft.Text(size=13, color=ft.Colors.ERROR, key="sync-refused")
    bar = ft.ProgressBar(semantics_label=_("Sync progress"), key="sync-progress")

    def on_sync_now(e: Any) -> None:
        vm.syncing = True  # shown at once; the sync's own events follow
        redraw()
        sync_now()

    now_button = button(_("Sync now"), on_sync_now, icon=ft.Icons.SYNC, kind="tonal")
    enrol_button = button(
        _("Connect to the hub"), handler(lambda: nav.go(routes.ENROL)), icon=ft.Icons.LINK, kind="outlined"
    )
    details_button = button(_("Sync details"), handler(lambda: nav.go(routes.SYNC)), kind="text")
    actions = ft.Row([now_button, enrol_button, *([details_button] if details else [])], wrap=True, spacing=8)

    def redraw() -> None:
        phase = vm.phase
        icon.icon, icon.color = ICONS.get(phase, (ft.Icons.SYNC, ft.Colors.PRIMARY))
        status.value = vm.status_text
        pending.value = vm.pending_text
        last.value = vm.last_sync_text
        last.visible = vm.enrolled
        refused.value, refused.visible = vm.refused_text, bool(vm.refused)
        bar.visible = vm.syncing
        bar.value = vm.progress  # None: indeterminate (pulling, or nothing to send)
        now_button.visible = vm.enrolled
        now_button.disabled = not vm.can_sync
        enrol_button.visible = not vm.enrolled

    redraw()
    body = ft.Column(
        [ft.Row([icon, ft.Container(status, expand=True)]), pending, last, refused, bar, actions],
        spacing=6,
        tight=True,
    )
    card = ft.Container(
        content=body,
        padding=12,
        border_radius=12,
        bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
        key="sync",
    )
    return SyncPanel(card, redraw)  # no Semantics label around it: it would merge the lines into one


def sync_view(vm: SyncViewModel, nav: Nav, sync_now: Callable[[], None]) -> tuple[ft.View, Callable[[], None]]:
    """The sync screen: the status panel, the hub, why the last sync failed, refused changes with "Send again"."""
    panel = sync_panel(vm, nav, sync_now, details=False)
    hub = ft.Column(spacing=2, key="hub")
    error = note("", color=ft.Colors.ERROR, size=13)
    message = note("", size=13)
    rows = ft.Column(spacing=4, key="refused")

    def retry(seq: int) -> None:
        vm.retry(seq)
        redraw()
        sync_now()

    def row(item: Any) -> ft.Control:
        parts: list[ft.Control] = [
            ft.Text(item.what, weight=ft.FontWeight.W_600),
            ft.Text(item.why, size=13, color=ft.Colors.ERROR),
        ]
        actions: list[ft.Control] = []
        if item.returnee_id:
            rid = item.returnee_id
            actions.append(button(_("Fix the record"), handler(lambda: nav.go(routes.edit_returnee(rid))), kind="text"))
        actions.append(button(_("Send again"), handler(lambda: retry(item.seq)), icon=ft.Icons.REPLAY, kind="outlined"))
        parts.append(ft.Row(actions, wrap=True, alignment=ft.MainAxisAlignment.END))
        return ft.Column([*parts, ft.Divider(height=1)], spacing=4, key=f"refused-{item.seq}")

    def redraw() -> None:
        panel.redraw()
        hub.controls = [value_text(k, v) for k, v in vm.hub_lines]
        error.value, error.visible = vm.error_text, bool(vm.error_text)
        message.value, message.visible = vm.message, bool(vm.message)
        rows.controls = [row(r) for r in vm.refused] or [note(_("No change was refused by the hub."))]

    redraw()
    again = button(
        _("Connect to another hub") if vm.enrolled else _("Connect to the hub"),
        handler(lambda: nav.go(routes.ENROL)),
        icon=ft.Icons.LINK,
        kind="text",
    )
    controls: list[ft.Control] = [
        panel.control,
        error,
        message,
        hub,
        heading(_("Changes refused by the hub")),
        note(_("Fix the record, then send it again. The rest of the queue is not held up."), size=13),
        rows,
        again,
    ]
    return screen(routes.SYNC, _("Sync"), controls), redraw


def enrol_view(vm: EnrolViewModel, nav: Nav, on_enrolled: Callable[[], None]) -> ft.View:
    """Enrol this phone: the hub's address and the one-time code given by the hub's operator."""
    url = ft.TextField(
        label=_("Hub address"),
        value=vm.hub_url,
        hint_text="http://192.168.1.10:8700",
        keyboard_type=ft.KeyboardType.URL,
        error_max_lines=4,
        on_change=lambda e: setattr(vm, "hub_url", e.control.value or ""),
        key="hub_url",
    )
    code = ft.TextField(
        label=_("Enrolment code"),
        value=vm.code,
        capitalization=ft.TextCapitalization.CHARACTERS,
        error_max_lines=4,
        on_change=lambda e: setattr(vm, "code", e.control.value or ""),
        key="code",
    )
    message = note("", color=ft.Colors.GREEN_800)
    problem_text = error_text("")
    problem = ft.Semantics(live_region=True, content=problem_text, visible=False)  # read out when it appears
    busy = ft.ProgressBar(visible=False, semantics_label=_("Connecting"), key="busy")
    waiting = {"now": False}  # one enrolment at a time, even after the "no answer yet" message

    def show() -> None:
        url.error = vm.errors.get("hub_url")
        code.error = vm.errors.get("code")
        code.value = vm.code
        message.value, message.visible = vm.message, bool(vm.message)
        problem_text.value, problem_text.visible = vm.problem, True
        problem.visible = bool(vm.problem)
        busy.visible = vm.busy

    def slow() -> None:
        vm.busy = False
        vm.problem = no_answer_text(ENROL_DEADLINE_S)

    async def submit(e: Any) -> None:
        if waiting["now"]:
            return
        vm.hub_url, vm.code = url.value or "", code.value or ""
        if not vm.check():
            show()
            return
        vm.busy, vm.problem, waiting["now"] = True, "", True
        try:
            ok = await in_background(e, vm.submit, show, deadline_s=ENROL_DEADLINE_S, on_slow=slow)
        except Exception as exc:  # a bug: say so on screen rather than spin
            log.exception("enrolment failed")
            vm.busy, ok = False, False
            vm.problem = _("Something went wrong: {reason}").format(reason=reason_of(exc))
            show()
            send_page(e)
        finally:
            waiting["now"] = False
        if ok:
            on_enrolled()
            nav.go(routes.HOME)

    show()
    controls: list[ft.Control] = [
        note(_("Ask the hub's operator for a one-time code.")),
        note(
            _("This phone then sends what it has queued to the hub, and receives status changes and directory updates.")
        ),
        url,
        code,
        busy,
        problem,
        message,
        button(_("Connect this phone"), submit, icon=ft.Icons.LINK, big=True),
    ]
    return screen(routes.ENROL, _("Connect to the hub"), controls)


def sync_badge(vm: SyncViewModel, nav: Nav) -> tuple[ft.Control, Callable[[], None]]:
    """The sync state in every other screen's app bar: an icon with the count waiting, named by the status in
    words (for screen readers), opening the sync screen. Returns the control and its redraw."""
    icon = ft.Icon(ft.Icons.SYNC, size=22)
    count = ft.Text(size=13, weight=ft.FontWeight.W_600)
    box = ft.Container(
        content=ft.Row([icon, count], spacing=2, tight=True),
        padding=ft.Padding.symmetric(horizontal=12),
        height=TOUCH,  # a 48 px target (the padding alone made 46: a 22 px icon)
        alignment=ft.Alignment.CENTER,
        on_click=handler(lambda: nav.go(routes.SYNC)),
        border_radius=24,
    )
    badge = ft.Semantics(label="", button=True, content=box)

    def redraw() -> None:
        icon.icon, icon.color = ICONS.get(vm.phase, (ft.Icons.SYNC, ft.Colors.PRIMARY))
        count.value = str(vm.pending) if vm.pending else ""
        badge.label = f"{vm.status_text}. {vm.pending_text}"

    redraw()
    return badge, redraw


def sync_screen(ctx: routes.Context, vm: SyncViewModel) -> ft.View:
    view, redraw = sync_view(vm, ctx.nav, ctx.sync_now)
    ctx.on_redraw(redraw)
    return view
