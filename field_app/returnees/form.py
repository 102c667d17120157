"""Turn what the agent typed (the form, or `returnee add --json`) into a `Returnee`, or say what is wrong.

Every problem names its field and is a localised sentence; all problems are reported together and nothing is
built from half-valid input. The same parser serves the screen and the command line, so both say the same.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from babel import Locale

from field_app.directory.phones import to_e164
from field_app.domain.returnees import Returnee
from field_app.domain.safe_input import InputFault, UnsafeInput, shown, text_fault
from field_app.domain.vocabulary import (
    Document,
    Education,
    Language,
    Region,
    Sector,
    Sex,
    Vulnerability,
    find_region,
)
from field_app.errors import Problem, ValidationError
from field_app.i18n import FORMAT_LOCALES, _, format_number, language, ngettext
from field_app.labels import too_long

FIELDS = (
    "given_name",
    "family_name",
    "sex",
    "birth_date",
    "age",
    "phone",
    "languages",
    "region",
    "locality",
    "returned_from",
    "return_date",
    "education",
    "reads_french",
    "trade_before",
    "sectors",
    "documents",
    "vulnerabilities",
    "consent",
)
# Required (the rest may be left out); and one of "age" or "birth_date". The screen marks these.
REQUIRED = frozenset({"given_name", "family_name", "sex", "region", "consent"})
E = TypeVar("E", bound=StrEnum)
# Two-letter CLDR territory codes that name no place a person returns from (groupings, pseudo-locales, unknown).
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
MAX_UNKNOWN_SHOWN = 10  # unknown field names listed one by one; the rest are counted


class InvalidField(Exception):
    """One field's problem, already in words."""


def fault_message(fault: InputFault, *, limit: int | None = None, char: str | None = None) -> str:
    """A refused piece of input (field_app.domain.safe_input), in words, for after "field: "."""
    n = limit or 0
    words = {
        InputFault.TOO_DEEP: lambda: ngettext(
            "Nested too deeply (at most {n} level).", "Nested too deeply (at most {n} levels).", n
        ),
        InputFault.TOO_MANY: lambda: ngettext("Too many items (at most {n}).", "Too many items (at most {n}).", n),
        InputFault.TOO_LONG: lambda: ngettext(
            "Too long (at most {n} character).", "Too long (at most {n} characters).", n
        ),
        InputFault.BIG_NUMBER: lambda: ngettext(
            "A number with too many digits (at most {n}).", "A number with too many digits (at most {n}).", n
        ),
        InputFault.NOT_FINITE: lambda: _("Not a number: NaN and Infinity are not allowed."),
        InputFault.DUPLICATE_KEY: lambda: _("Given twice."),
        InputFault.NUL: lambda: _("Contains a NUL character ({char}), which cannot be stored: remove it."),
        InputFault.CONTROL: lambda: _("Contains an invisible control character ({char}): remove it."),
        InputFault.SURROGATE: lambda: _("Contains an invalid character ({char}, not Unicode text): type it again."),
        InputFault.TOO_LARGE: lambda: ngettext("Too large (at most {n} byte).", "Too large (at most {n} bytes).", n),
        InputFault.NOT_UTF8: lambda: _("Not UTF-8 text."),
        InputFault.NOT_JSON: lambda: _("Not valid JSON."),
    }
    return words[fault]().format(n=format_number(n), char=char or "")


def input_problem(exc: UnsafeInput, *, where: str, source: str) -> Problem:
    """A refused JSON document or part of it as a `field: message` problem: the field is the path inside the
    document (`given_name`, `languages/3`) or, for the whole document, `where` (the option, e.g. `--json`);
    `source` names the document for a person ("standard input", a file name)."""
    if exc.fault is InputFault.NOT_JSON:
        message = _("{file} is not valid JSON (line {line}, column {column}).")
        return Problem(where, message.format(file=source, line=exc.line, column=exc.column))
    if exc.fault is InputFault.NOT_UTF8:
        return Problem(where, _("{file} is not UTF-8 text.").format(file=source))
    if exc.fault is InputFault.TOO_LARGE:
        kb = max(1, (exc.limit or 0) // 1024)
        return Problem(where, _("{file} is too large (at most {n} kB).").format(file=source, n=format_number(kb)))
    return Problem(exc.path or where, fault_message(exc.fault, limit=exc.limit, char=exc.char))


def safe_text(value: str) -> str:
    """`value` when it holds no refused character (NUL, controls, lone surrogates); InvalidField otherwise."""
    fault = text_fault(value)
    if fault is not None:
        raise InvalidField(fault_message(fault[0], char=fault[1]))
    return value


def _blank(value: Any) -> bool:
    """Nothing given: absent, or only spaces (a text box left with a space is still empty)."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_text(value: Any, label: str, *, required: bool, max_length: int) -> str | None:
    if _blank(value):
        if required:
            raise InvalidField(_("{label} is required.").format(label=label))
        return None
    if not isinstance(value, str):
        raise InvalidField(_("{label} must be text.").format(label=label))
    text = " ".join(safe_text(value).split())
    if len(text) > max_length:
        raise InvalidField(too_long(label, max_length))
    return text


def parse_code(enum: type[E], value: Any, label: str = "") -> E | None:
    """The code for `value`, or a problem listing the valid codes. `label` is unused: a Problem already names
    its field, so the message does not repeat it (kept so that callers passing it keep working)."""
    if _blank(value):
        return None
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        raise InvalidField(
            _("Unknown value “{value}” (one of: {choices}).").format(value=shown(value), choices=choices)
        ) from None


def parse_codes(enum: type[E], value: Any, label: str) -> list[E]:
    if _blank(value):
        return []
    if not isinstance(value, list):
        raise InvalidField(_("{label} must be a list.").format(label=label))
    found: list[E] = []
    for item in value:
        code = parse_code(enum, item, label)
        if code is not None and code not in found:
            found.append(code)
    return found


# --- dates: a date picker, or typed the way the person's language writes dates --------------------------------

_DATE_SEPARATORS = re.compile(r"\s*[/.\-\s]\s*")


def date_order() -> str:
    """The order day (d), month (m) and year (y) are written in, in the current language's numeric dates:
    "dmy" in French and Bambara (25/03/1999), "mdy" in English (3/25/1999) — babel's short date pattern."""
    pattern = Locale.parse(FORMAT_LOCALES[language()]).date_formats["short"].pattern
    positions = {part: pattern.find(letter) for part, letter in (("d", "d"), ("m", "M"), ("y", "y"))}
    return "".join(sorted(positions, key=lambda part: positions[part]))


def date_hint() -> str:
    """How to type a date here, e.g. "DD/MM/YYYY" ("JJ/MM/AAAA" in French)."""
    words = {"d": _("DD"), "m": _("MM"), "y": _("YYYY")}
    return "/".join(words[part] for part in date_order())


def typed_date(day: dt.date) -> str:
    """`day` as a person types it here, the year in full: "25/03/1999" in French, "3/25/1999" in English."""
    parts = {"d": f"{day.day:02d}", "m": f"{day.month:02d}", "y": f"{day.year:04d}"}
    return "/".join(parts[part] for part in date_order())


def read_date(text: str) -> dt.date:
    """A typed date: the language's order (25/03/1999, 25.03.1999, 25-3-1999) or ISO (1999-03-25, as files and
    the command line write it). ValueError when it is neither, or names no real day."""
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", text):
        year, month, day = (int(p) for p in text.split("-"))
        return dt.date(year, month, day)
    parts = _DATE_SEPARATORS.split(text)
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(text)
    by = dict(zip(date_order(), (int(p) for p in parts), strict=True))
    year_text = parts[date_order().index("y")]
    if len(year_text) != 4:  # "98": 1998 or 2098? the year in full, please
        raise ValueError(text)
    return dt.date(by["y"], by["m"], by["d"])


def parse_date(value: Any, label: str, today: dt.date) -> dt.date | None:
    if _blank(value):
        return None
    if isinstance(value, dt.datetime):  # a date picker gives a datetime; comparing it with a date would crash
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = read_date(str(value))
        except ValueError:
            example = typed_date(dt.date(1999, 3, 25))
            raise InvalidField(
                _("Not a date: write it as {pattern}, e.g. {example}.").format(pattern=date_hint(), example=example)
            ) from None
    if day > today:
        raise InvalidField(_("{label} is in the future.").format(label=label))
    return day


def parse_age(value: Any) -> int | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidField(_("Age must be a whole number of years."))
    try:
        age = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise InvalidField(_("Age must be a whole number of years.")) from None
    if not 0 <= age <= 120:
        raise InvalidField(_("Age must be between 0 and 120."))
    return age


def parse_bool(value: Any, label: str) -> bool | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    raise InvalidField(_("{label} must be yes or no.").format(label=label))


def parse_phone(value: Any) -> str | None:
    text = parse_text(value, _("Phone"), required=False, max_length=30)
    if text is None:
        return None
    e164 = to_e164(text)
    if e164 is None:
        raise InvalidField(
            _("“{value}” is not a valid phone number (e.g. 76 12 34 56 or +223 76 12 34 56).").format(value=text)
        )
    return e164


def parse_region(value: Any) -> Region | None:
    if _blank(value):
        raise InvalidField(_("Region of return is required."))
    region = find_region(value) if isinstance(value, str) else None
    if region is not None:
        return region
    raise InvalidField(_("Unknown region “{value}”.").format(value=shown(value)))


def parse_country(value: Any) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str):
        raise InvalidField(_("“{value}” is not a country code (e.g. LY, DZ, FR).").format(value=shown(value)))
    code = value.strip().upper()
    if len(code) != 2 or code in NOT_COUNTRIES or code not in Locale.parse("en").territories:
        raise InvalidField(_("“{value}” is not a country code (e.g. LY, DZ, FR).").format(value=shown(value)))
    return code


def parse_returnee(
    data: Mapping[str, Any],
    *,
    today: dt.date,
    now: dt.datetime,
    new_id: Callable[[], str],
    localities: Mapping[str, str],
    existing: Returnee | None = None,
) -> Returnee:
    """A valid `Returnee` from raw input, or ValidationError listing every bad field.

    `localities` maps gazetteer ids to their region (to check the place of return); `existing` is the record
    being edited, whose id, creation time, version and consent date are kept.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}

    def take(name: str, parse: Callable[[Any], Any]) -> None:
        try:
            values[name] = parse(data.get(name))
        except InvalidField as exc:
            problems.append(Problem(name, str(exc)))

    problems.extend(unknown_fields(data, (*FIELDS, "id")))
    take("given_name", lambda v: parse_text(v, _("Given name"), required=True, max_length=80))
    take("family_name", lambda v: parse_text(v, _("Family name"), required=True, max_length=80))
    take("sex", lambda v: required(parse_code(Sex, v, _("Sex")), _("Sex")))
    take("birth_date", lambda v: parse_date(v, _("Birth date"), today))
    take("age", parse_age)
    take("phone", parse_phone)
    take("languages", lambda v: parse_codes(Language, v, _("Languages")))
    take("region", parse_region)
    take("locality", lambda v: parse_text(v, _("Place of return"), required=False, max_length=80))
    take("returned_from", parse_country)
    take("return_date", lambda v: parse_date(v, _("Return date"), today))
    take("education", lambda v: parse_code(Education, v, _("Education")))
    take("reads_french", lambda v: parse_bool(v, _("Reads French")))
    take("trade_before", lambda v: parse_text(v, _("Trade before leaving"), required=False, max_length=120))
    take("sectors", lambda v: parse_codes(Sector, v, _("Sectors of interest")))
    take("documents", lambda v: parse_codes(Document, v, _("Documents held")))
    take("vulnerabilities", lambda v: parse_codes(Vulnerability, v, _("Vulnerabilities")))
    take("consent", lambda v: parse_bool(v, _("Consent")))
    _cross_checks(values, problems, localities, today)
    if problems:
        raise ValidationError(problems)
    fields = {k: v for k, v in values.items() if k != "consent"}
    if fields["age"] is not None:
        fields["age_recorded_on"] = existing.age_recorded_on if existing and existing.age == fields["age"] else today
    return Returnee(
        id=existing.id if existing else new_id(),
        consent_keep_on=existing.consent_keep_on if existing else today,
        created_at=existing.created_at if existing else now,
        updated_at=now,
        version=existing.version if existing else 1,
        **fields,
    )


def unknown_fields(data: Mapping[Any, Any], known: tuple[str, ...]) -> list[Problem]:
    """A problem per field name not in `known` (the name quoted `shown`: short, refused characters escaped), at
    most MAX_UNKNOWN_SHOWN of them and then how many more."""
    names = sorted(shown(k, 40) for k in data if k not in known)
    problems = [Problem(name, _("unknown field.")) for name in names[:MAX_UNKNOWN_SHOWN]]
    more = len(names) - MAX_UNKNOWN_SHOWN
    if more > 0:
        problems.append(
            Problem("…", ngettext("and {n} more unknown field.", "and {n} more unknown fields.", more).format(n=more))
        )
    return problems


def required(value: E | None, label: str) -> E:
    if value is None:
        raise InvalidField(_("{label} is required.").format(label=label))
    return value


def _cross_checks(
    values: dict[str, Any], problems: list[Problem], localities: Mapping[str, str], today: dt.date
) -> None:
    bad = {p.field for p in problems}
    if "birth_date" not in bad and "age" not in bad:
        if values.get("birth_date") is None and values.get("age") is None:
            problems.append(Problem("age", _("Give a birth date or an age.")))
        elif values.get("birth_date") is not None and values.get("age") is not None:
            problems.append(Problem("age", _("Give a birth date or an age, not both.")))
        elif values.get("birth_date") is not None and (today.year - values["birth_date"].year) > 120:
            problems.append(Problem("birth_date", _("Birth date is more than 120 years ago.")))
    locality = values.get("locality")
    if locality and "region" not in bad:
        if locality not in localities:
            problems.append(Problem("locality", _("Unknown place “{value}”.").format(value=shown(locality))))
        elif values.get("region") is not None and localities[locality] != values["region"].value:
            problems.append(Problem("locality", _("Place of return is not in the region chosen.")))
    if "consent" not in bad and values.get("consent") is not True:
        problems.append(Problem("consent", _("Consent is required: the record is kept only if the person agrees.")))
    birth, back = values.get("birth_date"), values.get("return_date")
    if birth and back and back < birth:
        problems.append(Problem("return_date", _("Return date is before the birth date.")))
