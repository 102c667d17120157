"""Every user-facing string is in the catalogs, translated in French and English; formats follow the locale."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from field_app import i18n

ROOT = Path(__file__).resolve().parents[2]


def extracted() -> set[str]:
    keywords = {"_": None, "N_": None}
    found = extract_from_dir(str(ROOT / "field_app"), keywords=keywords)
    return {msg for _, _, msg, _, _ in found if isinstance(msg, str)}


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_catalog_covers_every_string(lang: str) -> None:
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = extracted() - translated
    assert not missing, f"untranslated in {lang}: {sorted(missing)} — run tools/update_locales.py and translate"


def test_placeholders_survive_translation() -> None:
    import re

    with (ROOT / "locales" / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        for m in read_po(fh):
            if not (m.id and m.string):
                continue
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            wanted = set().union(*(re.findall(r"{\w+}", i) for i in ids))  # a singular may leave {n} out
            for text in strings:
                assert set(re.findall(r"{\w+}", text)) <= wanted, m.id
            assert set(re.findall(r"{\w+}", strings[-1])) == set(re.findall(r"{\w+}", ids[-1])), m.id


@pytest.fixture
def lang() -> Iterator[None]:
    yield
    i18n.set_language("fr")


def test_french_is_the_default_and_english_switches(lang: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELD_APP_LANG", raising=False)
    assert i18n.set_language() == "fr"
    assert i18n._("No service found.") == "Aucun service trouvé."
    assert i18n.set_language("en") == "en"
    assert i18n._("No service found.") == "No service found."
    assert i18n.set_language("xx") == "fr"


def test_fcfa_numbers_and_dates(lang: None) -> None:
    i18n.set_language("fr")
    assert i18n.format_fcfa(345000).replace("\u202f", " ").replace("\xa0", " ") == "345 000 F CFA"
    assert i18n.format_date(dt.date(2022, 11, 1)) == "1 novembre 2022"
    assert i18n.format_km(12.34).replace("\xa0", " ") == "12,3 km"
    i18n.set_language("en")
    assert i18n.format_km(12.34) == "12.3 km"
    assert i18n.format_fcfa(25000).replace("\u202f", " ").replace("\xa0", " ") == "25,000 F CFA"  # unit after
