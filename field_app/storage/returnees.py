"""Returnees in the local database. Every write goes with its outbox entry, in one transaction."""

from __future__ import annotations

import datetime as dt
import sqlite3

import sqlite_utils

from field_app.domain.duplicates import Candidate
from field_app.domain.returnees import Returnee
from field_app.errors import Conflict, NotFound, StorageError
from field_app.i18n import _
from field_app.storage import outbox


def _row(r: Returnee) -> dict[str, object]:
    return {
        "id": r.id,
        "given_name": r.given_name,
        "family_name": r.family_name,
        "sex": r.sex.value,
        "birth_year": r.birth_year(),
        "phone": r.phone,
        "region": r.region.value,
        "document": r.model_dump_json(),
        "version": r.version,
        "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    }


def insert_returnee(db: sqlite_utils.Database, returnee: Returnee, now: dt.datetime) -> None:
    """Store a new returnee and queue it for the hub (both or neither)."""
    try:
        with db.atomic():
            db.table("returnees").insert(_row(returnee))
            outbox.enqueue(
                db,
                entity="returnee",
                entity_id=returnee.id,
                op="upsert",
                payload=returnee.model_dump(mode="json"),
                now=now,
            )
    except sqlite3.IntegrityError as exc:
        raise Conflict(_("this returnee is already registered")) from exc
    except sqlite3.Error as exc:
        raise StorageError(_("could not save: {reason}").format(reason=exc)) from exc


def update_returnee(db: sqlite_utils.Database, returnee: Returnee, now: dt.datetime) -> Returnee:
    """Replace a returnee's record (version + 1) and queue the change; returns what was stored."""
    current = get_returnee(db, returnee.id)
    stored = returnee.model_copy(update={"version": current.version + 1, "updated_at": now})
    try:
        with db.atomic():
            db.table("returnees").update(returnee.id, _row(stored))
            outbox.enqueue(
                db,
                entity="returnee",
                entity_id=stored.id,
                op="upsert",
                payload=stored.model_dump(mode="json"),
                base_version=current.version,
                now=now,
            )
    except sqlite3.Error as exc:
        raise StorageError(_("could not save: {reason}").format(reason=exc)) from exc
    return stored


def get_returnee(db: sqlite_utils.Database, returnee_id: str) -> Returnee:
    row = db.execute("SELECT document FROM returnees WHERE id = ?", [returnee_id]).fetchone()
    if row is None:
        raise NotFound(_("no returnee with id {id}").format(id=returnee_id))
    return Returnee.model_validate_json(row[0])


def list_returnees(db: sqlite_utils.Database, limit: int | None = None) -> list[Returnee]:
    """Most recently registered first."""
    sql = "SELECT document FROM returnees ORDER BY created_at DESC, id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [Returnee.model_validate_json(r[0]) for r in db.execute(sql).fetchall()]


def duplicate_candidates(db: sqlite_utils.Database) -> list[Candidate]:
    """Everyone registered on this device, reduced to what duplicate detection compares."""
    return [
        Candidate(r["id"], r["given_name"], r["family_name"], r["phone"], r["birth_year"])
        for r in db.query("SELECT id, given_name, family_name, phone, birth_year FROM returnees")
    ]
