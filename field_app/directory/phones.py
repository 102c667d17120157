"""Phone numbers: parse what a fiche wrote (Malian conventions) into E.164 with phonenumbers."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "ML"


def to_e164(as_written: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of a written number, or None when it is not a valid number.

    Handles "+223 63.15.72.38", "+223/66.73.50.99", "00223 83 22 25 42" and bare 8-digit Malian numbers.
    """
    cleaned = as_written.replace("/", " ").replace(".", " ").strip()
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
