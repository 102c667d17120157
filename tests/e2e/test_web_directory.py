"""End to end: `field-app run` serves the real web app; Debian's Chromium, driven by Playwright, searches it.

Offline by construction: the app runs with no CDN and Chromium's background networking is off.
Screenshots land in docs/screenshots/ (shown in the README).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.webapp import SHOTS, phone_page, running_app

pytestmark = pytest.mark.e2e

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_app(tmp_path_factory.mktemp("e2e-data")) as url:
        yield url


@pytest.fixture
def page(app_url: str) -> Iterator[Page]:
    with phone_page(app_url) as tab:
        yield tab


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
