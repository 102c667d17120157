"""Re-extract messages from field_app into locales/messages.pot and merge them into each language's .po.

Run after adding or changing user-facing strings:  .venv/bin/python tools/update_locales.py
Then translate the new entries (empty msgstr) in locales/fr and locales/en; tests fail while any is empty.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("fr", "en")


def main() -> None:
    pybabel = [sys.executable, "-m", "babel.messages.frontend"]
    pot = ROOT / "locales" / "messages.pot"
    base = ["--no-location", "--omit-header", "--sort-output", "-k", "_", "-k", "N_"]
    subprocess.run([*pybabel, "extract", *base, "-o", str(pot), str(ROOT / "field_app")], check=True)
    for lang in LANGS:
        po = ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po"
        action = "update" if po.exists() else "init"
        args = ["-i", str(pot), "-d", str(ROOT / "locales"), "-l", lang]
        subprocess.run([*pybabel, action, *args, *(["--no-fuzzy-matching"] if action == "update" else [])], check=True)


if __name__ == "__main__":
    main()
