"""End to end at phone size (360×640, French): a man registered in Kayes, interested in mechanics, opens his page;
partners nearby come one card per partner with their services, the count line says how many partners and
services matched, the mechanics partners come first and say why, and "Plus de partenaires" loads the next ten
(the IFPT among them), never cutting the list silently. Then the same page on a desktop (1280×800).

The man is registered with the use case into the app's data directory before `field-app run` starts; what the
screen must show is computed with the same use case (`nearby_partners`) on that directory, not written here.
Screenshots: docs/screenshots/nearby-grouped.png (phone), nearby-more.png (after "more"), nearby-desktop.png.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from field_app import i18n
from field_app.directory.nearby import PAGE_PARTNERS, NearbyPage, nearby_partners
from field_app.directory.search import resolve_place
from field_app.directory.store import open_directory
from field_app.domain.ranking import Interests
from field_app.domain.vocabulary import Sector
from field_app.labels import partners_and_services
from field_app.returnees.service import register
from tests.e2e.webapp import SHOTS, VIEW_H, VIEW_W, desk_page, phone_page, reveal, running_app

pytestmark = pytest.mark.e2e

from playwright.sync_api import Locator, Page, expect  # noqa: E402

MECHANIC = {"given_name": "Bakary", "family_name": "Keïta", "sex": "M", "age": 25, "region": "kayes",
            "locality": "kayes", "sectors": ["mechanics"], "consent": True}  # fmt: skip
NOW = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, NearbyPage]]:
    """The app over a data directory holding the man: (url, his id, every partner near Kayes for him)."""
    data_dir: Path = tmp_path_factory.mktemp("e2e-nearby")
    db = open_directory(data_dir)
    person = register(db, MECHANIC, now=NOW)
    kayes = resolve_place(db, "kayes")
    today = dt.datetime.now(dt.UTC).date()  # the app's clock
    whole = nearby_partners(
        db, person.profile(today), (kayes.latitude, kayes.longitude), today=today,
        interests=Interests(frozenset({Sector.MECHANICS})), limit=None,
    )  # fmt: skip
    db.close()
    with running_app(data_dir) as url:
        yield url, person.id, whole


@pytest.fixture
def french() -> Iterator[None]:
    before = i18n.language()
    i18n.set_language("fr")
    yield
    i18n.set_language(before)


def shot(page: Page, name: str, *, top: bool = True, height: int = VIEW_H) -> None:
    if top:
        page.mouse.move(VIEW_W / 2, height / 2)
        page.mouse.wheel(0, -20000)
    page.mouse.move(VIEW_W / 3, 28)  # on the app bar's title: no tooltip, no hover on the screen
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(1200)  # the semantics tree is ready before the canvas has painted
    page.screenshot(path=str(SHOTS / name))


def top_of_list(page: Page, locator: Locator) -> None:
    """Scroll until `locator` (the count line) is near the top, the first cards under it."""
    target = reveal(page, locator)
    for _ in range(20):
        box = target.bounding_box()
        if box is None or box["y"] < 140:
            return
        page.mouse.move(VIEW_W / 2, VIEW_H / 2)
        page.mouse.wheel(0, min(200, box["y"] - 100))
        page.wait_for_timeout(150)


def card(page: Page, rank: int, name: str) -> Locator:
    """A partner's card, by its heading ("2. Institut de Formation Professionnelle Industrielle de Kayes")."""
    return page.get_by_role("heading", name=f"{rank}. {name}", exact=True)


def more_button(shown: int, total: int) -> str:
    return i18n.ngettext(
        "Show more partners ({shown} of {total} shown)", "Show more partners ({shown} of {total} shown)", shown
    ).format(shown=shown, total=total)


def test_a_man_interested_in_mechanics_sees_partners_grouped_and_loads_more(
    app: tuple[str, str, NearbyPage], french: None
) -> None:
    url, person_id, whole = app
    names = [p.organization for p in whole.partners]
    assert [p.organization_id for p in whole.partners[:2]] == ["atelier-ecole-kayes", "ifpi-kayes"]
    assert whole.total_partners > 2 * PAGE_PARTNERS  # three pages or more: "more" is needed twice
    ifpt = next(i for i, p in enumerate(whole.partners) if p.organization_id == "ifpt-kayes")
    with phone_page(f"{url}returnee/{person_id}") as page:
        count = partners_and_services(whole.total_partners, whole.total_services)  # "24 partenaires, 121 services"
        expect(page.get_by_text(re.compile(re.escape(count)))).to_be_visible(timeout=30_000)
        first, second = card(page, 1, names[0]), card(page, 2, names[1])
        expect(first).to_be_attached()
        expect(second).to_be_attached()
        # why each stands there: the sector he asked for
        why = re.escape(i18n.labelled(i18n._("Why here"), "Éligible · Mécanique, un secteur d'intérêt"))
        expect(page.get_by_role("group", name=re.compile(f"16 services {why}"))).to_be_attached()
        ifpi_why = re.compile(f"{why} \\(Maintenance automobile, éligible si…\\)")  # from another of its services
        expect(page.get_by_role("group", name=ifpi_why)).to_be_attached()
        interests = re.escape(i18n.labelled(i18n._("Interests"), "Mécanique"))
        expect(page.get_by_text(re.compile(interests))).to_be_attached()
        # a service reads as one button: the service, its partner, the verdict, where, the fee
        tile = page.get_by_role("button", name=re.compile(r"^Groupes .*Atelier École de Kayes.*Éligible.*0 km · Kayes"))
        expect(tile.first).to_be_attached()
        top_of_list(page, page.get_by_text(re.compile(re.escape(count))))
        shot(page, "nearby-grouped.png", top=False)
        box1, box2 = reveal(page, first).bounding_box(), second.bounding_box()
        assert box1 is not None
        assert box2 is not None and box2["y"] > box1["y"]  # the mechanics partners first, in this order
        # the first page holds ten partners, no more: the rest is behind "more", and the count said so
        expect(card(page, PAGE_PARTNERS, names[PAGE_PARTNERS - 1])).to_be_attached()
        expect(card(page, PAGE_PARTNERS + 1, names[PAGE_PARTNERS])).to_have_count(0)
        more = page.get_by_role("button", name=more_button(PAGE_PARTNERS, whole.total_partners))
        reveal(page, more).click()
        expect(card(page, PAGE_PARTNERS + 1, names[PAGE_PARTNERS])).to_be_attached(timeout=30_000)
        expect(card(page, 2 * PAGE_PARTNERS, names[2 * PAGE_PARTNERS - 1])).to_be_attached()
        expect(page.get_by_role("button", name=more_button(2 * PAGE_PARTNERS, whole.total_partners))).to_be_attached()
        expect(card(page, 1, names[0])).to_be_attached()  # the first page stays above
        if ifpt < 2 * PAGE_PARTNERS:
            expect(card(page, ifpt + 1, "Institut de Formation Professionnelle Tertiaire de Kayes")).to_be_attached()
        reveal(page, card(page, PAGE_PARTNERS + 1, names[PAGE_PARTNERS]))
        shot(page, "nearby-more.png", top=False)
        # "more" until the end: every partner once, and no "more" button left
        page.get_by_role("button", name=more_button(2 * PAGE_PARTNERS, whole.total_partners)).click()
        expect(card(page, whole.total_partners, names[-1])).to_be_attached(timeout=30_000)
        expect(page.get_by_role("button", name=re.compile("Plus de partenaires"))).to_have_count(0)


def test_the_same_page_on_a_desktop(app: tuple[str, str, NearbyPage], french: None) -> None:
    url, person_id, whole = app
    with desk_page(f"{url}returnee/{person_id}") as page:
        count = partners_and_services(whole.total_partners, whole.total_services)
        expect(page.get_by_text(re.compile(re.escape(count)))).to_be_visible(timeout=30_000)
        expect(card(page, 1, whole.partners[0].organization)).to_be_attached()
        page.mouse.move(640, 400)
        page.mouse.wheel(0, 260)
        page.wait_for_timeout(400)
        page.mouse.move(640, 28)
        page.wait_for_timeout(1200)
        page.screenshot(path=str(SHOTS / "nearby-desktop.png"))
