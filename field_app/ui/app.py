"""Composition root: open the local store, wire routing, the clock and the phone's position; serve the web app.

Language: each session starts in the language chosen on this device (`field_app.settings`), and the language menu
calls `relabel`, which draws the page again in the new one. The page's locale follows, so Flutter's own words
(tooltips, "Alert", date pickers) and `<html lang>` are French or English; Flutter has no Bambara, so a Bambara
page gets Flutter's French (as the catalogue falls back to French), and `assets/index.html` — Flet's own page plus
a few lines — sets `lang="bm"` from the language the app keeps in the browser's storage. The theme font is the
bundled Noto Sans (assets/fonts, OFL), so ɛ ɔ ɲ ŋ render with no font on the phone and no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flet as ft
from flet_geolocator import Geolocator, GeolocatorPermissionStatus

from field_app.directory.store import open_directory
from field_app.i18n import _
from field_app.settings import start_language
from field_app.storage.database import open_db
from field_app.storage.paths import database_path
from field_app.sync.engine import INTERVAL_S
from field_app.ui.router import WIDE_PX, Router
from field_app.ui.viewmodels.language import LanguageViewModel
from field_app.ui.viewmodels.sync import SyncRunner, SyncViewModel
from field_app.ui.views.common import Nav
from field_app.ui.views.language import language_menu

if TYPE_CHECKING:
    from field_app.ui.viewmodels.nearby import LocationProblem
    from field_app.ui.views.nearby import Locate

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
FONT_FAMILY = "Noto Sans"
SYMBOLS_FAMILY = "Noto Sans Symbols"  # arrows and signs Noto Sans lacks ("before → after")
FONTS = {FONT_FAMILY: "fonts/NotoSans-Regular.ttf", SYMBOLS_FAMILY: "fonts/NotoSansSymbols-Regular.ttf"}  # in assets/
TEXT_STYLES = tuple(
    f"{size}_{kind}"
    for size in ("display", "headline", "title", "label", "body")
    for kind in ("large", "medium", "small")
)
# The locale Flutter draws its own words in, per app language: it has no Bambara (French, like the catalogue).
FLUTTER_LOCALES = {"fr": "fr", "en": "en", "bm": "fr"}
LANG_HINT_KEY = "passerelle.lang"  # read by assets/index.html as localStorage["flutter.passerelle.lang"]
REFUSED = (GeolocatorPermissionStatus.DENIED, GeolocatorPermissionStatus.DENIED_FOREVER)


def utc_now() -> dt.datetime:
    """The one place the app reads the clock; view models get it injected."""
    return dt.datetime.now(dt.UTC)


def make_locator(geo: Geolocator, timeout_s: float = 30) -> Locate:
    """Ask for permission, then for the phone's position: (lat, lon), or why there is none."""

    async def locate() -> tuple[float, float] | LocationProblem:
        from field_app.ui.viewmodels.nearby import LocationProblem  # the nearby screen's: loaded with it

        try:
            status = await asyncio.wait_for(geo.request_permission(), timeout_s)
            if status in REFUSED:
                return LocationProblem.DENIED
            position = await asyncio.wait_for(geo.get_current_position(), timeout_s)
        except (TimeoutError, RuntimeError):  # no answer, or the client says it cannot
            return LocationProblem.UNAVAILABLE
        if position.latitude is None or position.longitude is None:
            return LocationProblem.UNAVAILABLE
        return (float(position.latitude), float(position.longitude))

    return locate


def locale_configuration(language: str) -> ft.LocaleConfiguration:
    """Flutter's locale for an app language: French and English are the locales Flutter is offered."""
    return ft.LocaleConfiguration(
        supported_locales=[ft.Locale("fr"), ft.Locale("en")],
        current_locale=ft.Locale(FLUTTER_LOCALES.get(language, "fr")),
    )


def dress(page: ft.Page) -> None:
    """The page's look: light theme, phone-sized touch targets, the bundled Noto Sans (every Bambara letter) with
    Noto Sans Symbols behind it in every text style (offline, Flutter finds no other font for a missing glyph)."""
    page.theme_mode = ft.ThemeMode.LIGHT
    page.fonts = FONTS
    style = ft.TextStyle(font_family=FONT_FAMILY, font_family_fallback=[SYMBOLS_FAMILY])
    page.theme = ft.Theme(
        visual_density=ft.VisualDensity.STANDARD,
        font_family=FONT_FAMILY,
        text_theme=ft.TextTheme(**{name: style for name in TEXT_STYLES}),
    )


def speak(page: ft.Page, language: str, remember: Callable[[str], Awaitable[Any]]) -> None:
    """The page in `language` (already in force in i18n): its title, Flutter's locale, and the browser's hint for
    `<html lang>` (`remember`, SharedPreferences.set bound to LANG_HINT_KEY, run on the page's loop)."""
    page.title = _("Passerelle — returnees and partners")
    page.locale_configuration = locale_configuration(language)

    async def hint() -> None:
        with contextlib.suppress(TimeoutError, RuntimeError):  # only `<html lang>` depends on it
            await remember(language)

    page.run_task(hint)


def make_main(
    data_dir: Path, clock: Callable[[], dt.datetime] = utc_now, *, sync_interval_s: float = INTERVAL_S
) -> Callable[[ft.Page], None]:
    def main(page: ft.Page) -> None:
        db = open_directory(data_dir)  # once per session
        dress(page)
        locate = make_locator(Geolocator())
        prefs = ft.SharedPreferences()

        def remember(language: str) -> Awaitable[bool]:
            return prefs.set(LANG_HINT_KEY, language)

        def apply_language(language: str) -> None:
            speak(page, language, remember)

        apply_language(start_language(db))

        def back() -> None:
            if len(page.views) > 1:
                page.navigate(page.views[-2].route or "/")

        def close_dialog() -> None:
            page.pop_dialog()

        nav = Nav(
            go=page.navigate, back=back, show_dialog=page.show_dialog, close_dialog=close_dialog, update=page.update
        )
        # Sync in the background on its own connection: at start, every few minutes, after failures with
        # backoff, and when asked ("Sync now", enrolment, the page reconnecting).
        sync_vm = SyncViewModel(db, clock)
        runner = SyncRunner(
            lambda: open_db(database_path(data_dir)), clock, random.Random(), sync_vm, interval_s=sync_interval_s
        )

        def is_wide() -> bool:
            return (page.width or 0) >= WIDE_PX

        def relabel(language: str) -> None:  # a language was chosen in the menu: everything again in it
            apply_language(language)
            router.forget_views()
            show(page.route or "/")

        language_vm = LanguageViewModel(db, relabel)
        router = Router(
            db,
            clock,
            nav,
            locate,
            sync=runner,
            wide=is_wide(),
            data_dir=data_dir,
            app_bar=lambda: [language_menu(language_vm)],
        )

        async def redraw_sync() -> None:
            router.sync_changed()
            page.update()

        def on_sync_change() -> None:  # sync events come from a worker thread: hop to the page's loop
            page.run_task(redraw_sync)

        sync_vm.subscribe(on_sync_change)

        def show(route: str) -> None:
            page.views.clear()
            page.views.extend(router.views_for(route))
            page.update()

        def on_route_change(e: Any) -> None:
            show(e.route)

        def on_view_pop(e: Any) -> None:
            back()

        def on_resize(e: Any) -> None:  # desktop ↔ phone layout: the same screens, drawn again
            if router.set_wide(is_wide()):
                show(page.route or "/")

        def on_connect(e: Any) -> None:
            runner.request()

        def on_close(e: Any) -> None:
            runner.stop()

        page.on_route_change = on_route_change
        page.on_view_pop = on_view_pop
        page.on_connect = on_connect
        page.on_resize = on_resize
        page.on_close = on_close
        show(page.route or "/")
        page.run_task(runner.run)

    return main


def serve(data_dir: Path, host: str = "127.0.0.1", port: int = 8550) -> None:
    """Serve the app in web mode on host:port; prints the URL first (`make run`)."""
    open_directory(data_dir).close()  # build the store before the first visitor, and fail early if it cannot
    print(
        _("Passerelle is running: open http://{host}:{port}/ (Ctrl+C to stop)").format(host=host, port=port), flush=True
    )
    ft.run(
        make_main(data_dir),
        view=ft.AppView.WEB_BROWSER,
        host=host,
        port=port,
        no_cdn=True,
        assets_dir=str(ASSETS_DIR),
    )
