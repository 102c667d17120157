"""Translations (gettext, via babel) and locale-aware formatting. French is the default language.

Message ids are English; `locales/<lang>/LC_MESSAGES/messages.po` holds French, English and Bambara (`bm`, a
draft until a Bamanankan speaker has reviewed it). A message missing from the Bambara catalogue is shown in French
(the language every agent reads), never in English. Use `_("…")` for every user-facing string, `ngettext` for
counts, `pgettext` where the same English word needs other words (gender, context), and the `format_*` helpers
for numbers, dates and FCFA.

The language in force is the device's (`set_language`, called at start with the device's stored choice or
FIELD_APP_LANG). `in_language(lang)` switches it for a block only — an SMS slip in the person's language while the
screen stays in the agent's — and only for the calling thread or task (a context variable), so other sessions
served by the same process are not affected.

Formatting: numbers and FCFA amounts follow the `fr_ML` patterns in French and in Bambara (CLDR's Bambara data
has the English number pattern, which nobody in Mali writes: "1 000" not "1,000"); dates follow the `fr_ML` long
pattern ("1 novembre 2022"), with Bambara month names from CLDR in Bambara ("1 nowanburu 2022").
"""

from __future__ import annotations

import datetime as dt
import gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DOMAIN = "messages"
LANGUAGES = ("fr", "en", "bm")
# Names (months, countries…) come from each language's own CLDR data…
BABEL_LOCALES = {"fr": "fr_ML", "en": "en", "bm": "bm_ML"}
# …numbers, FCFA and the shape of dates from these (Bambara is written with Mali's French conventions).
FORMAT_LOCALES = {"fr": "fr_ML", "en": "en", "bm": "fr_ML"}
FALLBACKS = {"bm": "fr"}  # a message missing in Bambara is shown in French
DEFAULT_LANGUAGE = "fr"
DRAFT_LANGUAGES = frozenset({"bm"})  # no speaker has reviewed these catalogues yet


@dataclass(frozen=True)
class _Language:
    code: str
    translations: gettext.NullTranslations


@cache
def _load(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language`, falling back along FALLBACKS (bm → fr); cached until the next
    `set_language`."""
    translations: gettext.NullTranslations = Translations.load(str(LOCALES_DIR), [language], DOMAIN)
    fallback = FALLBACKS.get(language)
    if fallback is not None:
        translations.add_fallback(_load(fallback))
    return translations


def supported(language: str | None) -> str | None:
    """`language` as one of LANGUAGES ("fr_ML" → "fr", "BM" → "bm"), or None when it is not one of them."""
    if not language:
        return None
    code = language.replace("-", "_").split("_")[0].lower()
    return code if code in LANGUAGES else None


_device = _Language(DEFAULT_LANGUAGE, gettext.NullTranslations())
_override: ContextVar[_Language | None] = ContextVar("field_app_language", default=None)


def _active() -> _Language:
    return _override.get() or _device


def set_language(language: str | None = None) -> str:
    """Switch the process to `language` (else FIELD_APP_LANG, else French); returns the language in force."""
    global _device
    _load.cache_clear()  # read the catalogues again (they may have been compiled since)
    code = supported(language) or supported(os.environ.get("FIELD_APP_LANG")) or DEFAULT_LANGUAGE
    _device = _Language(code, _load(code))
    return code


def language() -> str:
    """The language in force here (the one `in_language` set for this block, else the device's)."""
    return _active().code


@contextmanager
def in_language(lang: str) -> Iterator[str]:
    """Translate and format in `lang` inside the block (e.g. a slip in the person's language), then go back to
    the language before it — also when the block raises. Unknown languages mean French. Yields the language."""
    code = supported(lang) or DEFAULT_LANGUAGE
    token = _override.set(_Language(code, _load(code)))
    try:
        yield code
    finally:
        _override.reset(token)


def _(message: str) -> str:
    """Translate `message` into the current language."""
    return _active().translations.gettext(message)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it now (translate later with `_`)."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a count message for `n` ("1 service", "2 services"; one form in Bambara)."""
    return _active().translations.ngettext(singular, plural, n)


def labelled(label: object, value: object) -> str:
    """ "Label: value" as each language writes it (French puts a space before the colon)."""
    return _("{label}: {value}").format(label=label, value=value)


def pgettext(context: str, message: str) -> str:
    """Translate `message` as meant in `context` (the same English word may need other words in French)."""
    return _active().translations.pgettext(context, message)


def _locale() -> Locale:
    """The babel locale for numbers, FCFA and date patterns in the current language."""
    return Locale.parse(FORMAT_LOCALES[language()])


def names_locale() -> Locale:
    """The babel locale whose names (months, countries) the current language uses."""
    return Locale.parse(BABEL_LOCALES[language()])


def format_fcfa(amount: int | float | Decimal) -> str:
    """An amount in FCFA (ISO XOF) as people in Mali read it, e.g. "10 000 F CFA" (unit after, every language)."""
    return format_currency(amount, "XOF", format="#,##0\u00a0¤", locale=_locale())


def format_number(value: int | float | Decimal) -> str:
    return format_decimal(value, locale=_locale())


def format_km(value: float) -> str:
    return _("{distance} km").format(distance=format_decimal(round(value, 1), locale=_locale()))


def format_date(value: dt.date) -> str:
    """A date in full ("1 novembre 2022"): the pattern of the format locale, the month names of the language."""
    pattern = _locale().date_formats["long"].pattern
    return _babel_format_date(value, format=pattern, locale=names_locale())


set_language()
