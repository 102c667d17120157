"""Switching languages: the device's language, `in_language` for a block, Bambara falling back to French, the
formats of each language, and FIELD_APP_LANG for the command line."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from field_app import i18n

ROOT = Path(__file__).resolve().parents[2]


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture(autouse=True)
def french_after() -> Iterator[None]:
    i18n.set_language("fr")
    yield
    i18n.set_language("fr")


def test_french_is_the_default_and_others_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIELD_APP_LANG", raising=False)
    assert i18n.set_language() == "fr"
    assert i18n._("No service found.") == "Aucun service trouvé."
    assert i18n.set_language("en") == "en"
    assert i18n._("No service found.") == "No service found."
    assert i18n.set_language("bm") == "bm"
    bambara = i18n._("No service found.")
    assert bambara not in ("No service found.", "Aucun service trouvé.")
    assert i18n.set_language("xx") == "fr"
    assert i18n.set_language("fr_ML") == "fr" and i18n.set_language("BM") == "bm"


def test_field_app_lang_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELD_APP_LANG", "bm")
    assert i18n.set_language() == "bm"
    assert i18n.set_language("en") == "en"  # a language asked for wins over the environment


def test_in_language_switches_for_the_block_and_restores() -> None:
    i18n.set_language("fr")
    with i18n.in_language("en") as lang:
        assert lang == "en" and i18n.language() == "en"
        assert i18n._("No service found.") == "No service found."
        assert i18n.format_km(12.34) == "12.3 km"
        with i18n.in_language("bm"):
            assert i18n.language() == "bm"
            assert plain(i18n.format_fcfa(345000)) == "345 000 F CFA"
        assert i18n.language() == "en"
    assert i18n.language() == "fr"
    assert i18n._("No service found.") == "Aucun service trouvé."
    assert plain(i18n.format_km(12.34)) == "12,3 km"


def test_in_language_restores_after_an_error() -> None:
    i18n.set_language("en")
    with pytest.raises(RuntimeError), i18n.in_language("bm"):
        assert i18n.language() == "bm"
        raise RuntimeError("boom")
    assert i18n.language() == "en"
    assert i18n._("No service found.") == "No service found."


def test_in_language_with_an_unknown_language_means_french() -> None:
    i18n.set_language("en")
    with i18n.in_language("xx") as lang:
        assert lang == "fr" and i18n._("No service found.") == "Aucun service trouvé."
    assert i18n.language() == "en"


def test_in_language_does_not_leak_into_other_threads() -> None:
    """A slip drafted in Bambara in one session does not switch the screen of another."""
    i18n.set_language("fr")
    inside, done = threading.Event(), threading.Event()
    seen: list[str] = []

    def slip() -> None:
        with i18n.in_language("en"):
            inside.set()
            done.wait(5)
            seen.append(i18n._("No service found."))

    worker = threading.Thread(target=slip)
    worker.start()
    assert inside.wait(5)
    try:
        assert i18n.language() == "fr" and i18n._("No service found.") == "Aucun service trouvé."
    finally:
        done.set()
        worker.join(5)
    assert seen == ["No service found."]


def compile_catalog(root: Path, lang: str, messages: dict[str | tuple[str, str], str | tuple[str, ...]]) -> None:
    catalog = Catalog(locale=lang)
    if lang == "bm":
        catalog.mime_headers = [*catalog.mime_headers, ("Plural-Forms", "nplurals=1; plural=0;")]
    for msgid, text in messages.items():
        if isinstance(msgid, tuple) and msgid[0].startswith("ctx:"):
            catalog.add(msgid[1], text, context=msgid[0][4:])
        else:
            catalog.add(msgid, text)
    path = root / lang / "LC_MESSAGES" / "messages.mo"
    path.parent.mkdir(parents=True)
    with path.open("wb") as fh:
        write_mo(fh, catalog)


def test_a_message_missing_in_bambara_is_shown_in_french(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compile_catalog(
        tmp_path,
        "fr",
        {
            "Yes": "Oui",
            "Back": "Retour",
            ("{n} referral", "{n} referrals"): ("{n} orientation", "{n} orientations"),
            ("ctx:woman", "registered"): "enregistrée",
        },
    )
    compile_catalog(tmp_path, "bm", {"Yes": "Ɔwɔ"})
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    i18n.set_language("bm")
    assert i18n._("Yes") == "Ɔwɔ"
    assert i18n._("Back") == "Retour"  # French, not the English msgid
    assert i18n.ngettext("{n} referral", "{n} referrals", 2) == "{n} orientations"
    assert i18n.pgettext("woman", "registered") == "enregistrée"
    assert i18n._("Not in any catalogue") == "Not in any catalogue"
    i18n.set_language("en")  # English has no fallback: its msgids are its words
    assert i18n._("Back") == "Back"
    monkeypatch.undo()
    i18n.set_language("fr")


def test_formats_in_each_language() -> None:
    day = dt.date(2022, 11, 1)
    expected = {
        "fr": ("345 000 F CFA", "1 234 567,5", "1 novembre 2022", "12,3 km"),
        "en": ("345,000 F CFA", "1,234,567.5", "November 1, 2022", "12.3 km"),
        # Bambara: the fr_ML patterns, CLDR's Bambara month names
        "bm": ("345 000 F CFA", "1 234 567,5", "1 nowanburu 2022", "12,3 km"),
    }
    for lang, (fcfa, number, date, km) in expected.items():
        with i18n.in_language(lang):
            got = (i18n.format_fcfa(345000), i18n.format_number(1234567.5), i18n.format_date(day))
            assert tuple(plain(x) for x in got) == (fcfa, number, date), lang
            assert plain(i18n.format_km(12.34)) == km, lang


def field_app(lang: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "field_app", *args],
        cwd=ROOT,
        env={**os.environ, "FIELD_APP_LANG": lang},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_field_app_lang_bm_for_the_command_line(tmp_path: Path) -> None:
    """`FIELD_APP_LANG=bm field-app …` speaks the Bambara catalogue, as fr and en speak theirs."""
    description = "Passerelle: referrals of returning migrants"
    words = {}
    for lang in ("fr", "en", "bm"):
        with i18n.in_language(lang):
            words[lang] = i18n._(description)
    assert len(set(words.values())) == 3  # three different texts, so the output tells the languages apart
    for lang, text in words.items():
        done = field_app(lang, "--help")
        assert done.returncode == 0, done.stderr
        assert text in done.stdout, (lang, done.stdout[:300])
    with i18n.in_language("bm"):
        missing = i18n._("no returnee with id {id}").format(id="nope")
        error = i18n._("error: {reason}").format(reason=missing)
    done = field_app("bm", "returnee", "show", "nope", "--data-dir", str(tmp_path))
    assert done.returncode != 0 and error in done.stderr, done.stderr
