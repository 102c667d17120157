"""Translations (gettext, via babel) and locale-aware formatting. French is the default language.

Message ids are English; `locales/<lang>/LC_MESSAGES/messages.po` holds French and English (Bambara later).
Use `_("…")` for every user-facing string and the `format_*` helpers for numbers, dates and FCFA.
"""

from __future__ import annotations

import datetime as dt
import gettext
import os
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"
LANGUAGES = ("fr", "en")
BABEL_LOCALES = {"fr": "fr_ML", "en": "en", "bm": "bm_ML"}
DEFAULT_LANGUAGE = "fr"

_current: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT_LANGUAGE


def set_language(language: str | None = None) -> str:
    """Switch the process to `language` (else FIELD_APP_LANG, else French); returns the language in force."""
    global _current, _language
    language = (language or os.environ.get("FIELD_APP_LANG") or DEFAULT_LANGUAGE).split("_")[0].lower()
    if language not in LANGUAGES:
        language = DEFAULT_LANGUAGE
    _current = Translations.load(str(LOCALES_DIR), [language], DOMAIN)
    _language = language
    return language


def language() -> str:
    return _language


def _(message: str) -> str:
    """Translate `message` into the current language."""
    return _current.gettext(message)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it now (translate later with `_`)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return _current.ngettext(singular, plural, n)


def labelled(label: object, value: object) -> str:
    """ "Label: value" as each language writes it (French puts a space before the colon)."""
    return _("{label}: {value}").format(label=label, value=value)


def pgettext(context: str, message: str) -> str:
    """Translate `message` as meant in `context` (the same English word may need other words in French)."""
    return _current.pgettext(context, message)


def _locale() -> Locale:
    return Locale.parse(BABEL_LOCALES[_language])


def format_fcfa(amount: int | float | Decimal) -> str:
    """An amount in FCFA (ISO XOF) as people in Mali read it, e.g. "10 000 F CFA" (unit after, every language)."""
    return format_currency(amount, "XOF", format="#,##0\u00a0¤", locale=_locale())


def format_number(value: int | float | Decimal) -> str:
    return format_decimal(value, locale=_locale())


def format_km(value: float) -> str:
    return _("{distance} km").format(distance=format_decimal(round(value, 1), locale=_locale()))


def format_date(value: dt.date) -> str:
    return _babel_format_date(value, format="long", locale=_locale())


set_language()
