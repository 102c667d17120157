"""The language menu on every screen: which languages there are, which one is in force, and choosing one.

Choosing keeps the language for this device (`field_app.settings`) and tells the app to draw the screen again in
it (`relabel`, given by the composition root: it also sets the page's locale, so Flutter's own words and the
page's `lang` follow)."""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from field_app.i18n import _, language
from field_app.settings import LanguageChoice, choose_language, language_choices


class LanguageViewModel:
    def __init__(self, db: sqlite_utils.Database, relabel: Callable[[str], None]):
        self.db = db
        self.relabel = relabel

    @property
    def choices(self) -> tuple[LanguageChoice, ...]:
        return language_choices()

    @property
    def current(self) -> str:
        return language()

    @property
    def title(self) -> str:
        """The menu's accessible name: "Language: Français"."""
        names = {c.code: c.name for c in self.choices}
        return _("Language: {language}").format(language=names.get(self.current, self.current))

    def choose(self, code: str) -> None:
        """Keep `code` for this device and draw the app again in it (nothing happens for the one in force)."""
        if code == self.current:
            return
        self.relabel(choose_language(self.db, code))
