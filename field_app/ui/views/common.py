"""Building blocks every screen shares: navigation hooks, the screen frame, buttons, labelled dropdowns, chips.

Phone first: one scrollable column, full width on a phone, capped at `MAX_WIDTH` on a desktop; touch targets
at least 48 px; every control has an accessible name (Dropdowns and icon buttons get an `ft.Semantics` label).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import flet as ft

from field_app.domain.eligibility import Status
from field_app.ui.viewmodels.common import Option

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
    """Selectable chips for a multiple choice (each chip is a labelled toggle)."""

    def make(option: Option) -> ft.Chip:
        def on_select(e: Any) -> None:
            on_toggle(option.key, bool(e.control.selected))

        return ft.Chip(
            label=ft.Text(option.text),
            selected=option.key in chosen,
            on_select=on_select,
            padding=ft.Padding.symmetric(horizontal=4, vertical=12),  # 48 px high: a finger-sized target
            key=option.key,
        )

    return ft.Row([make(o) for o in options], wrap=True, spacing=8, run_spacing=6)
