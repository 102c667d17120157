"""Use cases for this device's settings; today the language the app speaks (French, English or Bambara).

The choice is made in the app (the language menu on every screen), kept in the device database (its `settings`
table, `storage.settings`) and applied again at the next start. Without a stored choice the device speaks
FIELD_APP_LANG, else French. The UI calls these functions; it never touches the settings table itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from field_app.errors import Problem, ValidationError
from field_app.i18n import DRAFT_LANGUAGES, LANGUAGES, _, set_language, supported
from field_app.storage import settings

# Each language by its own name, as a speaker looks for it in a menu (never translated).
ENDONYMS = {"fr": "Français", "en": "English", "bm": "Bamanankan"}


@dataclass(frozen=True)
class LanguageChoice:
    """One entry of the language menu."""

    code: str
    name: str  # the language's own name ("Bamanankan")
    draft: bool  # its catalogue is a draft nobody who speaks it has reviewed yet

    @property
    def label(self) -> str:
        """The menu's words: the name, and the draft mark while the catalogue is a draft."""
        return _("{language} (draft)").format(language=self.name) if self.draft else self.name


def language_choices() -> tuple[LanguageChoice, ...]:
    """Every language the app speaks, in menu order."""
    return tuple(LanguageChoice(code, ENDONYMS[code], code in DRAFT_LANGUAGES) for code in LANGUAGES)


def stored_language(db: sqlite_utils.Database) -> str | None:
    """The language chosen on this device, or None when nobody chose one (or it is no longer offered)."""
    return supported(settings.get(db, settings.LANGUAGE))


def start_language(db: sqlite_utils.Database) -> str:
    """Switch to the language chosen on this device (else FIELD_APP_LANG, else French); return it."""
    return set_language(stored_language(db))


def choose_language(db: sqlite_utils.Database, language: str) -> str:
    """Keep `language` as this device's language and switch to it; return its code.

    Raises ValidationError (field "language") for a language the app does not speak; nothing is stored then."""
    code = supported(language)
    if code is None:
        message = _("'{value}' is not a language of the app (one of: {offered})").format(
            value=language, offered=", ".join(LANGUAGES)
        )
        raise ValidationError([Problem("language", message)])
    settings.put(db, settings.LANGUAGE, code)
    return set_language(code)
