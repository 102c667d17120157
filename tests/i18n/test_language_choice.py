"""The language chosen in the app: kept in the device database, applied at the next start, offered in a menu on
every screen's app bar, redrawing the screen in the new language; Flutter's locale follows."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import flet as ft
import pytest
import sqlite_utils

from field_app import i18n
from field_app.errors import ValidationError
from field_app.settings import choose_language, language_choices, start_language, stored_language
from field_app.storage import settings
from field_app.storage.database import open_db
from field_app.ui import app
from field_app.ui.router import Router
from field_app.ui.viewmodels.language import LanguageViewModel
from field_app.ui.views.common import Nav
from field_app.ui.views.language import language_menu
from tests.ui.helpers import texts, walk

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def french(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("FIELD_APP_LANG", raising=False)
    i18n.set_language("fr")
    yield
    i18n.set_language("fr")


def test_the_choice_is_kept_and_applied_at_the_next_start(tmp_path: Path) -> None:
    db = open_db(tmp_path / "field_app.db")
    assert stored_language(db) is None and start_language(db) == "fr"  # nobody chose: French
    assert choose_language(db, "bm") == "bm" and i18n.language() == "bm"
    db.close()
    i18n.set_language("fr")  # a new process starts in French…
    again = open_db(tmp_path / "field_app.db")
    assert start_language(again) == "bm" and i18n.language() == "bm"  # …and the device's choice is applied
    assert choose_language(again, "en") == "en"
    assert settings.get(again, settings.LANGUAGE) == "en"  # one row, replaced
    assert again.execute("SELECT count(*) FROM settings WHERE key = 'language'").fetchone()[0] == 1
    again.close()


def test_without_a_choice_the_environment_decides(
    fresh_db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIELD_APP_LANG", "en")
    assert start_language(fresh_db) == "en"
    choose_language(fresh_db, "fr")
    assert start_language(fresh_db) == "fr"  # the device's choice wins over the environment


def test_an_unknown_language_is_refused_and_nothing_stored(fresh_db: sqlite_utils.Database) -> None:
    with pytest.raises(ValidationError) as err:
        choose_language(fresh_db, "xx")
    assert err.value.problems[0].field == "language" and "xx" in err.value.problems[0].message
    assert stored_language(fresh_db) is None and i18n.language() == "fr"


def test_a_stored_language_no_longer_offered_is_ignored(fresh_db: sqlite_utils.Database) -> None:
    settings.put(fresh_db, settings.LANGUAGE, "wo")
    assert stored_language(fresh_db) is None and start_language(fresh_db) == "fr"


def test_the_menu_names_each_language_in_itself_and_marks_the_draft() -> None:
    with i18n.in_language("en"):
        assert [c.label for c in language_choices()] == ["Français", "English", "Bamanankan (draft)"]
    with i18n.in_language("fr"):
        labels = [c.label for c in language_choices()]
        assert (
            labels[:2] == ["Français", "English"]
            and labels[2].startswith("Bamanankan (")
            and labels[2] != ("Bamanankan")
        )


def menu_items(root: object) -> dict[str, ft.PopupMenuItem]:
    return {str(c.key): c for c in walk(root) if isinstance(c, ft.PopupMenuItem)}


def test_the_menu_control_ticks_the_language_in_force_and_chooses(fresh_db: sqlite_utils.Database) -> None:
    chosen: list[str] = []
    vm = LanguageViewModel(fresh_db, chosen.append)
    menu = language_menu(vm)
    assert isinstance(menu, ft.Semantics) and menu.label == i18n._("Language: {language}").format(language="Français")
    items = menu_items(menu)
    assert set(items) == {"language-fr", "language-en", "language-bm"}
    assert [k for k, item in items.items() if item.checked] == ["language-fr"]
    button = next(c for c in walk(menu) if isinstance(c, ft.PopupMenuButton))
    assert (button.width, button.height) == (48, 48)  # a 48 px target
    items["language-fr"].on_click(ft.Event(name="click", control=items["language-fr"]))  # type: ignore[misc]
    assert chosen == [] and stored_language(fresh_db) is None  # the one in force: nothing to do
    items["language-en"].on_click(ft.Event(name="click", control=items["language-en"]))  # type: ignore[misc]
    assert chosen == ["en"] and stored_language(fresh_db) == "en" and i18n.language() == "en"


def test_every_screen_has_the_menu_and_choosing_redraws_it(fresh_db: sqlite_utils.Database) -> None:
    """The composition root's wiring, off-page: the home screen in French, then English from its menu."""
    redrawn: list[str] = []
    nav = Nav(go=lambda r: None, back=lambda: None, show_dialog=lambda d: None, close_dialog=lambda: None)
    router: Router | None = None

    def relabel(code: str) -> None:
        assert router is not None
        router.forget_views()
        redrawn.append(code)

    vm = LanguageViewModel(fresh_db, relabel)
    router = Router(fresh_db, lambda: NOW, nav, app_bar=lambda: [language_menu(vm)])
    for route in ("/", "/directory", "/sync", "/returnee/new", "/nowhere"):
        view = router.views_for(route)[-1]
        assert isinstance(view.appbar, ft.AppBar)
        assert "language-bm" in menu_items(view.appbar), route
    home = router.views_for("/")[-1]
    french_words = texts(home)
    item = menu_items(home.appbar)["language-en"]
    item.on_click(ft.Event(name="click", control=item))  # type: ignore[misc]
    assert redrawn == ["en"]
    again = router.views_for("/")[-1]
    assert again is not home  # drawn again, not the cached French screen
    english_words = texts(again)
    assert english_words != french_words
    with i18n.in_language("fr"):
        register_fr = i18n._("Register a returnee")
    assert "Register a returnee" in english_words and register_fr in french_words


def test_flutter_gets_french_for_bambara_and_the_bundled_font() -> None:
    """Flutter has no Bambara: its own words (tooltips, "Alert") are French then, like the catalogue's fallback."""
    for lang, flutter in {"fr": "fr", "en": "en", "bm": "fr"}.items():
        config = app.locale_configuration(lang)
        assert config.current_locale is not None and config.current_locale.language_code == flutter
        assert {loc.language_code for loc in config.supported_locales} == {"fr", "en"}
    for path in app.FONTS.values():
        assert (app.ASSETS_DIR / path).is_file(), path


def test_the_page_speaks_the_language_with_the_bundled_font() -> None:
    """What a session start and a menu choice do to the page: Noto Sans, the title, Flutter's locale, the hint."""
    tasks: list[Callable[[], Awaitable[None]]] = []
    page = SimpleNamespace(run_task=tasks.append)
    app.dress(page)  # type: ignore[arg-type]
    assert page.fonts == app.FONTS and page.theme.font_family == app.FONT_FAMILY
    styles = [getattr(page.theme.text_theme, name) for name in app.TEXT_STYLES]
    assert len(styles) == 15 and all(s.font_family_fallback == [app.SYMBOLS_FAMILY] for s in styles)
    remembered: list[str] = []

    async def remember(language: str) -> None:
        remembered.append(language)

    with i18n.in_language("bm"):
        app.speak(page, "bm", remember)  # type: ignore[arg-type]
        title = i18n._("Passerelle — returnees and partners")
    assert page.title == title and page.locale_configuration.current_locale.language_code == "fr"
    for task in tasks:
        asyncio.run(task())
    assert remembered == ["bm"]

    async def refused(language: str) -> None:
        raise TimeoutError  # the browser never answered: the page's lang only is not set

    app.speak(page, "en", refused)  # type: ignore[arg-type]
    asyncio.run(tasks[-1]())
    assert page.locale_configuration.current_locale.language_code == "en"
