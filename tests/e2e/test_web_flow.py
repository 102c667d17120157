"""End to end, the field agent's flow at phone size: register a returnee, see eligible partners near Kayes, open
one, queue a referral with consent, find it in "My referrals"; then check the database the app wrote.

`field-app run` serves the real app from a fresh data directory (French, the default); Debian's Chromium, driven
by Playwright at 360×640, uses it through the accessibility tree. No hub, no network. Labels are looked up in the
same catalogs the app uses, so the test reads what the agent reads. Screenshots land in docs/screenshots/.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from field_app import i18n
from field_app.storage.paths import database_path
from tests.e2e.webapp import SHOTS, VIEW_H, VIEW_W, phone_page, reveal, running_app, tap

pytestmark = pytest.mark.e2e

from playwright.sync_api import Locator, Page, expect  # noqa: E402

PERSON = "Fatoumata Traoré"
SERVICE = "atelier-ecole-kayes/alphabetisation"
SERVICE_NAME = "Alphabétisation et cours de français"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The app on a free port over a fresh data directory: (url, data_dir)."""
    data_dir = tmp_path_factory.mktemp("e2e-flow")
    with running_app(data_dir) as url:
        yield url, data_dir


@pytest.fixture
def t() -> Iterator[Callable[[str], str]]:
    """The French words for a msgid, as the app (run with FIELD_APP_LANG=fr) shows them."""
    i18n.set_language("fr")
    yield i18n._


@pytest.fixture
def page(app: tuple[str, Path]) -> Iterator[Page]:
    with phone_page(app[0]) as tab:
        yield tab


def type_into(page: Page, label: str, text: str) -> None:
    tap(page, page.get_by_role("textbox", name=label))
    page.keyboard.type(text, delay=20)


def choose(page: Page, dropdown: str, option: str) -> None:
    """Open a dropdown by its label and pick an option (menu items are exposed as buttons)."""
    tap(page, page.get_by_role("button", name=dropdown))
    item = page.get_by_role("menuitem", name=option, exact=True).or_(
        page.get_by_role("button", name=option, exact=True)
    )
    expect(item.last).to_be_visible(timeout=10_000)
    item.last.click()
    page.wait_for_timeout(500)


def form_length_in_screens(page: Page, last: Locator) -> float:
    """How many screenfuls the form is: scroll from its top until `last` (its button) is in view."""
    page.mouse.move(VIEW_W / 2, VIEW_H / 2)
    page.mouse.wheel(0, -10_000)
    page.wait_for_timeout(500)
    scrolled, step = 0, 160
    while True:
        box = last.first.bounding_box() if last.count() else None
        if box and box["y"] + box["height"] <= VIEW_H:
            break
        assert scrolled < 20 * VIEW_H, "the form's button never came into view"
        page.mouse.wheel(0, step)
        page.wait_for_timeout(150)
        scrolled += step
    page.mouse.wheel(0, -10_000)
    page.wait_for_timeout(500)
    return 1 + scrolled / VIEW_H


def shot(page: Page, name: str, *, top: bool = True) -> None:
    """Screenshot the screen (scrolled back to its top unless `top=False`), the pointer parked on the app bar."""
    if top:
        page.mouse.move(VIEW_W / 2, VIEW_H / 2)
        page.mouse.wheel(0, -5000)
    page.mouse.move(VIEW_W / 2, VIEW_H - 2)  # no tooltip: the app bar's corners hold buttons now
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1200)  # the semantics tree is ready before the canvas has painted
    page.screenshot(path=str(SHOTS / name))


def test_register_refer_and_follow_up_at_phone_size(page: Page, app: tuple[str, Path], t: Callable[[str], str]) -> None:
    # 1. Home
    register = page.get_by_role("button", name=t("Register a returnee"))
    expect(register).to_be_visible(timeout=30_000)
    expect(page.get_by_text(t("Nothing waiting to be sent"))).to_be_visible()
    shot(page, "flow-1-home.png")

    # 2. The form: names, sex, age, region and place, a document (its folded section opened), consent
    register.click()
    required = t("{label}, required")
    expect(page.get_by_text(t("Fields marked * are required."))).to_be_visible(timeout=30_000)
    screens = form_length_in_screens(page, page.get_by_role("button", name=t("Register"), exact=True))
    print(f"the new-person form is {screens:.1f} screens long at {VIEW_W}×{VIEW_H} (it was about 6)")
    assert screens <= 4.0  # the common case, no documents and no vulnerabilities, in fewer screens
    type_into(page, required.format(label=t("Given name")), "Fatoumata")
    type_into(page, required.format(label=t("Family name")), "Traoré")
    tap(page, page.get_by_role("radio", name=t("Woman")))
    type_into(page, required.format(label=t("Age")), "22")
    shot(page, "flow-2-returnee-form.png")
    choose(page, required.format(label=t("Region of return")), "Kayes")
    choose(page, t("Place of return"), "Kayes")
    tap(page, page.get_by_role("button", name=t("{field}: choose in the calendar").format(field=t("Return date"))))
    cancel = page.get_by_role("button", name=re.compile(r"^(Annuler|ANNULER|Cancel)$"))  # Flutter's own word
    expect(cancel).to_be_visible(timeout=15_000)  # the date picker is open
    shot(page, "form-date-picker.png", top=False)
    cancel.click()
    page.wait_for_timeout(500)
    type_into(page, t("Return date"), "02/11/2024")  # or typed, as French writes dates
    shot(page, "form-1-return.png", top=False)
    tap(page, page.get_by_role("button", name=re.compile(re.escape(t("Documents held")))))
    tap(page, page.get_by_role("checkbox", name=t("identity card")))
    shot(page, "form-2-documents.png", top=False)
    tap(page, page.get_by_role("checkbox", name=required.format(label=t("The person agrees"))))
    shot(page, "form-3-consent.png", top=False)
    tap(page, page.get_by_role("button", name=t("Register"), exact=True))

    # 3. Eligible partners near Kayes
    expect(page.get_by_text(PERSON).first).to_be_visible(timeout=30_000)
    # a tile reads as one button: service, organisation, verdict, distance, fee
    words = [SERVICE_NAME, "Atelier École de Kayes", t("Eligible"), "0 km · Kayes", t("Free")]
    partner = page.get_by_role("button", name=re.compile(".*".join(re.escape(w) for w in words)))
    reveal(page, partner)
    shot(page, "flow-3-nearby.png")

    # 4. The partner's page
    tap(page, partner)
    refer = page.get_by_role("button", name=t("Refer {name}").format(name=PERSON))
    expect(refer).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Atelier École de Kayes", exact=False).first).to_be_visible()
    shot(page, "flow-4-detail.png")

    # 5. Consent, queue, slip
    refer.click()
    question = t("Does {name} agree to share their details with {partner}?")
    expect(page.get_by_text(question.format(name=PERSON, partner="Atelier École de Kayes"))).to_be_visible(
        timeout=30_000
    )
    tap(page, page.get_by_role("checkbox", name=t("Yes, they agree")))
    tap(page, page.get_by_role("button", name=t("Queue the referral")))
    expect(
        page.get_by_text(t("The referral is queued on this phone: it will be sent at the next sync."))
    ).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name=t("Send by SMS"))).to_be_visible()
    shot(page, "flow-5-referral.png")

    # 6. My referrals
    tap(page, page.get_by_role("button", name=t("Done")))
    expect(page.get_by_role("button", name=t("Their referrals"))).to_be_visible(timeout=30_000)
    page.get_by_role("button", name=re.compile(r"^(Back|Retour)$")).click()  # the app bar's arrow: always on screen
    tap(page, page.get_by_role("button", name=t("My referrals")))
    status = t("Waiting to be sent")  # "En attente d'envoi" in the French catalog
    words = [PERSON, "Atelier École de Kayes", SERVICE_NAME, status]
    line = page.get_by_role("button", name=re.compile(".*".join(re.escape(w) for w in words)))
    expect(line).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name=t("Cancel referral"))).to_be_visible()
    shot(page, "flow-6-my-referrals.png")

    # What the app wrote, read back with sqlite3: the referral, queued, and its outbox entry.
    with sqlite3.connect(f"file:{database_path(app[1])}?mode=ro", uri=True) as db:
        referrals = db.execute("SELECT id, service_id, status, returnee_id FROM referrals").fetchall()
        assert [(r[1], r[2]) for r in referrals] == [(SERVICE, "queued")]
        referral_id, returnee_id = referrals[0][0], referrals[0][3]
        person = db.execute(
            "SELECT given_name, family_name, region, json_extract(document, '$.return_date') FROM returnees"
            " WHERE id = ?",
            [returnee_id],
        )
        assert person.fetchone() == ("Fatoumata", "Traoré", "kayes", "2024-11-02")  # typed 02/11/2024
        outbox = db.execute("SELECT entity, entity_id, op, state FROM outbox ORDER BY seq").fetchall()
        assert outbox == [
            ("returnee", returnee_id, "upsert", "pending"),
            ("referral", referral_id, "create", "pending"),
        ]
