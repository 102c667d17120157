"""Re-extract messages from field_app into locales/messages.pot and merge them into each language's .po.

Run after adding or changing user-facing strings:  .venv/bin/python tools/update_locales.py
Then translate the new entries (empty msgstr) in locales/fr and locales/en; tests fail while any is empty.

`--fill FILE.json` then fills empty entries from a JSON object {English msgid: French text} (English gets the
msgid itself; a plural entry's value is [French singular, French plural]). A lock on the locales folder lets
several people (or sessions) run it at once without losing each other's entries.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("fr", "en")
KEYWORDS = ["_", "N_", "ngettext:1,2", "pgettext:1c,2", "npgettext:1c,2,3"]


def extract_and_merge() -> None:
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    pot = ROOT / "locales" / "messages.pot"
    base = ["--no-location", "--omit-header", "--sort-output", *(a for k in KEYWORDS for a in ("-k", k))]
    subprocess.run([*pybabel, "extract", *base, "-o", str(pot), str(ROOT / "field_app")], check=True)
    for lang in LANGS:
        po = ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
        action = "update" if po.exists() else "init"
        args = ["-i", str(pot), "-d", str(ROOT / "locales"), "-l", lang]
        subprocess.run([*pybabel, action, *args, *(["--no-fuzzy-matching"] if action == "update" else [])], check=True)


def fill(path: Path) -> list[str]:
    """Fill empty fr/en entries from `path`; return the msgids still empty in French."""
    french: dict[str, str | list[str]] = json.loads(path.read_text(encoding="utf-8"))
    missing: list[str] = []
    for lang in LANGS:
        po_path = ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        for message in catalog:
            if not message.id:
                continue
            key = message.id[0] if isinstance(message.id, tuple) else message.id
            empty = not message.string or (isinstance(message.string, tuple) and not all(message.string))
            if not empty:
                continue
            if lang == "en":
                message.string = message.id if isinstance(message.id, tuple) else key
            elif key in french:
                value = french[key]
                message.string = tuple(value) if isinstance(message.id, tuple) else value  # type: ignore[assignment]
            else:
                missing.append(key)
        with po_path.open("wb") as f:
            write_po(f, catalog, omit_header=False, sort_output=True, include_lineno=False, width=120)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fill", type=Path, help="JSON of {English msgid: French text} for the empty entries")
    args = parser.parse_args()
    with (ROOT / "locales" / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        extract_and_merge()
        if args.fill:
            for key in fill(args.fill):
                print(f"still untranslated (fr): {key!r}")


if __name__ == "__main__":
    main()
