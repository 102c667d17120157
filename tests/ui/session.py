"""A real Flet session in memory: the app's own `main` on a `flet.messaging.session.Session`, driven the way the
browser drives it (property patches, events), with a stand-in client that answers the page's method calls.

Why not only the view models: a screen can be right in Python and still wrong on the phone — the bug that left
the enrolment spinner running for ever had the error already in the view model; the page was never sent. This
harness sees what is sent: every message is msgpack-encoded as the web server encodes it (the encoding takes
the snapshots the next diff compares with; skip it and later patches go wrong), and `unsent()` tells whether the
page holds changes the client has not received. Uses Flet internals: pinned to flet 1.0.5 (pyproject.toml).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import flet as ft
import msgpack
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page
from flet.messaging.connection import Connection
from flet.messaging.protocol import Message, MessageAction, configure_encode_object_for_msgpack
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

from tests.ui.helpers import walk

ENCODE = configure_encode_object_for_msgpack(BaseControl)


class MemoryClient(Connection):
    """The browser's side of the socket: records what the server sends, answers `push_route` (and any other
    method) as the Flutter client does, then reports the new route like the client's router."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        super().__init__()
        self.loop = loop
        self.executor = ThreadPoolExecutor(max_workers=4)
        self.pubsubhub = PubSubHub(loop=loop, executor=self.executor)
        self.session: Session | None = None
        self.sent: list[bytes] = []
        self.messages = 0
        self.tasks: set[asyncio.Future[Any]] = set()

    def send_message(self, message: Message) -> None:
        self.sent.append(msgpack.packb([message.action, message.body], default=ENCODE))
        self.messages += 1
        if message.action == MessageAction.INVOKE_METHOD:
            self.loop.call_soon(self._answer, message.body)

    def _answer(self, body: Any) -> None:
        assert self.session is not None
        name = getattr(body, "name", None)
        self.session.handle_invoke_method_results(body.control_id, body.call_id, None, None)
        if name == "push_route":
            route = (getattr(body, "args", None) or {}).get("route", "/")
            page = self.session.page
            task = asyncio.ensure_future(page._trigger_event("route_change", {"route": route}))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def dispose(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class AppSession:
    """The app's `main` running on an in-memory session at `width`×`height`; drive it with `type_into`, `click`."""

    def __init__(self, main: Callable[[ft.Page], Any], route: str = "/", width: int = 360, height: int = 640):
        self.main = main
        self.route, self.width, self.height = route, width, height
        self.loop = asyncio.get_running_loop()
        self.client = MemoryClient(self.loop)
        self.session = Session(self.client)
        self.client.session = self.session
        self.page = self.session.page

    async def start(self) -> AppSession:
        _context_page.set(self.page)
        self.session.apply_page_patch({"route": self.route, "width": self.width, "height": self.height})
        # what the client's "register" gets: mounts the page (encoded, as the server does, for the diff's snapshots)
        self.client.sent.append(msgpack.packb(self.session.get_page_patch(), default=ENCODE))
        self.main(self.page)
        await self.session.after_event(self.page)
        await self.settle()
        return self

    async def settle(self, seconds: float = 0.3) -> None:
        """Let the tasks the app started (route changes, redraws from the sync thread) run."""
        await asyncio.sleep(seconds)

    def close(self) -> None:
        self.client.dispose()

    # --- what the client sees -------------------------------------------------------------------------------

    def unsent(self) -> bool:
        """True when the page holds changes the client has not been sent (the phone shows something stale)."""
        before = self.client.messages
        _context_page.set(self.page)
        self.page.update()
        return self.client.messages > before

    def controls(self) -> Iterator[ft.BaseControl]:
        for view in self.page.views:
            yield from walk(view)
        dialogs = getattr(self.page, "_dialogs", None)
        for dialog in getattr(dialogs, "controls", None) or []:
            yield from walk(dialog)

    def by_key(self, key: str) -> ft.BaseControl:
        found = [c for c in self.controls() if getattr(c, "key", None) == key]
        assert found, f"no control with key {key!r} on {self.page.route}"
        return found[-1]  # the screen on top

    def texts(self) -> list[str]:
        out: list[str] = []
        for c in self.top_controls():
            for name in ("value", "error", "error_text", "label"):
                v = getattr(c, name, None)
                if isinstance(v, str) and v and getattr(c, "visible", True) is not False:
                    out.append(v)
        return out

    def top_controls(self) -> Iterator[ft.BaseControl]:
        if self.page.views:
            yield from walk(self.page.views[-1])

    def button(self, label: str) -> ft.BaseControl:
        for c in self.top_controls():
            if isinstance(c, ft.Button | ft.OutlinedButton | ft.TextButton) and c.content == label:
                return c
        raise AssertionError(f"no button {label!r} on {self.page.route}")

    # --- what the client does -------------------------------------------------------------------------------

    async def type_into(self, control: ft.BaseControl, text: str) -> None:
        """Type into a text field as the browser does: the value patch, then the change event."""
        self.session.apply_patch(control._i, {"value": text})
        await self.session.dispatch_event(control._i, "change", text)

    async def click(self, control: ft.BaseControl) -> float:
        """Click, wait for the handler to finish; the seconds it took."""
        start = time.monotonic()
        await self.session.dispatch_event(control._i, "click", None)
        return time.monotonic() - start

    async def go(self, route: str) -> None:
        await self.page._trigger_event("route_change", {"route": route})
        await self.settle()
