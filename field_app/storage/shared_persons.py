"""The people behind referrals made on other devices (table `shared_persons`, migration 5).

The hub sends a `SharedPerson` with a referral only when that referral carries the returnee's consent to share,
and only to the office of the referral's region and to supervisors. The row keeps the whole document plus the
columns the inbox reads (names, phone) and `folded_name` (lowercase, no accents: "Traoré" → "traore") for
accent-blind search.
"""

from __future__ import annotations

import datetime as dt

import sqlite_utils

from field_app.domain.geo import fold
from field_app.sync.protocol import SharedPerson


def folded_name(given_name: str, family_name: str) -> str:
    """What name search compares: both names, folded, given name first."""
    return fold(f"{given_name} {family_name}")


def put_shared_person(db: sqlite_utils.Database, person: SharedPerson, *, now: dt.datetime) -> None:
    """Insert or replace one person (inside the caller's transaction, if any)."""
    db.execute(
        "INSERT INTO shared_persons (returnee_id, given_name, family_name, phone, folded_name, locality, document, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(returnee_id) DO UPDATE SET "
        "given_name = excluded.given_name, locality = excluded.locality, "
        "family_name = excluded.family_name, phone = excluded.phone, folded_name = excluded.folded_name, "
        "document = excluded.document, updated_at = excluded.updated_at",
        [
            person.returnee_id,
            person.given_name,
            person.family_name,
            person.phone,
            folded_name(person.given_name, person.family_name),
            person.locality,
            person.model_dump_json(),
            now.isoformat(),
        ],
    )


def get_shared_person(db: sqlite_utils.Database, returnee_id: str) -> SharedPerson | None:
    row = db.execute("SELECT document FROM shared_persons WHERE returnee_id = ?", [returnee_id]).fetchone()
    return None if row is None else SharedPerson.model_validate_json(row[0])
