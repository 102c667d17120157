"""End to end, in real Chromium at 360×640: the language menu on the home screen switches French → English →
Bambara; the screen is drawn again each time, `<html lang>` follows, the Bambara letters come from the bundled
font (Flutter asks the network for no other), and the choice is still there after a reload.

The screenshot docs/screenshots/language-bm.png shows the Bambara home screen (ɛ ɔ ɲ ŋ drawn, not boxes).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from field_app import i18n
from tests.e2e.webapp import SHOTS, phone_page, running_app

pytestmark = pytest.mark.e2e

from playwright.sync_api import Page, Response, expect  # noqa: E402


def words(lang: str, msgid: str, **fields: str) -> str:
    with i18n.in_language(lang):
        return i18n._(msgid).format(**fields) if fields else i18n._(msgid)


def menu_name(lang: str, name: str) -> str:
    return words(lang, "Language: {language}", language=name)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_app(tmp_path_factory.mktemp("e2e-languages")) as url:
        yield url


def font_requests(tab: Page) -> list[str]:
    """URLs of the fonts Flutter fetches as it draws (its fallback fonts would come from assets/fonts/…)."""
    seen: list[str] = []

    def on_response(response: Response) -> None:
        if "/fonts/" in response.url:
            seen.append(f"{response.status} {response.url}")

    tab.on("response", on_response)
    return seen


def choose(tab: Page, current: str, choice: str) -> None:
    tab.get_by_role("button", name=current).click()
    tab.get_by_role("menuitemcheckbox", name=choice).click()


def lang_of(tab: Page) -> str:
    return str(tab.evaluate("document.documentElement.lang"))


def test_switch_to_english_then_bambara_and_keep_it(app_url: str) -> None:
    register = "Register a returnee"
    with phone_page(app_url) as tab:
        fonts = font_requests(tab)
        expect(tab.get_by_role("button", name=words("fr", register))).to_be_visible(timeout=30_000)
        assert lang_of(tab) == "fr"  # not Flutter's default en-US
        choose(tab, menu_name("fr", "Français"), "English")
        expect(tab.get_by_role("button", name=register)).to_be_visible(timeout=15_000)
        expect(tab.get_by_role("button", name=menu_name("en", "English"))).to_be_visible()
        tab.wait_for_function("document.documentElement.lang === 'en'", timeout=10_000)

        choose(tab, menu_name("en", "English"), "Bamanankan (draft)")
        bambara = words("bm", register)
        assert bambara not in (register, words("fr", register)) and any(c in bambara for c in "ɛɔɲŋ")
        expect(tab.get_by_role("button", name=bambara)).to_be_visible(timeout=15_000)
        tab.wait_for_function("document.documentElement.lang === 'bm'", timeout=10_000)
        tab.wait_for_timeout(2500)  # the canvas paints after the semantics tree is ready
        drawn_before = len(fonts)
        SHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SHOTS / "language-bm.png"))
        fallback = [f for f in fonts[drawn_before:] if "NotoSans" not in f]
        assert not fallback, f"Flutter looked for fonts it has not got (boxes offline): {fallback}"

        tab.reload()
        tab.locator("flt-semantics-placeholder").wait_for(state="attached", timeout=60_000)
        tab.locator("flt-semantics-placeholder").dispatch_event("click")
        expect(tab.get_by_role("button", name=bambara)).to_be_visible(timeout=30_000)  # kept for this device
        expect(tab.get_by_role("button", name=menu_name("bm", "Bamanankan"))).to_be_visible()
        tab.wait_for_function("document.documentElement.lang === 'bm'", timeout=10_000)
        bundled = [f for f in fonts if "NotoSans-Regular.ttf" in f]
        assert bundled and all(f.startswith("200 ") for f in bundled), fonts
        assert Path(SHOTS / "language-bm.png").stat().st_size > 10_000
