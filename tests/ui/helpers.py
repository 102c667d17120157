"""Drive Flet views off-page: find controls in a built tree, fire their handlers as the page would."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any, TypeVar

import flet as ft

from field_app.ui.views.common import Nav

C = TypeVar("C", bound=ft.BaseControl)


class NavRecorder:
    """A stand-in for the page: records where the screen asked to go and which dialogs it opened."""

    def __init__(self) -> None:
        self.went: list[str] = []
        self.backs = 0
        self.dialogs: list[ft.DialogControl] = []
        self.nav = Nav(go=self.went.append, back=self._back, show_dialog=self.dialogs.append, close_dialog=self._close)

    def _back(self) -> None:
        self.backs += 1

    def _close(self) -> None:
        if self.dialogs:
            self.dialogs.pop()


def walk(root: Any) -> Iterator[ft.BaseControl]:
    """Every control under `root` (itself included), depth first, through any field holding controls."""
    if isinstance(root, list | tuple):
        for item in root:
            yield from walk(item)
        return
    if not isinstance(root, ft.BaseControl):
        return
    yield root
    for f in dataclasses.fields(root):
        if f.name.startswith("_") or f.name in ("parent", "page"):
            continue
        value = getattr(root, f.name, None)
        if isinstance(value, ft.BaseControl | list | tuple):
            yield from walk(value)


def by_key(root: Any, key: str, kind: type[C] = ft.BaseControl) -> C:  # type: ignore[assignment]
    found = [c for c in walk(root) if getattr(c, "key", None) == key and isinstance(c, kind)]
    assert found, f"no {kind.__name__} with key {key!r}"
    return found[0]


def texts(root: Any) -> list[str]:
    """Every string shown by Text controls and button labels under `root`."""
    out: list[str] = []
    for c in walk(root):
        if isinstance(c, ft.Text) and c.value:
            out.append(str(c.value))
        elif isinstance(c, BUTTONS) and isinstance(c.content, str):
            out.append(c.content)
    return out


def labels(root: Any) -> list[str]:
    """What a screen reader hears for the labelled nodes under `root` (e.g. a value_text's "Hub: http://…")."""
    return [str(c.label) for c in walk(root) if isinstance(c, ft.Semantics) and c.label]


BUTTONS = (ft.Button, ft.OutlinedButton, ft.TextButton)


def button(root: Any, label: str) -> Any:
    """The button showing `label` (any kind of labelled button)."""
    labels = []
    for c in walk(root):
        if isinstance(c, BUTTONS):
            if c.content == label:
                return c
            labels.append(c.content)
    raise AssertionError(f"no button {label!r}; buttons: {labels}")


def fire(control: ft.BaseControl, event: str = "click", **attrs: Any) -> None:
    """Set attributes (e.g. value=…), then call the control's `on_<event>` handler as Flet would."""
    for name, value in attrs.items():
        setattr(control, name, value)
    handler = getattr(control, f"on_{event}")
    assert handler is not None, f"{type(control).__name__} has no on_{event} handler"
    result = handler(ft.Event(name=event, control=control))
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _await(awaitable: Any) -> None:
    await awaitable
