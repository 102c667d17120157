"""End to end, the supervisor in real Chromium at 1280×800, over a supervisor device built for real (hub process,
agent + office + supervisor enrolled and synced with the `field-app` command line): the overview with its charts,
the devices, an XLSX export into the data directory's exports/ folder. Screenshots: docs/screenshots/supervisor-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from field_app import i18n
from tests.e2e.webapp import SHOTS, Devices, desk_page, enrolled_devices, field_app_cli, running_app
from tests.sync.hubproc import HubProcess

pytestmark = pytest.mark.e2e

from playwright.sync_api import Page, expect  # noqa: E402


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Devices]:
    tmp = tmp_path_factory.mktemp("e2e-supervisor")
    hub = HubProcess(str(tmp / "hub.db"), tmp).start()
    try:
        devices = enrolled_devices(tmp, hub)
        # the Kayes office accepts the first referral (its command line), then both sync: the funnel moves on
        field_app_cli(
            "office", "update", devices.referrals[0], "--status", "accepted", "--data-dir", str(devices.office)
        )
        for data_dir in (devices.office, devices.supervisor):
            field_app_cli("sync", "--once", "--data-dir", str(data_dir))
        yield devices
    finally:
        hub.stop()


@pytest.fixture
def t() -> Iterator[Callable[[str], str]]:
    i18n.set_language("fr")
    yield i18n._


def shot(page: Page, name: str) -> None:
    page.mouse.move(4, 4)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SHOTS / name))


def rail(page: Page, label: str) -> None:
    """Click a destination of the navigation rail (Flutter names it "<label> Tab i of n")."""
    page.get_by_role("button", name=re.compile(rf"^{re.escape(label)}\b")).first.click()
    page.wait_for_timeout(500)


def test_supervisor_overview_devices_and_export(devices: Devices, t: Callable[[str], str]) -> None:
    with running_app(devices.supervisor) as url, desk_page(url) as page:
        expect(page.get_by_text(t("Referrals per region")).first).to_be_visible(timeout=60_000)
        expect(page.get_by_text(t("Funnel: referred, accepted, enrolled, completed")).first).to_be_visible()
        shot(page, "supervisor-1-overview.png")

        rail(page, t("Devices"))
        expect(page.get_by_role("heading", name=t("Devices"))).to_be_visible(timeout=30_000)
        shot(page, "supervisor-2-devices.png")
        expect(page.get_by_text("e2e office", exact=False).first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("e2e agent", exact=False).first).to_be_visible()

        rail(page, t("Exports"))
        export = page.get_by_role("button", name=t("Export"), exact=True)
        expect(export).to_be_visible(timeout=30_000)
        export.click()
        written = page.get_by_text(re.compile(r"exports/referrals-.*\.xlsx"))
        expect(written.first).to_be_visible(timeout=30_000)
        shot(page, "supervisor-3-export.png")
    files = sorted((devices.supervisor / "exports").glob("referrals-*.xlsx"))
    assert files, "no export written"
    import openpyxl

    sheet = openpyxl.load_workbook(files[-1]).active
    assert sheet is not None and sheet.max_row >= 3  # a header and the two referrals
