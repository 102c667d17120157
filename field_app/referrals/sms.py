"""How many SMS a text takes, and how to make it cheaper to send without changing what it says.

An SMS carries 140 bytes. In the GSM 7-bit default alphabet (3GPP TS 23.038) that is 160 characters, or 153 per
part once a message is split (the user data header that joins the parts takes 7); the characters of the
alphabet's extension table (€ [ ] { } \\ ^ ~ | and form feed) take two septets each, and an escape is never split
across two parts. One character outside the alphabet (ê, ç, ’, ɛ…) switches the whole message to UCS-2: 70
UTF-16 units, 67 per part, a surrogate pair never split.

`sms_safe` writes a text with look-alikes from the GSM alphabet where the meaning survives — typographic quotes,
dashes and spaces; the French accents the alphabet lacks (ê → e, ç → c: every French reader reads them); the
Bambara letters as the 1967 orthography and most SMS write them (ɛ → è, ɔ → ò, ɲ → ny, ŋ → ng). A slip in
French or Bambara then costs one SMS instead of three. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# The GSM 03.38 default alphabet (basic table), in code order; \n and \r are in it.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
) - {"\x1b"}
# The extension table: each one is an escape plus a character, two septets.
GSM_EXTENDED = frozenset("\f^{}\\[~]|€")

SINGLE = {"gsm7": 160, "ucs2": 70}
PART = {"gsm7": 153, "ucs2": 67}

# Look-alikes inside the GSM alphabet (see the module docstring). Keys absent here are kept as they are.
_SAFE = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'", "\u02bc": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "«": '"', "»": '"',
    "\u2013": "-", "\u2014": "-", "\u2011": "-", "\u2212": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ",
    "\u2026": "...", "·": "-",
    "â": "a", "á": "a", "ã": "a", "À": "A", "Â": "A", "Á": "A",
    "ê": "e", "ë": "e", "È": "E", "Ê": "E", "Ë": "E",
    "î": "i", "ï": "i", "í": "i", "Î": "I", "Ï": "I", "Ì": "I",
    "ô": "o", "ó": "o", "õ": "o", "Ô": "O", "Ò": "O", "Ó": "O",
    "û": "u", "ú": "u", "Û": "U", "Ù": "U", "Ú": "U",
    "ç": "c", "ÿ": "y", "œ": "oe", "Œ": "OE",
    "ɛ": "è", "Ɛ": "E", "ɔ": "ò", "Ɔ": "O", "ɲ": "ny", "Ɲ": "Ny", "ŋ": "ng", "Ŋ": "Ng",
}  # fmt: skip


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclass(frozen=True)
class SmsSize:
    """What a text costs as an SMS: its encoding, its length in that encoding's units (septets or UTF-16
    units), and how many SMS it takes."""

    encoding: Encoding
    units: int
    parts: int

    @property
    def fits_one(self) -> bool:
        return self.parts == 1


def is_gsm7(text: str) -> bool:
    """Every character is in the GSM 7-bit alphabet (basic or extension table)."""
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def _units(text: str, encoding: Encoding) -> list[int]:
    """The size of each character in units of `encoding` (septets; UTF-16 code units)."""
    if encoding is Encoding.GSM7:
        return [2 if c in GSM_EXTENDED else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def sms_size(text: str) -> SmsSize:
    """How many SMS `text` takes: 160 GSM-7 septets (or 70 UCS-2 units) fit one; longer texts are cut into parts
    of 153 (or 67) without splitting an escape or a surrogate pair. The empty text still takes one SMS."""
    encoding = Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2
    sizes = _units(text, encoding)
    total = sum(sizes)
    if total <= SINGLE[encoding]:
        return SmsSize(encoding, total, 1)
    parts, used = 1, 0
    for size in sizes:
        if used + size > PART[encoding]:
            parts, used = parts + 1, 0
        used += size
    return SmsSize(encoding, total, parts)


def sms_safe(text: str) -> str:
    """`text` with GSM look-alikes for the characters that would make it UCS-2 (where the meaning survives)."""
    return "".join(_SAFE.get(c, c) for c in text)
