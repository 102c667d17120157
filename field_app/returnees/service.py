"""Register, edit and find returnees: parse the form, look for likely duplicates, store with the outbox entry;
search everyone registered here by name, phone or slip code, a page at a time.

Both look-ups read indexes only (field_app.storage.returnees): the duplicate check scores the few people whose
name keys or phone match (field_app.domain.duplicates), the search reads the matching people's rows and one page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlite_utils

from field_app.directory.search import resolve_place
from field_app.domain.duplicates import Candidate, DuplicateReason, Match, likely_duplicates
from field_app.domain.geo import fold
from field_app.domain.returnees import Returnee
from field_app.errors import ValidationError
from field_app.i18n import _, format_date, ngettext
from field_app.labels import (
    DOCUMENTS,
    EDUCATION,
    LANGUAGES,
    SECTORS,
    SEX,
    VULNERABILITIES,
    country_name,
    label,
    region_name,
)
from field_app.returnees.form import parse_returnee
from field_app.storage.returnees import (
    count_returnees,
    duplicate_candidates,
    get_returnee,
    insert_returnee,
    list_returnees,
    phone_tail,
    search_returnees,
    update_returnee,
)

PAGE_SIZE = 50


def new_uuid() -> str:
    return str(uuid.uuid4())


def localities_index(db: sqlite_utils.Database) -> dict[str, str]:
    """Gazetteer id → region code, to check a place of return."""
    return {r[0]: r[1] for r in db.execute("SELECT id, region FROM localities").fetchall()}


@dataclass(frozen=True)
class Duplicate:
    """A person already registered who may be the one being registered, and why (`match.reasons`)."""

    returnee: Returnee
    match: Match

    @property
    def reasons(self) -> tuple[DuplicateReason, ...]:
        return self.match.reasons

    @property
    def phone_end(self) -> str | None:
        """The last four digits of their phone (enough to ask "is your number …3456?"), if any."""
        digits = "".join(ch for ch in self.returnee.phone or "" if ch.isdigit())
        return digits[-4:] or None


def candidate_of(returnee: Returnee) -> Candidate:
    """What the duplicate rules compare of a person."""
    return Candidate(
        returnee.id,
        returnee.given_name,
        returnee.family_name,
        returnee.phone,
        returnee.birth_year(),
        returnee.region.value,
    )


def find_duplicates(db: sqlite_utils.Database, candidate: Returnee, limit: int = 5) -> list[Duplicate]:
    """People already registered here who are probably `candidate` (search before create), most likely first,
    each with the reasons: the same phone, the same name in the same region (whatever the ages), a similar name
    with a birth year within one year… Only the people an index offers are scored (a few, not everyone)."""
    person = candidate_of(candidate)
    matches = likely_duplicates(person, duplicate_candidates(db, person), limit=limit)
    return [Duplicate(get_returnee(db, m.id), m) for m in matches]


def check_form(
    db: sqlite_utils.Database,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    new_id: Callable[[], str] = new_uuid,
    existing: Returnee | None = None,
) -> Returnee:
    """Validate without storing (raises ValidationError): the form's first step, before the duplicate check."""
    return parse_returnee(
        data, today=now.date(), now=now, new_id=new_id, localities=localities_index(db), existing=existing
    )


def register(
    db: sqlite_utils.Database,
    data: Mapping[str, Any],
    *,
    now: dt.datetime,
    new_id: Callable[[], str] = new_uuid,
) -> Returnee:
    """Validate and store a new returnee with its outbox entry; returns the stored record."""
    returnee = check_form(db, data, now=now, new_id=new_id)
    insert_returnee(db, returnee, now)
    return returnee


def edit(db: sqlite_utils.Database, returnee_id: str, data: Mapping[str, Any], *, now: dt.datetime) -> Returnee:
    """Validate the edited form and store it (version + 1) with its outbox entry."""
    current = get_returnee(db, returnee_id)
    updated = check_form(db, data, now=now, existing=current)
    return update_returnee(db, updated, now)


def form_values(returnee: Returnee) -> dict[str, Any]:
    """The form's field values for a stored returnee (to edit it)."""
    data = returnee.model_dump(mode="json")
    keep = {k: data[k] for k in data if k not in {"id", "consent_keep_on", "created_at", "updated_at", "version"}}
    keep.pop("age_recorded_on", None)
    keep["consent"] = True
    return keep


def details(db: sqlite_utils.Database, r: Returnee, today: dt.date) -> list[tuple[str, str]]:
    """A person's record as (label, value) lines in the current language, the unknown ones left out: what the
    person's page and `field-app returnee show` print."""

    def words(table: Mapping[str, str], codes: Sequence[StrEnum]) -> str:
        return ", ".join(label(dict(table), c.value) for c in codes)

    age = r.age_on(today)
    yes_no = None if r.reads_french is None else (_("yes") if r.reads_french else _("no"))
    lines: list[tuple[str, str | None]] = [
        (_("Given name"), r.given_name),
        (_("Family name"), r.family_name),
        (_("Sex"), label(SEX, r.sex.value)),
        (_("Age"), ngettext("{n} year", "{n} years", age).format(n=age)),
        (_("Birth date"), format_date(r.birth_date) if r.birth_date else None),
        (_("Phone"), r.phone),
        (_("Languages"), words(LANGUAGES, r.languages)),
        (_("Region of return"), region_name(r.region.value)),
        (_("Place of return"), resolve_place(db, r.locality).name if r.locality else None),
        (_("Country returned from"), country_name(r.returned_from) if r.returned_from else None),
        (_("Return date"), format_date(r.return_date) if r.return_date else None),
        (_("Education"), label(EDUCATION, r.education.value) if r.education else None),
        (_("Reads French"), yes_no),
        (_("Trade before leaving"), r.trade_before),
        (_("Sectors of interest"), words(SECTORS, r.sectors)),
        (_("Documents held"), words(DOCUMENTS, r.documents)),
        (_("Vulnerabilities"), words(VULNERABILITIES, r.vulnerabilities)),
        (_("Date registered"), format_date(r.created_at.date())),
    ]
    return [(name, value) for name, value in lines if value]


def get(db: sqlite_utils.Database, returnee_id: str) -> Returnee:
    """A returnee registered here (NotFound otherwise)."""
    return get_returnee(db, returnee_id)


def recent(db: sqlite_utils.Database, limit: int | None = None) -> list[Returnee]:
    """The returnees registered here, newest first."""
    return list_returnees(db, limit=limit)


@dataclass(frozen=True)
class PeoplePage:
    """One page of people (newest first), where it starts, and how many there are in all."""

    people: list[Returnee]
    total: int
    offset: int
    limit: int
    text: str = ""

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.people) < self.total

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.people)


@dataclass(frozen=True)
class PeopleQuery:
    """What a search text asks for: name words (an FTS5 query), phone digits (last first), a slip code start."""

    names: str | None
    tail: str | None
    code: str | None


PHONE_MARKS = set("+-. ()/")
HEX = set("0123456789ABCDEF")


def people_query(text: str) -> PeopleQuery:
    """Read a search text: every folded word as the start of a word of the name ("trao fat" finds Fatoumata
    Traoré, accents and case aside); a number (spaces, dots, +223 or 00223 allowed) of 3 digits or more as the
    end of the phone; 4 to 8 letters and digits of a slip code ("3f2a-9c01") as the start of a code."""
    words = [w for w in fold(text).split() if any(ch.isalnum() for ch in w)]
    names = " ".join('"' + w.replace('"', "") + '"*' for w in words) or None
    digits = "".join(ch for ch in text if ch.isdigit())
    tail = None
    if len(digits) >= 3 and all(ch.isdigit() or ch.isspace() or ch in PHONE_MARKS for ch in text):
        tail = phone_tail(digits.removeprefix("00") if len(digits) > 8 else digits)
    code = "".join(ch for ch in text.upper() if ch.isalnum())
    return PeopleQuery(names, tail, code if 4 <= len(code) <= 8 and set(code) <= HEX else None)


def search_people(db: sqlite_utils.Database, text: str = "", *, limit: int = PAGE_SIZE, offset: int = 0) -> PeoplePage:
    """Everyone registered on this device matching `text` (see `people_query`; empty: everyone), newest first,
    a page of `limit` from `offset`, with the number of matches. Read through indexes (names' full-text index,
    the reversed phone, the slip codes, the registration order): no row is folded in Python."""
    text = " ".join(text.split())
    limit, offset = max(1, int(limit)), max(0, int(offset))
    if not text:
        return PeoplePage(list_returnees(db, limit=limit, offset=offset), count_returnees(db), offset, limit)
    q = people_query(text)
    people, total = search_returnees(db, names=q.names, tail=q.tail, code=q.code, limit=limit, offset=offset)
    return PeoplePage(people, total, offset, limit, text)


__all__ = [
    "Duplicate",
    "PeoplePage",
    "ValidationError",
    "check_form",
    "edit",
    "find_duplicates",
    "form_values",
    "register",
    "search_people",
]
