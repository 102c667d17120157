"""Building blocks every screen shares: navigation hooks, the screen frame, buttons, labelled dropdowns, chips,
radios, switches, checkboxes, read-only values and the back arrow.

Phone first: one scrollable column, full width on a phone, capped at `MAX_WIDTH` on a desktop. Every touch target
is at least `TOUCH` (48) px: in a browser Flutter lays checkboxes, radios, switches and icon buttons out at 40 px
(the desktop "shrink-wrap" tap size), so the helpers here give each one a 48 px box, and `tests/e2e/test_web_a11y.py`
measures the result in Chromium. Every control has an accessible name (Dropdowns get an `ft.Semantics` label, icon
buttons a labelled icon). A read-only value is labelled text (`value_text`), never a disabled text field: a
screen reader reads a disabled field, and Flutter's selectable text, as an empty disabled text box.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import flet as ft

from field_app.domain.eligibility import Status
from field_app.i18n import _, labelled
from field_app.ui.viewmodels.common import Option

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_WIDTH = 720
TOUCH = 48
BIG = 56


@dataclass
class Nav:
    """What a screen may ask of the app: go to a route, go back, show or close a dialog (tests pass lists), and
    send the page's changes now (`update`: closing a dialog updates only the dialog, so a handler that closes one
    and then changes the screen calls it)."""

    go: Callable[[str], None]
    back: Callable[[], None]
    show_dialog: Callable[[ft.DialogControl], None]
    close_dialog: Callable[[], None]
    update: Callable[[], None] = lambda: None


def _go_back(e: Any) -> None:
    """The back arrow's default: open the screen underneath (as the page's own "view pop" does)."""
    page = e.control.page
    if len(page.views) > 1:
        page.navigate(page.views[-2].route or "/")


@ft.control
class BackArrow(ft.IconButton):
    """The app bar's back arrow, shown only when a screen lies underneath (decided as the page sends it, when the
    screen's place in `page.views` is known; the router builds screens before placing them)."""

    def before_update(self) -> None:
        super().before_update()  # type: ignore[no-untyped-call]
        node = self.parent
        while node is not None and not isinstance(node, ft.View):
            node = node.parent
        holder = node.parent if node is not None else None
        views = list(getattr(holder, "views", None) or [])
        self.visible = node in views and views.index(node) > 0


def back_button(on_click: Callable[[Any], Any] | None = None) -> ft.Control:
    """A 48×48 back arrow named "Back" in the reader's language (label and tooltip); Flutter's own arrow is 40×40
    in a browser and says "Back" in English. Without `on_click` it opens the screen underneath."""
    word = _("Back")
    return BackArrow(
        icon=ft.Icon(ft.Icons.ARROW_BACK, semantics_label=word),
        tooltip=word,
        width=TOUCH,
        height=TOUCH,
        on_click=on_click or _go_back,
        key="back",
    )


def screen(route: str, title: str, controls: Sequence[ft.Control], actions: list[ft.Control] | None = None) -> ft.View:
    """A screen: app bar (the back arrow appears when a screen lies underneath), then the content, scrollable."""
    body = ft.Column(
        list(controls),
        spacing=12,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        key="body",
    )
    return ft.View(
        route=route,
        appbar=ft.AppBar(
            leading=back_button(),
            automatically_imply_leading=False,
            title=ft.Text(title, overflow=ft.TextOverflow.ELLIPSIS),
            bgcolor=ft.Colors.PRIMARY_CONTAINER,
            actions=actions,
        ),
        controls=[ft.Container(content=body, width=MAX_WIDTH, padding=ft.Padding.only(top=8, bottom=24))],
        scroll=ft.ScrollMode.AUTO,
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        padding=12,
    )


def body_of(view: ft.View) -> list[ft.Control]:
    """The controls of a screen built by `screen` (tests look inside it)."""
    container = view.controls[0]
    assert isinstance(container, ft.Container) and isinstance(container.content, ft.Column)
    return container.content.controls


def handler(fn: Callable[[], Any]) -> Callable[[Any], None]:
    """An event handler that ignores its event."""

    def on_event(e: Any) -> None:
        fn()

    return on_event


def send_page(e: Any) -> None:
    """Send the page's changes now, from a handler (nothing when built off-page, as in tests)."""
    control = getattr(e, "control", None)
    try:
        page = control.page if control is not None else None
    except RuntimeError:  # not on a page
        page = None
    if page is not None:
        page.update()


async def in_background(
    e: Any,
    work: Callable[[], T],
    show: Callable[[], None],
    *,
    deadline_s: float | None = None,
    on_slow: Callable[[], None] | None = None,
) -> T:
    """Run `work` (a network call) in a worker thread from an async handler, the screen live all along: `show()`
    then send the page (the busy state appears), and again when `work` has returned or raised (its outcome
    appears). If `work` is still running after `deadline_s`, `on_slow()` and `show()` say so on screen, and the
    outcome still replaces that message when it comes.

    The page must be sent by hand after the wait: Flet sends it by itself after a handler only when the handler
    did not call `page.update()`, and showing the busy state does call it. (Forgetting this is what left the
    enrolment spinner running for ever with the error already known.)"""
    show()
    send_page(e)
    job = asyncio.ensure_future(asyncio.to_thread(work))
    try:
        if deadline_s is not None:
            done, _pending = await asyncio.wait({job}, timeout=deadline_s)
            if not done and on_slow is not None:
                on_slow()
                show()
                send_page(e)
        return await job
    finally:
        show()
        send_page(e)


def button(
    text: str,
    on_click: Callable[[Any], Any] | None = None,
    *,
    icon: ft.IconData | None = None,
    kind: str = "filled",
    url: str | None = None,
    big: bool = False,
) -> ft.Control:
    """A labelled button at least 48 px high ("filled", "tonal", "outlined" or "text")."""
    cls = {
        "filled": ft.FilledButton,
        "tonal": ft.FilledTonalButton,
        "outlined": ft.OutlinedButton,
        "text": ft.TextButton,
    }[kind]
    made: ft.Control = cls(text, icon=icon, on_click=on_click, url=url, height=BIG if big else TOUCH)
    return made


def heading(text: str) -> ft.Control:
    return ft.Semantics(
        header=True, content=ft.Text(text, size=17, weight=ft.FontWeight.W_600, color=ft.Colors.PRIMARY)
    )


def note(text: str, *, color: str | None = None, size: int = 14) -> ft.Text:
    return ft.Text(text, size=size, color=color or ft.Colors.ON_SURFACE_VARIANT)


def error_text(text: str) -> ft.Text:
    return ft.Text(text, size=13, color=ft.Colors.ERROR, visible=bool(text))


def value_text(label: str, value: str) -> ft.Control:
    """A read-only value as labelled text: the label small above the value, which can be selected and copied.
    A screen reader hears one node, "label: value" (the selectable text alone would read as an empty disabled
    text box, as a disabled TextField does)."""
    return ft.Semantics(
        label=labelled(label, value),
        container=True,
        exclude_semantics=True,
        content=ft.Column(
            [
                ft.Text(label, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
                ft.Text(value, size=16, selectable=True),
            ],
            spacing=0,
            tight=True,
        ),
    )


def touch(control: ft.Control) -> ft.Container:
    """`control` in a box `TOUCH` px high: its accessible node and tap area grow to 48 px (Flutter gives
    checkboxes, radios and switches 40 px, chips 38-46 px, in a browser)."""
    return ft.Container(content=control, height=TOUCH, alignment=None)


def checkbox(
    label: str | ft.Control, value: bool, on_change: Callable[[Any], Any] | None, *, key: str | None = None
) -> tuple[ft.Checkbox, ft.Control]:
    """A labelled checkbox and its 48 px target (put the second on screen, read the first)."""
    box = ft.Checkbox(label=label, value=value, on_change=on_change, key=key)
    return box, touch(box)


def switch(
    label: str, value: bool, on_change: Callable[[Any], Any] | None, *, key: str | None = None
) -> tuple[ft.Switch, ft.Control]:
    """A labelled switch and its 48 px target (put the second on screen, read the first)."""
    sw = ft.Switch(label=label, value=value, on_change=on_change, key=key)
    return sw, touch(sw)


def radio_group(
    options: Sequence[Option],
    value: str | None,
    on_change: Callable[[Any], Any] | None,
    *,
    key: str | None = None,
    label: str | None = None,
) -> ft.RadioGroup:
    """Radios, each a 48 px target: two side by side, more one under the other (a labelled radio fills its line
    in Flutter, and three do not fit beside each other on a phone); `label` names the group for a screen reader."""
    radios: list[ft.Container] = [touch(ft.Radio(value=o.key, label=o.text, key=o.key)) for o in options]
    row: ft.Control
    if len(radios) <= 2:
        for cell in radios:
            cell.expand = True
        row = ft.Row(list(radios), spacing=8)
    else:
        row = ft.Column(list(radios), spacing=0)
    if label:
        row = ft.Semantics(label=label, container=True, content=row)
    return ft.RadioGroup(value=value, on_change=on_change, content=row, key=key)


def dropdown(
    label: str,
    options: Sequence[Option],
    value: str | None,
    on_select: Callable[[Any], Any],
    *,
    error: str | None = None,
) -> tuple[ft.Dropdown, ft.Control]:
    """A full-width dropdown and its accessible wrapper (put the wrapper on screen, read the dropdown)."""
    dd = ft.Dropdown(
        label=label,
        value=value,
        options=[ft.DropdownOption(key=o.key, text=o.text) for o in options],
        on_select=on_select,
        error_text=error or None,
        menu_height=360,
        expand=True,
    )
    return dd, ft.Row([ft.Semantics(label=label, content=dd, expand=True)])


VERDICT_COLOURS = {
    Status.ELIGIBLE: (ft.Colors.GREEN_100, ft.Colors.GREEN_900, ft.Icons.CHECK_CIRCLE),
    Status.ELIGIBLE_IF: (ft.Colors.AMBER_100, ft.Colors.BROWN_900, ft.Icons.HELP),
    Status.NOT_ELIGIBLE: (ft.Colors.RED_100, ft.Colors.RED_900, ft.Icons.CANCEL),
}


def verdict_chip(status: Status, text: str) -> ft.Control:
    """The verdict with colour, icon AND words (colour alone says nothing to a colour-blind reader)."""
    bg, fg, icon = VERDICT_COLOURS[status]
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


def chips(options: Sequence[Option], chosen: Sequence[str], on_toggle: Callable[[str, bool], None]) -> ft.Row:
    """Selectable chips for a multiple choice (each chip is a labelled toggle, 48 px high)."""

    def make(option: Option) -> ft.Chip:
        def on_select(e: Any) -> None:
            on_toggle(option.key, bool(e.control.selected))

        return ft.Chip(
            label=ft.Text(option.text),
            selected=option.key in chosen,
            on_select=on_select,
            key=option.key,
        )

    return ft.Row([touch(make(o)) for o in options], wrap=True, spacing=8, run_spacing=4)
