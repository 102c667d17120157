"""Accessibility, measured in real Chromium: every screen of each role, at 360×640 and 1280×800, read through the
browser's own accessibility tree (what a screen reader gets), scrolled from top to bottom.

Every control (button, checkbox, radio, switch, text box, link, menu item, tab, slider…) is listed with its name
and size, and the test FAILS on
- a control with no accessible name (a screen reader says "button" and nothing else),
- a touch target smaller than 48×48 px (Material's minimum; Flutter gives 40 px in a browser by default),
- a disabled text box (a read-only value shown as a disabled field, or as Flutter's selectable text: a screen
  reader hears "text box, dimmed, empty" — read-only values are labelled text, `views.common.value_text`).
The names come from Chromium's computed accessibility tree (CDP `Accessibility.getFullAXTree`), not from our
guess at the DOM; sizes from the node's box.

The screens are the route table's (`field_app.ui.routes.SCREENS`) for each role, filled with real ids from
devices enrolled with a real hub (tests/e2e/webapp.py `enrolled_devices`): an agent phone that registered and
referred two people, the Kayes office and a supervisor. The full listing is printed (pytest -s) and written to
docs/a11y-report.txt.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from field_app.storage.paths import database_path
from field_app.ui import routes
from tests.e2e.webapp import (
    BROWSER_ARGS,
    CHROMIUM,
    DESK_H,
    DESK_W,
    REPO,
    SERVICE,
    VIEW_H,
    VIEW_W,
    Devices,
    enrolled_devices,
    running_app,
)
from tests.sync.hubproc import HubProcess

pytestmark = pytest.mark.e2e

from playwright.sync_api import Page, sync_playwright  # noqa: E402

MIN_TARGET = 48.0
TOLERANCE = 0.5  # fractional layout pixels
CONTROLS = {
    "button", "checkbox", "radio", "switch", "textbox", "searchbox", "link", "menuitem", "menuitemcheckbox",
    "menuitemradio", "tab", "slider", "combobox", "spinbutton", "listbox", "option", "togglebutton",
}  # fmt: skip
SIZES = {"phone": (VIEW_W, VIEW_H), "desk": (DESK_W, DESK_H)}
REPORT = REPO / "docs" / "a11y-report.txt"


@dataclass(frozen=True)
class Control:
    role: str
    name: str
    width: float
    height: float
    disabled: bool

    def problems(self) -> list[str]:
        out = []
        if not self.name.strip():
            out.append("no accessible name")
        if min(self.width, self.height) + TOLERANCE < MIN_TARGET and not self.disabled:
            out.append(f"target {self.width:.0f}×{self.height:.0f} px < {MIN_TARGET:.0f}")
        if self.role in ("textbox", "searchbox") and self.disabled:
            out.append("disabled text box (a read-only value: use labelled text)")
        return out

    def line(self) -> str:
        flags = "; ".join(self.problems())
        state = " (disabled)" if self.disabled else ""
        return f"  {self.role:<10} {self.name[:70]!r:<74} {self.width:>4.0f}×{self.height:<4.0f}{state}" + (
            f"  <-- {flags}" if flags else ""
        )


@dataclass
class ScreenReport:
    """A screen's controls by (role, name), each at the largest size seen while scrolling: Flutter clips a
    node's box to what is on screen, so a tile half under the app bar reads 10 px high at that moment."""

    role: str
    size: str
    route: str
    controls: dict[tuple[str, str], Control] = field(default_factory=dict)

    def add(self, seen: dict[int, Control]) -> None:
        for c in seen.values():
            before = self.controls.get((c.role, c.name))
            if before is not None:
                c = Control(c.role, c.name, max(c.width, before.width), max(c.height, before.height),
                            c.disabled or before.disabled)  # fmt: skip
            self.controls[(c.role, c.name)] = c

    def failures(self) -> list[str]:
        return [
            f"[{self.role} {self.size}] {self.route}: {c.role} {c.name[:60]!r} {c.width:.0f}×{c.height:.0f}: {p}"
            for c in self.controls.values()
            for p in c.problems()
        ]


def read_controls(page: Page, cdp: Any) -> dict[int, Control]:
    """The controls of the accessibility tree now, by DOM node, with their computed names and boxes."""
    cdp.send("DOM.getDocument", {"depth": 0})
    found: dict[int, Control] = {}
    for node in cdp.send("Accessibility.getFullAXTree")["nodes"]:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in CONTROLS or "backendDOMNodeId" not in node:
            continue
        props = {p["name"]: p.get("value", {}).get("value") for p in node.get("properties", [])}
        try:
            box = cdp.send("DOM.getBoxModel", {"backendNodeId": node["backendDOMNodeId"]})["model"]
        except Exception:  # not laid out (off screen, collapsed): nothing to touch
            continue
        if box["width"] <= 0 or box["height"] <= 0:
            continue
        found[node["backendDOMNodeId"]] = Control(
            role, str(node.get("name", {}).get("value", "")), box["width"], box["height"], bool(props.get("disabled"))
        )
    return found


def settle(page: Page, cdp: Any, seconds: float = 8.0) -> dict[int, Control]:
    """Wait until the tree stops changing (the screen has drawn and loaded), then read it."""
    last: dict[int, Control] | None = None
    waited = 0.0
    while waited < seconds:
        page.wait_for_timeout(500)
        waited += 0.5
        now = read_controls(page, cdp)
        if last is not None and now == last and now:
            return now
        last = now
    return last or {}


def walk_screen(page: Page, cdp: Any, report: ScreenReport, width: int, height: int) -> None:
    """Read the screen, then scroll each column (list and detail side by side at a desk) to its end."""
    report.add(settle(page, cdp))
    columns = [width / 2] if width < routes_wide() else [width * 0.3, width * 0.7]
    for x in columns:
        page.mouse.move(x, height / 2)
        page.mouse.wheel(0, -5000)
        page.wait_for_timeout(300)
        same = 0
        for _ in range(60):  # steps smaller than the shortest list viewport, so every tile is once fully in view
            before = read_controls(page, cdp)
            page.mouse.wheel(0, height * 0.4)
            page.wait_for_timeout(450)
            after = read_controls(page, cdp)
            report.add(after)
            same = same + 1 if after == before else 0
            if same >= 2:
                break


def routes_wide() -> int:
    from field_app.ui.router import WIDE_PX

    return WIDE_PX


def open_route(page: Page, url: str, route: str) -> Any:
    page.goto(url.rstrip("/") + route)
    page.locator("flt-semantics-placeholder").wait_for(state="attached", timeout=60_000)
    page.locator("flt-semantics-placeholder").dispatch_event("click")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Accessibility.enable")
    return cdp


def ids(devices: Devices) -> dict[str, str]:
    with sqlite3.connect(f"file:{database_path(devices.agent)}?mode=ro", uri=True) as db:
        returnee = db.execute("SELECT id FROM returnees ORDER BY created_at LIMIT 1").fetchone()[0]
    return {
        "returnee_id": returnee,
        "service_id": SERVICE,
        "referral_id": devices.referrals[0],
        "organization_id": SERVICE.split("/")[0],
    }


def screens_of(role: str, values: dict[str, str]) -> list[str]:
    """Every screen of the route table this role may open, filled with real ids."""
    out = []
    for screen in routes.SCREENS:
        if role not in screen.roles:
            continue
        wanted = {f: values[f] for f in routes.FIELDS if "{" + f in screen.path or f in screen.query}
        route = routes.to_string(routes.Route(screen.name, **wanted))
        if route not in out:
            out.append(route)
    return out


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devices]:
    tmp = tmp_path_factory.mktemp("e2e-a11y")
    hub = HubProcess(str(tmp / "hub.db"), tmp).start()
    try:
        yield enrolled_devices(tmp, hub)
    finally:
        hub.stop()


def audit(role: str, data_dir: Path, values: dict[str, str]) -> list[ScreenReport]:
    reports = []
    assert CHROMIUM is not None
    with running_app(data_dir) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            for size, (width, height) in SIZES.items():
                context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
                page = context.new_page()
                for route in screens_of(role, values):
                    cdp = open_route(page, url, route)
                    report = ScreenReport(role, f"{size} {width}×{height}", route)
                    walk_screen(page, cdp, report, width, height)
                    reports.append(report)
                    cdp.detach()
                context.close()
        finally:
            browser.close()
    return reports


def test_every_control_of_every_screen_is_named_and_finger_sized(devices: Devices) -> None:
    values = ids(devices)
    reports: list[ScreenReport] = []
    for role, data_dir in (("agent", devices.agent), ("office", devices.office), ("supervisor", devices.supervisor)):
        reports += audit(role, data_dir, values)
    lines = []
    for r in reports:
        lines.append(f"[{r.role} {r.size}] {r.route}: {len(r.controls)} controls")
        lines += [c.line() for c in sorted(r.controls.values(), key=lambda c: (c.role, c.name))]
    failures = [f for r in reports for f in r.failures()]
    listing = "\n".join(lines)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        "Accessibility of every screen (tests/e2e/test_web_a11y.py): each control, its accessible name and size.\n"
        + f"{len(failures)} problems.\n\n"
        + listing
        + "\n"
    )
    print(listing)
    assert all(r.controls for r in reports), [r.route for r in reports if not r.controls]  # every screen drew
    assert not failures, f"{len(failures)} accessibility problems:\n" + "\n".join(failures)
