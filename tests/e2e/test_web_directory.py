"""End to end: `field-app run` serves the real web app; Debian's Chromium, driven by Playwright, searches it.

Offline by construction: the app runs with no CDN and Chromium's background networking is off.
Screenshots land in docs/screenshots/ (shown in the README).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Debian chromium is not installed (make test installs it)", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    data_dir = tmp_path_factory.mktemp("e2e-data")
    env = {**os.environ, "FIELD_APP_LANG": "fr"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "field_app", "run", "--data-dir", str(data_dir), "--port", str(port)],
        cwd=REPO,
        env=env,
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


@pytest.fixture
def page(app_url: str) -> Iterator[Page]:
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        context = browser.new_context(viewport={"width": 360, "height": 640}, locale="fr-FR")
        tab = context.new_page()
        tab.goto(app_url)
        tab.locator("flt-semantics-placeholder").wait_for(state="attached", timeout=60_000)
        tab.locator("flt-semantics-placeholder").dispatch_event("click")
        yield tab
        browser.close()


def test_search_the_directory_at_phone_size(page: Page, app_url: str) -> None:
    page.goto(app_url + "directory")  # the directory screen's own route (home is the field-agent menu)
    page.locator("flt-semantics-placeholder").wait_for(state="attached", timeout=60_000)
    page.locator("flt-semantics-placeholder").dispatch_event("click")
    box = page.get_by_role("textbox", name="Partenaire, formation ou ville")
    expect(box).to_be_visible(timeout=30_000)
    expect(page.get_by_text("premiers services", exact=False)).to_be_visible(timeout=30_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1500)  # the semantics tree is ready before the canvas has painted
    page.screenshot(path=str(SHOTS / "directory.png"))
    box.click()
    page.keyboard.type("senou")
    expect(page.get_by_text("Centre de Formation Professionnelle de Sénou", exact=False).first).to_be_visible(
        timeout=15_000
    )
    expect(page.get_by_text("premiers services", exact=False)).to_have_count(0)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / "directory-search.png"))
