"""End to end, the Kayes office in real Chromium: a real hub process, an agent phone, the office and a supervisor
device enrolled and synced with the real `field-app` command line (tests/e2e/webapp.py), then the web app served
on the office's data directory. At 1280×800: the inbox with the detail beside it → accept → the history shows it.
At 360×640: the inbox, then the detail on its own screen. Screenshots: docs/screenshots/office-*.png."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from field_app import i18n
from tests.e2e.webapp import SHOTS, Devices, desk_page, enrolled_devices, phone_page, running_app
from tests.sync.hubproc import HubProcess

pytestmark = pytest.mark.e2e

from playwright.sync_api import Page, expect  # noqa: E402

PERSON = "Fatoumata Traoré"


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devices]:
    tmp = tmp_path_factory.mktemp("e2e-office")
    hub = HubProcess(str(tmp / "hub.db"), tmp).start()
    try:
        yield enrolled_devices(tmp, hub)
    finally:
        hub.stop()


@pytest.fixture(scope="module")
def office_url(devices: Devices) -> Iterator[str]:
    with running_app(devices.office) as url:
        yield url


@pytest.fixture
def t() -> Iterator[Callable[[str], str]]:
    i18n.set_language("fr")
    yield i18n._


def shot(page: Page, name: str) -> None:
    page.mouse.move(4, 4)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1500)  # the semantics tree is ready before the canvas has painted
    page.screenshot(path=str(SHOTS / name))


def test_office_inbox_detail_accept_at_desktop_width(office_url: str, t: Callable[[str], str]) -> None:
    with desk_page(office_url) as page:
        tile = page.get_by_role("button", name=re.compile(re.escape(PERSON)))
        expect(tile.first).to_be_visible(timeout=60_000)
        count = i18n.ngettext("{n} of {total} referral", "{n} of {total} referrals", 2).format(n=2, total=2)
        expect(page.get_by_text(count, exact=False)).to_be_visible()
        expect(page.get_by_text(t("Referrals of {region}").format(region="Kayes"))).to_be_visible()
        shot(page, "office-1-inbox.png")
        tile.first.click()
        accept = page.get_by_role("button", name=t("Accept"), exact=True)
        expect(accept).to_be_visible(timeout=30_000)
        shot(page, "office-2-detail.png")
        phone = page.get_by_text(re.compile(r"(76 12 34 56|\+22376123456)"))  # the phone, shown under consent
        expect(phone.first).to_be_visible()
        expect(page.get_by_role("button", name=t("Call")).first).to_be_visible()
        accept.click()
        save = page.get_by_role("button", name=t("Save"), exact=True)
        expect(save).to_be_visible(timeout=15_000)
        page.get_by_role("textbox", name=t("Note")).click()
        page.wait_for_timeout(300)  # let the field take the focus, or the first keys are lost
        page.keyboard.type("Place confirmée par téléphone", delay=20)
        save.click()
        saved = t("Saved: {what}. It will be sent at the next sync.").format(what=t("Accept"))
        expect(page.get_by_text(saved).first).to_be_visible(timeout=30_000)
        expect(page.get_by_text(t("Accepted"), exact=True).first).to_be_visible()  # the status now
        page.mouse.move(900, 500)
        page.mouse.wheel(0, 800)  # down the detail to its history (newest first)
        page.wait_for_timeout(800)
        expect(page.get_by_text(t("Accepted by the partner"), exact=True).first).to_be_visible(timeout=15_000)
        expect(page.get_by_text("Place confirmée par téléphone", exact=False).first).to_be_visible()
        shot(page, "office-3-accepted.png")


def test_office_inbox_and_detail_at_phone_size(office_url: str, t: Callable[[str], str]) -> None:
    with phone_page(office_url) as page:
        tile = page.get_by_role("button", name=re.compile(re.escape("Moussa Keïta")))
        expect(tile.first).to_be_visible(timeout=60_000)
        shot(page, "office-4-phone-inbox.png")
        tile.first.click()
        expect(page.get_by_role("button", name=t("Call")).first).to_be_visible(timeout=30_000)
        expect(page.get_by_text(t("History"))).to_be_attached()
        shot(page, "office-5-phone-detail.png")


def test_the_agent_sees_the_office_move_after_syncing(devices: Devices, office_url: str) -> None:
    """After the desktop test accepted Fatoumata's referral, the office syncs, then the agent: it is accepted."""
    from tests.e2e.webapp import field_app_cli

    field_app_cli("sync", "--once", "--data-dir", str(devices.office))
    field_app_cli("sync", "--once", "--data-dir", str(devices.agent))
    listing = field_app_cli("referral", "list", "--data-dir", str(devices.agent))
    assert "accepted" in listing.lower(), listing
