"""The catalogues: every user-facing string of field_app (singular, plural, with context) is translated in French,
English and Bambara; Bambara is marked as a draft entry by entry; format placeholders survive every translation;
each language has its plural forms and ngettext picks the right one for 0, 1 and 2."""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from field_app import i18n

ROOT = Path(__file__).resolve().parents[2]
# the keywords tools/update_locales.py extracts with, in babel's spec form
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2), "npgettext": ((1, "c"), 2, 3)}
PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "en": "nplurals=2; plural=(n != 1);",
    "bm": "nplurals=1; plural=0;",
}
DRAFT = "DRAFT: machine-drafted, to be reviewed by a Bamanankan speaker"


def catalog(lang: str) -> Catalog:
    with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def entries(lang: str) -> Iterator[Message]:
    yield from (m for m in catalog(lang) if m.id)


def key(context: str | None, msgid: str | tuple[str, ...]) -> tuple[str | None, str]:
    return (context, msgid[0] if isinstance(msgid, tuple | list) else msgid)


def extracted() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message the code marks, as the tool extracts them."""
    found = extract_from_dir(str(ROOT / "field_app"), keywords=KEYWORDS)
    return {key(context, message) for _, _, message, _, context in found}


def forms(m: Message) -> tuple[str, ...]:
    return tuple(m.string) if isinstance(m.string, tuple | list) else (m.string,)


def translated(m: Message) -> bool:
    return all(forms(m)) if m.string else False


def test_every_language_has_a_catalogue() -> None:
    assert set(i18n.LANGUAGES) == {"fr", "en", "bm"}
    for lang in i18n.LANGUAGES:
        assert (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").exists(), lang


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_catalog_covers_every_string(lang: str) -> None:
    done = {key(m.context, m.id) for m in entries(lang) if translated(m)}
    missing = sorted(extracted() - done, key=lambda k: (k[1], k[0] or ""))
    assert not missing, f"untranslated in {lang}: {missing} — run tools/update_locales.py and fill them"


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_no_entry_is_fuzzy(lang: str) -> None:
    """A fuzzy entry (babel marks one when a message changes shape, e.g. becomes a plural) is left out of the
    compiled catalogue: the app would show English however complete the .po file looks."""
    fuzzy = [m.id for m in entries(lang) if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy in {lang}: {fuzzy} — check the translation and drop the flag"


def test_extraction_sees_plurals_and_contexts() -> None:
    """The completeness check would be empty talk if it missed ngettext and pgettext messages."""
    found = extracted()
    plural_ids = {key(m.context, m.id) for m in entries("fr") if isinstance(m.id, tuple)}
    assert plural_ids and plural_ids <= found
    assert any(context for context, _ in found)


def test_every_bambara_entry_is_marked_as_a_draft() -> None:
    unmarked = [key(m.context, m.id) for m in entries("bm") if DRAFT not in m.user_comments]
    assert not unmarked, f"Bambara entries without the DRAFT translator comment: {unmarked[:10]}"
    assert "bm" in i18n.DRAFT_LANGUAGES  # and the menu says so ("Bamanankan (draft)")


def placeholders(text: str) -> set[str]:
    """The format fields of `text`: "{name}", "{code!r}", "{n:>3}" and printf "%(name)s", "%d"."""
    found: set[str] = set()
    try:
        for _, field, spec, conversion in string.Formatter().parse(text):
            if field is not None:
                found.add("{" + field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}")
    except ValueError:  # not a brace format string at all (a lone "{")
        found.add(f"<unbalanced braces in {text!r}>")
    found |= set(re.findall(r"%\(\w+\)[sdifr]|%[sdifr]", text))
    return found


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_placeholders_survive_translation(lang: str) -> None:
    """No placeholder lost or added: a singular text keeps exactly its msgid's; each plural form uses only the
    msgid's, and the plural form (Bambara's only one) keeps exactly msgid_plural's (a singular may say "one")."""
    problems = []
    for m in entries(lang):
        if not translated(m):
            continue
        if isinstance(m.id, tuple):
            allowed = placeholders(m.id[0]) | placeholders(m.id[1])
            texts = forms(m)
            if any(not placeholders(t) <= allowed for t in texts) or placeholders(texts[-1]) != placeholders(m.id[1]):
                problems.append((m.id, texts))
        elif placeholders(str(m.string)) != placeholders(m.id):
            problems.append((m.id, m.string))
    assert not problems, f"{lang}: placeholders changed in {problems}"


def test_the_placeholder_check_can_fail() -> None:
    assert placeholders("{n} of {total}") == {"{n}", "{total}"}
    assert placeholders("code {code!r}; %(x)s") == {"{code!r}", "%(x)s"}
    assert placeholders("{n} sur {totl}") != placeholders("{n} of {total}")


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
def test_plural_forms_header(lang: str) -> None:
    cat = catalog(lang)
    assert cat.plural_forms == PLURAL_FORMS[lang]
    assert all(len(forms(m)) == cat.num_plurals for m in entries(lang) if isinstance(m.id, tuple) and m.string)


@pytest.fixture
def french_after() -> Iterator[None]:
    yield
    i18n.set_language("fr")


def plural_entries(lang: str) -> list[Message]:
    return [m for m in entries(lang) if isinstance(m.id, tuple) and translated(m)]


def test_ngettext_picks_the_form_for_0_1_2(french_after: None) -> None:
    """French says "0 orientation" (0 and 1 singular), English "0 referrals"; Bambara has one form."""
    wanted = {"fr": {0: 0, 1: 0, 2: 1}, "en": {0: 1, 1: 0, 2: 1}, "bm": {0: 0, 1: 0, 2: 0}}
    french = plural_entries("fr")
    assert any(forms(m)[0] != forms(m)[1] for m in french)  # else the check below could not tell the forms apart
    for lang, rule in wanted.items():
        i18n.set_language(lang)
        for m in plural_entries(lang):
            if m.context:
                continue  # the app has no npgettext helper: a plural with a context is not looked up that way
            singular, plural = m.id
            for n, index in rule.items():
                assert i18n.ngettext(singular, plural, n) == forms(m)[index], (lang, m.id, n)
