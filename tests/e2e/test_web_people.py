"""End to end at phone size (360×640, French): with 15 people on the phone, the FIRST one registered — no longer
among home's 10 most recent — is found from home's "Trouver une personne" by a part of her name, her page opened,
and she is referred through the usual flow (partners nearby → the partner's page → consent → queued); her page then
lists the referral.

The 15 people are registered with the use case into the app's data directory before `field-app run` starts;
Debian's Chromium, driven by Playwright, uses the app through its accessibility tree. Screenshots:
docs/screenshots/people-1-search.png, people-2-person.png.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from field_app import i18n
from field_app.directory.store import open_directory
from field_app.labels import REFERRAL_STATUSES
from field_app.returnees.service import register
from field_app.storage.paths import database_path
from tests.e2e.webapp import SHOTS, VIEW_H, VIEW_W, phone_page, running_app, tap

pytestmark = pytest.mark.e2e

from playwright.sync_api import Page, expect  # noqa: E402

SERVICE = "atelier-ecole-kayes/alphabetisation"
SERVICE_NAME = "Alphabétisation et cours de français"
PARTNER = "Atelier École de Kayes"
FIRST = {"given_name": "Fatoumata", "family_name": "Traoré", "sex": "F", "age": 22, "region": "kayes",
         "locality": "kayes", "phone": "76 12 34 56", "documents": ["id_card"], "consent": True}  # fmt: skip
NAME = "Fatoumata Traoré"
OTHERS = [("Moussa", "Keïta", "M"), ("Awa", "Diarra", "F"), ("Seydou", "Coulibaly", "M"),
          ("Mariam", "Sissoko", "F"), ("Oumar", "Camara", "M"), ("Kadiatou", "Konaté", "F"),
          ("Bakary", "Dembélé", "M"), ("Aminata", "Sangaré", "F"), ("Ibrahim", "Touré", "M"),
          ("Djénéba", "Diallo", "F"), ("Modibo", "Fofana", "M"), ("Rokia", "Kanté", "F"),
          ("Adama", "Maïga", "M"), ("Assétou", "Samaké", "F")]  # fmt: skip
START = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str]]:
    """The app over a data directory holding 15 people, Fatoumata Traoré first: (url, data_dir, her id)."""
    data_dir = tmp_path_factory.mktemp("e2e-people")
    db = open_directory(data_dir)
    first = register(db, FIRST, now=START).id
    for k, (given, family, sex) in enumerate(OTHERS, start=1):
        person = {"given_name": given, "family_name": family, "sex": sex, "age": 20 + k, "region": "kayes",
                  "locality": "kayes", "consent": True}  # fmt: skip
        register(db, person, now=START + dt.timedelta(days=k))
    db.close()
    with running_app(data_dir) as url:
        yield url, data_dir, first


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
    page.mouse.move(VIEW_W / 3, 28)  # on the app bar's title: no tooltip, no hover on the screen
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1200)  # the semantics tree is ready before the canvas has painted
    page.screenshot(path=str(SHOTS / name))


def named(*words: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(w) for w in words))


def test_the_first_of_fifteen_is_found_from_home_and_referred(
    app: tuple[str, Path, str], t: Callable[[str], str]
) -> None:
    url, data_dir, first = app
    with phone_page(url) as page:
        # Home: the 10 most recent, not her; "Trouver une personne" and "Voir les 15 personnes enregistrées"
        find = page.get_by_role("button", name=t("Find a person"))
        expect(find).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name=named("Assétou Samaké"))).to_be_attached()
        expect(page.get_by_role("button", name=named(NAME))).to_have_count(0)
        everyone = i18n.ngettext("See the {n} person registered", "See all {n} people registered", 15).format(n=15)
        expect(page.get_by_role("button", name=everyone)).to_be_attached()

        # People: search by a part of her name, accents aside
        tap(page, find)
        expect(page.get_by_text(re.compile("15 personnes enregistrées sur cet appareil"))).to_be_visible(timeout=30_000)
        tap(page, page.get_by_role("textbox", name=t("Name, phone or slip code")))
        page.keyboard.type("traore fatou", delay=30)
        her = page.get_by_role("button", name=named(NAME, "Femme", "22 ans", "Kayes", "enregistrée le"))
        expect(her).to_have_count(1, timeout=30_000)
        expect(page.get_by_text(re.compile("1 personne correspond"))).to_be_visible()
        expect(page.get_by_role("button", name=named("Moussa Keïta"))).to_have_count(0)
        shot(page, "people-1-search.png")

        # Her page: who she is, "Orienter", "Modifier", no referral yet
        tap(page, her)
        refer = page.get_by_role("button", name=t("Refer {name}").format(name=NAME))
        expect(refer).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name=t("Edit"))).to_be_visible()
        expect(page.get_by_text(re.compile(re.escape("Aucune orientation pour l’instant")))).to_be_attached()
        expect(page.get_by_text(i18n.labelled(t("Phone"), "+22376123456"), exact=True)).to_be_attached()
        expect(page.get_by_role("textbox")).to_have_count(0)  # no value read as an empty (disabled) text box
        shot(page, "people-2-person.png")

        # Refer: partners near Kayes → the partner's page → consent → queued
        tap(page, refer)
        service = page.get_by_role("button", name=named(SERVICE_NAME))
        expect(service.first).to_be_attached(timeout=30_000)
        tap(page, service)
        on_detail = page.get_by_role("button", name=t("Refer {name}").format(name=NAME))
        expect(on_detail).to_be_visible(timeout=30_000)
        expect(page.get_by_text(PARTNER, exact=False).first).to_be_visible()
        tap(page, on_detail)
        tap(page, page.get_by_role("checkbox", name=t("Yes, they agree")))
        tap(page, page.get_by_role("button", name=t("Queue the referral")))
        expect(
            page.get_by_text(t("The referral is queued on this phone: it will be sent at the next sync."))
        ).to_be_visible(timeout=30_000)

    with sqlite3.connect(f"file:{database_path(data_dir)}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT returnee_id, service_id, status FROM referrals").fetchall()
    assert rows == [(first, SERVICE, "queued")]

    # Her page now lists the referral, with its status
    with phone_page(f"{url}people/{first}") as page:
        line = page.get_by_role("button", name=named(PARTNER, SERVICE_NAME, t(REFERRAL_STATUSES["queued"])))
        expect(line).to_be_visible(timeout=30_000)
        expect(page.get_by_text(i18n.ngettext("{n} referral", "{n} referrals", 1).format(n=1))).to_be_visible()
