"""End to end at phone size (360×640, French): refer a person, try a second referral to the same service (the
warning names the first, with its date and status, and asks to confirm), open "My referrals" and cancel one — the
line says "Annulée" at once, without a reload — then the referral's own page says so too.

`field-app run` serves the real app over a fresh data directory; the person is registered with the command line
(the form is another test's); Debian's Chromium, driven by Playwright, uses the app through its accessibility
tree. Screenshots: docs/screenshots/referrals-*.png.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from field_app import i18n
from field_app.labels import REFERRAL_STATUSES
from field_app.storage.paths import database_path
from tests.e2e.webapp import SHOTS, VIEW_H, VIEW_W, field_app_cli, phone_page, reveal, running_app, tap

pytestmark = pytest.mark.e2e

from playwright.sync_api import Page, expect  # noqa: E402

SERVICE = "atelier-ecole-kayes/alphabetisation"
PARTNER = "Atelier École de Kayes"
PERSON = {"given_name": "Fatoumata", "family_name": "Traoré", "sex": "F", "age": 22, "region": "kayes",
          "locality": "kayes", "phone": "76 12 34 56", "languages": ["fr"], "consent": True}  # fmt: skip
NAME = "Fatoumata Traoré"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    """The app over a data directory holding one registered person: (url, data_dir, returnee id)."""
    data_dir = tmp_path_factory.mktemp("e2e-referrals")
    form = data_dir / "person.json"
    form.write_text(json.dumps(PERSON))
    returnee = field_app_cli("returnee", "add", "--json", str(form), "--data-dir", str(data_dir)).split()[-1]
    with running_app(data_dir) as url:
        yield url, data_dir, returnee


@pytest.fixture
def t() -> Iterator[Callable[[str], str]]:
    before = i18n.language()
    i18n.set_language("fr")
    yield i18n._
    i18n.set_language(before)


def shot(page: Page, name: str, *, top: bool = True) -> None:
    if top:
        page.mouse.move(VIEW_W / 2, VIEW_H / 2)
        page.mouse.wheel(0, -5000)
    page.mouse.move(VIEW_W / 3, 28)  # the pointer on the title: no tooltip over the screen
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1200)  # the semantics tree is ready before the canvas has painted
    page.screenshot(path=str(SHOTS / name))


def statuses(data_dir: Path) -> list[str]:
    with sqlite3.connect(f"file:{database_path(data_dir)}?mode=ro", uri=True) as db:
        return [r[0] for r in db.execute("SELECT status FROM referrals ORDER BY created_at, id")]


def test_refer_warn_on_a_second_and_cancel_without_reload(app: tuple[str, Path, str], t: Callable[[str], str]) -> None:
    url, data_dir, returnee = app
    service_page = f"{url}service/{quote(SERVICE, safe='')}?returnee={returnee}"

    # 1. The partner's page → Refer → consent → queued: the slip as one SMS, and in full
    with phone_page(service_page) as page:
        refer = page.get_by_role("button", name=t("Refer {name}").format(name=NAME))
        tap(page, refer)
        expect(page.get_by_text(re.compile(re.escape(t("Consent"))))).to_be_visible(timeout=30_000)
        expect(page.get_by_text(re.compile("déjà été orientée"))).to_have_count(0)  # nothing open yet
        tap(page, page.get_by_role("checkbox", name=t("Yes, they agree")))
        tap(page, page.get_by_role("button", name=t("Queue the referral")))
        expect(
            page.get_by_text(t("The referral is queued on this phone: it will be sent at the next sync."))
        ).to_be_visible(timeout=30_000)
        sms = page.get_by_text(re.compile("^" + re.escape(i18n.labelled(t("SMS in French"), "Passerelle "))))
        expect(sms.first).to_be_visible()
        sms_text = sms.first.inner_text()
        assert re.search(r"\+223\d{8}", sms_text), sms_text  # E.164: dialable, not "+223/…"
        expect(page.get_by_text(re.compile(r"^1 SMS · \d+ caractères$"))).to_be_visible()
        shot(page, "referrals-1-slip.png")
        full = page.get_by_text(re.compile("^" + re.escape(i18n.labelled(t("Full slip"), ""))))
        reveal(page, full)
        assert re.search(r"\+223 \d\d \d\d \d\d \d\d", full.first.inner_text())
        shot(page, "referrals-2-full-slip.png", top=False)
    assert statuses(data_dir) == ["queued"]

    # 2. A second referral to the same service: the warning, then it is confirmed only when ticked
    with phone_page(service_page) as page:
        tap(page, page.get_by_role("button", name=t("Refer {name}").format(name=NAME)))
        warning = page.get_by_text(re.compile(r"Fatoumata Traoré a déjà été orientée vers ce service le .+"))
        expect(warning).to_be_visible(timeout=30_000)
        expect(page.get_by_text(re.compile(re.escape(f"({t(REFERRAL_STATUSES['queued'])})")))).to_be_visible()
        shot(page, "referrals-3-second-warning.png")
        tap(page, page.get_by_role("checkbox", name=t("Yes, they agree")))
        tap(page, page.get_by_role("button", name=t("Queue the referral")))
        expect(page.get_by_text(re.compile(re.escape(t("Refer again anyway"))))).to_be_visible()
        assert statuses(data_dir) == ["queued"]  # not without the confirmation
        tap(page, page.get_by_role("checkbox", name=t("Refer again anyway")))
        tap(page, page.get_by_role("button", name=t("Queue the referral")))
        expect(
            page.get_by_text(t("The referral is queued on this phone: it will be sent at the next sync."))
        ).to_be_visible(timeout=30_000)
    assert statuses(data_dir) == ["queued", "queued"]

    # 3. My referrals: cancel one; the line says "Annulée" at once, without a reload
    cancelled = t(REFERRAL_STATUSES["revoked"])
    waiting = t(REFERRAL_STATUSES["queued"])
    with phone_page(f"{url}referrals") as page:
        lines = page.get_by_role("button", name=re.compile(re.escape(NAME) + ".*" + re.escape(PARTNER)))
        expect(lines).to_have_count(2, timeout=30_000)
        expect(page.get_by_text(i18n.ngettext("{n} referral", "{n} referrals", 2).format(n=2))).to_be_visible()
        tap(page, page.get_by_role("button", name=t("Cancel referral")).first)
        tap(page, page.get_by_role("button", name=t("Yes, cancel it")))
        expect(page.get_by_role("button", name=re.compile(re.escape(cancelled)))).to_have_count(1, timeout=10_000)
        expect(page.get_by_role("button", name=re.compile(re.escape(waiting)))).to_have_count(1)
        expect(page.get_by_role("button", name=t("Cancel referral"))).to_have_count(1)
        expect(page.get_by_text(t("Referral cancelled."))).to_be_visible()
        shot(page, "referrals-4-cancelled.png")
        assert sorted(statuses(data_dir)) == ["queued", "revoked"]

        # 4. The cancelled referral's own page says so (opened from the list, same session)
        tap(page, page.get_by_role("button", name=re.compile(re.escape(cancelled))))
        status = page.get_by_text(re.compile("^" + re.escape(i18n.labelled(t("Status"), cancelled)) + "$"))
        expect(status.first).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name=t("Send by SMS"))).to_have_count(0)  # a cancelled slip is not sent
        shot(page, "referrals-5-referral-page.png")
