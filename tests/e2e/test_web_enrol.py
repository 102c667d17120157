"""End to end at phone size: connecting the phone to a hub address where nothing listens shows why, at once, in
French, and the progress bar stops — in real Chromium, through the accessibility tree a screen reader uses.

(The issue: the spinner still ran after 150 s while the command line reported the failure in 3.7 s; the message
said the same thing twice.) The session-level tests (tests/ui/test_network_actions.py) cover a silent and an
unanswered hub too; this one checks what the browser shows.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from field_app import i18n
from tests.e2e.webapp import SHOTS, phone_page, running_app

pytestmark = pytest.mark.e2e

from playwright.sync_api import Page, expect  # noqa: E402

LIMIT_S = 15.0
READ_OUT = """() => [...document.querySelectorAll('flt-semantics')].map(n => {
    const own = n.cloneNode(true);
    own.querySelectorAll('flt-semantics').forEach(child => child.remove());
    return [n.getAttribute('aria-label') || '', own.textContent || ''].join(' ');
}).join('\\n')"""  # each node's own words (a node's textContent holds its children's too)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_app(tmp_path_factory.mktemp("e2e-enrol")) as url:
        yield url


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def heard(page: Page) -> str:
    """Everything the accessibility tree says (labels, descriptions, texts)."""
    return str(page.evaluate(READ_OUT))


def test_enrolment_to_a_refused_address_shows_its_error(app: str) -> None:
    i18n.set_language("fr")
    t = i18n._
    port = closed_port()
    with phone_page(app + "sync/enrol") as page:
        address = page.get_by_role("textbox", name=t("Hub address"))
        expect(address).to_be_visible(timeout=60_000)
        address.click()
        page.keyboard.type(f"http://127.0.0.1:{port}", delay=10)
        page.get_by_role("textbox", name=t("Enrolment code")).click()
        page.keyboard.type("ABCD-EFGH", delay=10)
        start = time.monotonic()
        page.get_by_role("button", name=t("Connect this phone")).click()
        reason = t("nothing answers at this address (connection refused)")
        expected = t("The hub cannot be reached: {reason}.").format(reason=reason)
        deadline = start + LIMIT_S
        while expected not in heard(page):
            assert time.monotonic() < deadline, f"no error within {LIMIT_S} s; the page says:\n{heard(page)}"
            page.wait_for_timeout(200)
        took = time.monotonic() - start
        said = heard(page)
        assert said.count(t("The hub cannot be reached: {reason}.").split("{")[0].strip()) == 1, said  # once
        assert "ConnectError" not in said
        expect(page.get_by_role("progressbar")).to_have_count(0)  # the bar is gone
        page.wait_for_timeout(800)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "enrol-refused.png"))
    assert took <= LIMIT_S


def test_the_command_line_says_the_same(app: str, tmp_path: Path) -> None:
    """`field-app device enrol` to the same kind of address: the same sentence, once (one boundary composes it)."""
    import os
    import subprocess
    import sys

    from tests.e2e.webapp import REPO

    done = subprocess.run(
        [sys.executable, "-m", "field_app", "device", "enrol", "--hub", f"http://127.0.0.1:{closed_port()}",
         "--code", "ABCD-EFGH", "--data-dir", str(tmp_path)],
        cwd=REPO, env={**os.environ, "FIELD_APP_LANG": "fr"}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    i18n.set_language("fr")
    reason = i18n._("nothing answers at this address (connection refused)")
    assert done.returncode != 0
    assert i18n._("The hub cannot be reached: {reason}.").format(reason=reason) in done.stderr
    assert done.stderr.count(i18n._("The hub cannot be reached: {reason}.").split("{")[0].strip()) == 1
