"""Compile locales/*/LC_MESSAGES/messages.po into .mo files (run by `make`; the .mo files are not committed)."""

from __future__ import annotations

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from field_app.i18n import DOMAIN, LOCALES_DIR


def compile_all() -> list[str]:
    done = []
    for po_path in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with po_path.open("rb") as fh:
            catalog = read_po(fh)
        with po_path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog)
        done.append(po_path.parent.parent.name)
    return done


if __name__ == "__main__":
    print("compiled:", ", ".join(compile_all()))
