"""Register and edit returnees: parse the form, look for likely duplicates, store with the outbox entry."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from field_app.domain.duplicates import Candidate, Match, likely_duplicates
from field_app.domain.returnees import Returnee
from field_app.errors import ValidationError
from field_app.returnees.form import parse_returnee
from field_app.storage.returnees import (
    duplicate_candidates,
    get_returnee,
    insert_returnee,
    list_returnees,
    update_returnee,
)


def new_uuid() -> str:
    return str(uuid.uuid4())


def localities_index(db: sqlite_utils.Database) -> dict[str, str]:
    """Gazetteer id → region code, to check a place of return."""
    return {r[0]: r[1] for r in db.execute("SELECT id, region FROM localities").fetchall()}


@dataclass(frozen=True)
class Duplicate:
    returnee: Returnee
    match: Match


def find_duplicates(db: sqlite_utils.Database, candidate: Returnee) -> list[Duplicate]:
    """People already registered here who are probably `candidate` (search before create)."""
    matches = likely_duplicates(
        Candidate(candidate.id, candidate.given_name, candidate.family_name, candidate.phone, candidate.birth_year()),
        duplicate_candidates(db),
    )
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


__all__ = ["Duplicate", "ValidationError", "check_form", "edit", "find_duplicates", "form_values", "register"]


def get(db: sqlite_utils.Database, returnee_id: str) -> Returnee:
    """A returnee registered here (NotFound otherwise)."""
    return get_returnee(db, returnee_id)


def recent(db: sqlite_utils.Database, limit: int | None = None) -> list[Returnee]:
    """The returnees registered here, newest first."""
    return list_returnees(db, limit=limit)
