"""What the end-to-end tests share: the real app served by `field-app run`, and Debian's Chromium at phone size."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium")
VIEW_W, VIEW_H = 360, 640
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

if CHROMIUM is None:
    pytest.skip("Debian chromium is not installed (make test installs it)", allow_module_level=True)

from playwright.sync_api import Locator, Page, expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(data_dir: Path) -> Iterator[str]:
    """`field-app run` (French) on a free port over `data_dir`; yields its URL; stops the whole process group."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "field_app", "run", "--data-dir", str(data_dir), "--port", str(port)],
        cwd=REPO,
        env={**os.environ, "FIELD_APP_LANG": "fr"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stdout.read().decode() if proc.stdout else "app exited") from None
                time.sleep(0.3)
        else:
            raise RuntimeError("the app did not start within 60 s")
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@contextmanager
def phone_page(url: str, width: int = VIEW_W, height: int = VIEW_H) -> Iterator[Page]:
    """A 360×640 (or width×height) French Chromium tab on `url`, with Flutter's accessibility tree switched on."""
    assert CHROMIUM is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
        tab = context.new_page()
        tab.goto(url)
        tab.locator("flt-semantics-placeholder").wait_for(state="attached", timeout=60_000)
        tab.locator("flt-semantics-placeholder").dispatch_event("click")
        yield tab
        browser.close()


DESK_W, DESK_H = 1280, 800
PEOPLE = (  # what the agent registers and refers, with consent to share (the office may then see names and phones)
    {"given_name": "Fatoumata", "family_name": "Traoré", "sex": "F", "age": 22, "region": "kayes",
     "locality": "kayes", "phone": "76 12 34 56", "documents": ["id_card"], "consent": True},
    {"given_name": "Moussa", "family_name": "Keïta", "sex": "M", "age": 27, "region": "kayes",
     "locality": "kayes", "phone": "66 21 43 65", "consent": True},
)  # fmt: skip
SERVICE = "atelier-ecole-kayes/alphabetisation"


def field_app_cli(*args: str) -> str:
    """One real `field-app` command (English words); its stdout, or RuntimeError with its stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "field_app", *args],
        cwd=REPO,
        env={**os.environ, "FIELD_APP_LANG": "en", "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"field-app {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


@dataclass
class Devices:
    """Data directories of an agent phone, a Kayes office device and a supervisor device, all synced with a real
    hub after the agent registered and referred `PEOPLE` (ids in `referrals`)."""

    agent: Path
    office: Path
    supervisor: Path
    referrals: list[str]


def enrolled_devices(tmp: Path, hub: Any) -> Devices:
    """Build the three devices for real: `device enrol` each with a code from `hub enrol-code`, the agent's
    `returnee add` + `referral create --consent`, then `sync --once` on the agent, the office and the supervisor."""
    dirs = {name: tmp / name for name in ("agent", "office", "supervisor")}
    roles = {"agent": ("agent", "kayes"), "office": ("office", "kayes"), "supervisor": ("supervisor", None)}
    for name, path in dirs.items():
        role, region = roles[name]
        code = hub.enrol_code(role, region)
        field_app_cli("device", "enrol", "--hub", hub.url, "--code", code, "--name", f"e2e {name}",
                      "--data-dir", str(path))  # fmt: skip
    referrals = []
    for i, person in enumerate(PEOPLE):
        file = tmp / f"person-{i}.json"
        file.write_text(json.dumps(person))
        rid = field_app_cli("returnee", "add", "--json", str(file), "--data-dir", str(dirs["agent"])).split()[-1]
        referrals.append(
            field_app_cli(
                "referral",
                "create",
                "--returnee",
                rid,
                "--service",
                SERVICE,
                "--consent",
                "--data-dir",
                str(dirs["agent"]),
            ).split()[-1]
        )
    for name in ("agent", "office", "supervisor"):
        field_app_cli("sync", "--once", "--data-dir", str(dirs[name]))
    return Devices(dirs["agent"], dirs["office"], dirs["supervisor"], referrals)


@contextmanager
def desk_page(url: str) -> Iterator[Page]:
    """A 1280×800 French Chromium tab on `url` (desktop width: navigation rail, list and detail side by side)."""
    with phone_page(url, DESK_W, DESK_H) as tab:
        yield tab


def reveal(page: Page, locator: Locator, height: int = VIEW_H) -> Locator:
    """Scroll the Flutter view (the mouse wheel: the DOM does not scroll a canvas) until `locator` is on screen
    of a viewport `height` px high; its first match."""
    target = locator.first
    expect(target).to_be_attached(timeout=30_000)
    for _ in range(80):
        box = target.bounding_box()
        if box and box["y"] >= 64 and box["y"] + min(box["height"], 80) <= height - 8:
            return target
        page.mouse.move(VIEW_W / 2, height / 2)
        page.mouse.wheel(0, 240 if box is None or box["y"] > height / 2 else -240)
        page.wait_for_timeout(200)
    raise AssertionError(f"could not scroll {locator} into view")


def tap(page: Page, locator: Locator) -> None:
    """Bring `locator` on screen and click it, leaving Flutter a moment to react."""
    reveal(page, locator).click()
    page.wait_for_timeout(300)
