"""What the end-to-end tests share: the real app served by `field-app run`, and Debian's Chromium at phone size."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium")
VIEW_W, VIEW_H = 360, 640
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip

if CHROMIUM is None:
    pytest.skip("Debian chromium is not installed (make test installs it)", allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


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
def phone_page(url: str) -> Iterator[Page]:
    """A 360×640 French Chromium tab on `url`, with Flutter's accessibility tree switched on."""
    assert CHROMIUM is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        context = browser.new_context(viewport={"width": VIEW_W, "height": VIEW_H}, locale="fr-FR")
        tab = context.new_page()
        tab.goto(url)
        tab.locator("flt-semantics-placeholder").wait_for(state="attached", timeout=60_000)
        tab.locator("flt-semantics-placeholder").dispatch_event("click")
        yield tab
        browser.close()
