"""The language menu, an app bar action on every screen: French, English, "Bamanankan (draft)".

A 48×48 translate icon named "Language: <the language in force>" for screen readers; each entry is the
language's own name, the one in force ticked."""

from __future__ import annotations

from typing import Any

import flet as ft

from field_app.ui.viewmodels.language import LanguageViewModel

TOUCH = 48


def language_menu(vm: LanguageViewModel) -> ft.Control:
    def pick(code: str) -> Any:
        def on_click(e: Any) -> None:
            vm.choose(code)

        return on_click

    items = [
        ft.PopupMenuItem(
            content=ft.Text(choice.label),
            checked=choice.code == vm.current,
            on_click=pick(choice.code),
            key=f"language-{choice.code}",
        )
        for choice in vm.choices
    ]
    menu = ft.PopupMenuButton(
        icon=ft.Icons.TRANSLATE,
        items=items,
        width=TOUCH,
        height=TOUCH,
        size_constraints=ft.BoxConstraints(min_width=TOUCH, min_height=TOUCH),
        key="language",
    )
    # named once for screen readers (a tooltip would name it a second time, and leave the button itself unnamed)
    return ft.Semantics(label=vm.title, button=True, content=menu)
