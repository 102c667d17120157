"""Re-extract messages from field_app into locales/messages.pot and merge them into each language's .po.

Run after adding or changing user-facing strings:  .venv/bin/python tools/update_locales.py
Then translate the new entries (empty msgstr) in locales/fr and locales/en; tests fail while any is empty.

`--fill FILE.json` then fills empty entries from a JSON object {English msgid: French text} (English gets the
msgid itself; a plural entry's value is [French singular, French plural]). A lock on the locales folder lets
several people (or sessions) run it at once without losing each other's entries.

Bambara (`bm`) is merged like the others and kept a draft: every entry carries the translator comment `DRAFT`
until a Bamanankan speaker has reviewed the catalogue, and its header says one plural form (`nplurals=1`; Bambara
marks the plural on the noun with -w, not by the count). `--fill-bm FILE.json` fills empty Bambara entries from
{English msgid: Bambara text} (a plural entry's value is one text, or a list of one); `--refill-bm` replaces
entries that already have a text. Nothing fills Bambara from French: an empty Bambara entry shows the French text
in the app (the gettext fallback) until it is filled.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("fr", "en", "bm")
KEYWORDS = ["_", "N_", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3"]
PLURAL_FORMS = {"bm": "nplurals=1; plural=0;"}  # where babel's guess is wrong (it says two forms for bm)
DRAFT_LANGS = ("bm",)
DRAFT = "DRAFT: machine-drafted, to be reviewed by a Bamanankan speaker"


def po_path(lang: str) -> Path:
    return ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang)


def write(lang: str, catalog: Catalog) -> None:
    """Write atomically (a reader never sees half a file)."""
    path = po_path(lang)
    tmp = path.with_suffix(".po.tmp")
    with tmp.open("wb") as f:
        write_po(f, catalog, omit_header=False, sort_output=True, include_lineno=False, width=120)
    tmp.replace(path)


def extract_and_merge() -> None:
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    pot = ROOT / "locales" / "messages.pot"
    base = ["--no-location", "--omit-header", "--sort-output", *(a for k in KEYWORDS for a in ("-k", k))]
    subprocess.run([*pybabel, "extract", *base, "-o", str(pot), str(ROOT / "field_app")], check=True)
    for lang in LANGS:
        action = "update" if po_path(lang).exists() else "init"
        args = ["-i", str(pot), "-d", str(ROOT / "locales"), "-l", lang]
        subprocess.run([*pybabel, action, *args, *(["--no-fuzzy-matching"] if action == "update" else [])], check=True)
    for lang in DRAFT_LANGS:
        mark_drafts(lang)


def key_of(message: Message) -> str:
    mid = message.id
    return str(mid[0] if isinstance(mid, tuple) else mid)


def is_empty(message: Message) -> bool:
    string = message.string
    return not string or (isinstance(string, tuple) and not all(string))


def mark_drafts(lang: str) -> None:
    """The plural header `lang` needs, and the DRAFT translator comment on every entry of its catalogue."""
    catalog = read(lang)
    if lang in PLURAL_FORMS:
        headers = [(k, v) for k, v in catalog.mime_headers if k.lower() != "plural-forms"]
        catalog.mime_headers = [*headers, ("Plural-Forms", PLURAL_FORMS[lang])]
    for message in catalog:
        if message.id and DRAFT not in message.user_comments:
            message.user_comments = [DRAFT, *(c for c in message.user_comments if not c.startswith("DRAFT"))]
    write(lang, catalog)


def fill(path: Path) -> list[str]:
    """Fill empty fr/en entries from `path`; return the msgids still empty in French."""
    french: dict[str, str | list[str]] = json.loads(path.read_text(encoding="utf-8"))
    missing: list[str] = []
    for lang in ("fr", "en"):
        catalog = read(lang)
        for message in catalog:
            if not message.id or not is_empty(message):
                continue
            key = key_of(message)
            if lang == "en":
                message.string = message.id if isinstance(message.id, tuple) else key
            elif key in french:
                value = french[key]
                message.string = tuple(value) if isinstance(message.id, tuple) else value  # type: ignore[assignment]
            else:
                missing.append(key)
        write(lang, catalog)
    return missing


def fill_draft(path: Path, lang: str = "bm", *, replace: bool = False) -> list[str]:
    """Fill `lang`'s empty entries (every entry with `replace`) from `path` {English msgid: text}, each marked
    DRAFT; return the msgids still empty."""
    texts: dict[str, str | list[str]] = json.loads(path.read_text(encoding="utf-8"))
    catalog = read(lang)
    missing: list[str] = []
    for message in catalog:
        if not message.id or not (replace or is_empty(message)):
            continue
        key = key_of(message)
        value = texts.get(key)
        if value is None:
            if is_empty(message):
                missing.append(key)
            continue
        if isinstance(message.id, tuple):
            forms = [value] if isinstance(value, str) else list(value)
            message.string = tuple(forms[: catalog.num_plurals])  # type: ignore[assignment]
        else:
            message.string = value if isinstance(value, str) else value[0]
    write(lang, catalog)
    mark_drafts(lang)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fill", type=Path, help="JSON of {English msgid: French text} for the empty entries")
    parser.add_argument("--fill-bm", type=Path, help="JSON of {English msgid: Bambara text} (drafts)")
    parser.add_argument("--refill-bm", action="store_true", help="with --fill-bm: replace filled entries too")
    args = parser.parse_args()
    with (ROOT / "locales" / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        extract_and_merge()
        if args.fill:
            for key in fill(args.fill):
                print(f"still untranslated (fr): {key!r}")
        if args.fill_bm:
            missing = fill_draft(args.fill_bm, replace=args.refill_bm)
            for key in missing:
                print(f"still untranslated (bm): {key!r}")


if __name__ == "__main__":
    main()
