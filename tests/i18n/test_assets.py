"""What the browser needs for Bambara offline: the bundled font draws every letter the catalogues use (ɛ ɔ ɲ ŋ…),
its OFL licence is beside it, and assets/index.html is Flet's own page plus the block that sets `lang="bm"`."""

from __future__ import annotations

import struct
from pathlib import Path

import flet_web
from babel.messages.pofile import read_po

from field_app import i18n
from field_app.ui import app

ROOT = Path(__file__).resolve().parents[2]
FONT = app.ASSETS_DIR / app.FONTS[app.FONT_FAMILY]
SYMBOLS = app.ASSETS_DIR / app.FONTS[app.SYMBOLS_FAMILY]
BAMBARA_LETTERS = "ɛɔɲŋƐƆƝŊ"


def cmap(path: Path) -> set[int]:
    """The code points a TrueType/OpenType font maps to glyphs (its Unicode cmap subtables, formats 4 and 12)."""
    data = path.read_bytes()
    (num_tables,) = struct.unpack(">H", data[4:6])
    tables = {}
    for i in range(num_tables):
        tag, _, offset, length = struct.unpack(">4sIII", data[12 + 16 * i : 28 + 16 * i])
        tables[tag] = (offset, length)
    base = tables[b"cmap"][0]
    _, count = struct.unpack(">HH", data[base : base + 4])
    points: set[int] = set()
    for i in range(count):
        platform, encoding, sub = struct.unpack(">HHI", data[base + 4 + 8 * i : base + 12 + 8 * i])
        if (platform, encoding) not in ((3, 1), (3, 10), (0, 3), (0, 4)):
            continue
        at = base + sub
        (fmt,) = struct.unpack(">H", data[at : at + 2])
        if fmt == 4:
            (seg2,) = struct.unpack(">H", data[at + 6 : at + 8])
            segs = seg2 // 2
            ends = struct.unpack(f">{segs}H", data[at + 14 : at + 14 + seg2])
            starts = struct.unpack(f">{segs}H", data[at + 16 + seg2 : at + 16 + 2 * seg2])
            deltas = struct.unpack(f">{segs}h", data[at + 16 + 2 * seg2 : at + 16 + 3 * seg2])
            ro_at = at + 16 + 3 * seg2
            offsets = struct.unpack(f">{segs}H", data[ro_at : ro_at + seg2])
            for s, (start, end, delta, ro) in enumerate(zip(starts, ends, deltas, offsets, strict=True)):
                for c in range(start, end + 1):
                    if ro == 0:
                        glyph = (c + delta) & 0xFFFF
                    else:
                        g_at = ro_at + 2 * s + ro + 2 * (c - start)
                        (glyph,) = struct.unpack(">H", data[g_at : g_at + 2])
                        glyph = (glyph + delta) & 0xFFFF if glyph else 0
                    if glyph and c != 0xFFFF:
                        points.add(c)
        elif fmt == 12:
            (groups,) = struct.unpack(">I", data[at + 12 : at + 16])
            for g in range(groups):
                start, end, _ = struct.unpack(">III", data[at + 16 + 12 * g : at + 28 + 12 * g])
                points.update(range(start, end + 1))
    return points


def test_the_bundled_font_draws_the_bambara_letters() -> None:
    covered = cmap(FONT)
    assert all(ord(c) in covered for c in BAMBARA_LETTERS)
    assert ord("中") not in covered  # the reader can tell a missing glyph (else this test could not fail)


def test_the_bundled_fonts_draw_every_character_of_every_catalogue() -> None:
    """Noto Sans, or Noto Sans Symbols behind it (arrows): nothing the app says can need a font from the network."""
    assert ord("→") not in cmap(FONT) and ord("→") in cmap(SYMBOLS)  # why the second font is there
    covered = cmap(FONT) | cmap(SYMBOLS)
    missing: dict[str, set[str]] = {}
    for lang in i18n.LANGUAGES:
        with (ROOT / "locales" / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            for m in read_po(fh):
                texts = m.string if isinstance(m.string, tuple | list) else (m.string,)
                for text in texts:
                    for ch in text or "":
                        if ch.isprintable() and not ch.isspace() and ord(ch) not in covered:
                            missing.setdefault(lang, set()).add(ch)
    assert not missing, f"characters the bundled font cannot draw: {missing}"


def test_the_font_comes_with_its_licence() -> None:
    licence = (FONT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert all(Path(path).name in licence for path in app.FONTS.values())


def test_index_html_is_flets_own_plus_the_lang_block() -> None:
    """assets/index.html replaces Flet's page: a Flet upgrade that changes its page must be carried over here."""
    ours = (app.ASSETS_DIR / "index.html").read_text(encoding="utf-8")
    theirs = (Path(flet_web.__file__).parent / "web" / "index.html").read_text(encoding="utf-8")
    start = ours.index("  <!-- Passerelle (field_app/ui/app.py)")
    end_marker = "  <!-- end Passerelle -->\n"
    end = ours.index(end_marker) + len(end_marker)
    block = ours[start:end]
    assert ours[:start] + ours[end:] == theirs, "Flet's index.html changed: copy it again and put the block back"
    assert '"flutter.' + app.LANG_HINT_KEY + '"' in block  # the key SharedPreferences writes (with its prefix)
