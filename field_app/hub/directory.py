"""The partner directory on the hub: organisations and localities as JSON documents with a content hash.

Seeded from `db/` when the hub's directory is empty. The seed is the baseline every device already has (the app
ships the same `db/`), so seeding writes no change rows; every later correction (`field-app hub directory apply`,
`PUT/DELETE /api/v1/directory/organizations/{id}`) appends an `organization` change (`upsert` with the
Organization JSON as data, or `delete` with no data) that devices pull and apply with the directory build code.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydantic

from field_app.directory.build import content_hash
from field_app.directory.dataset import field_path, load_dataset, phone_problems
from field_app.domain.directory import Locality, Organization
from field_app.errors import Problem, ValidationError
from field_app.hub import changes
from field_app.hub.db import Tx, stamp


@dataclass(frozen=True)
class Applied:
    id: str
    result: str  # created | updated | unchanged | deleted


def is_empty(tx: Tx) -> bool:
    return tx.one("SELECT 1 AS x FROM organizations LIMIT 1") is None


def seed(tx: Tx, *, now: dt.datetime, db_dir: Path | None = None) -> int:
    """Load `db/` (validated) into an empty hub directory; returns the number of organisations. No change rows."""
    dataset = load_dataset(db_dir)
    for loc in dataset.localities.values():
        doc = loc.model_dump(mode="json")
        tx.execute(
            "INSERT INTO localities (id, document, content_hash) VALUES (?, ?, ?)",
            [loc.id, changes.dumps(doc), content_hash(doc)],
        )
    for org in dataset.organizations:
        doc = org.model_dump(mode="json")
        tx.execute(
            "INSERT INTO organizations (id, document, content_hash, updated_at) VALUES (?, ?, ?, ?)",
            [org.id, changes.dumps(doc), content_hash(doc), stamp(now)],
        )
    return len(dataset.organizations)


def localities(tx: Tx) -> dict[str, Locality]:
    return {r["id"]: Locality.model_validate_json(r["document"]) for r in tx.all("SELECT id, document FROM localities")}


def validate_organization(raw: Any, known: dict[str, Locality], *, label: str = "organization") -> Organization:
    """The pydantic model, the phone numbers, and every location against the hub's gazetteer (as `db/` is
    checked by `directory validate`); all problems at once."""
    if not isinstance(raw, dict):
        raise ValidationError([Problem("(body)", "expected an organisation object", label)])
    try:
        org = Organization.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError([Problem(field_path(e["loc"]), e["msg"], label) for e in exc.errors()]) from exc
    problems = phone_problems(org, label)
    for i, loc in enumerate(org.locations):
        place = known.get(loc.locality)
        if place is None:
            problems.append(Problem(f"locations[{i}].locality", f"unknown locality '{loc.locality}'", label))
        elif place.region != loc.region:
            problems.append(
                Problem(f"locations[{i}].region", f"{loc.locality} is in {place.region}, not {loc.region}", label)
            )
    if problems:
        raise ValidationError(problems)
    return org


def put_organization(tx: Tx, org: Organization, *, now: dt.datetime) -> Applied:
    """Create or replace one organisation and log the change (nothing is logged when the content is the same)."""
    tx.lock_changes()  # before any write (see db.py)
    doc = org.model_dump(mode="json")
    digest = content_hash(doc)
    row = tx.one("SELECT content_hash FROM organizations WHERE id = ?", [org.id])
    if row is not None and row["content_hash"] == digest:
        return Applied(org.id, "unchanged")
    if row is None:
        tx.execute(
            "INSERT INTO organizations (id, document, content_hash, updated_at) VALUES (?, ?, ?, ?)",
            [org.id, changes.dumps(doc), digest, stamp(now)],
        )
    else:
        tx.execute(
            "UPDATE organizations SET document = ?, content_hash = ?, updated_at = ? WHERE id = ?",
            [changes.dumps(doc), digest, stamp(now), org.id],
        )
    changes.append(tx, entity="organization", entity_id=org.id, op="upsert", data=doc, now=now)
    return Applied(org.id, "created" if row is None else "updated")


def delete_organization(tx: Tx, org_id: str, *, now: dt.datetime) -> Applied | None:
    """Remove one organisation and log the deletion; None when there is no such organisation."""
    tx.lock_changes()
    if tx.execute("DELETE FROM organizations WHERE id = ?", [org_id]) == 0:
        return None
    changes.append(tx, entity="organization", entity_id=org_id, op="delete", data=None, now=now)
    return Applied(org_id, "deleted")


def get_organization(tx: Tx, org_id: str) -> dict[str, Any] | None:
    row = tx.one("SELECT document FROM organizations WHERE id = ?", [org_id])
    return None if row is None else dict(json.loads(row["document"]))
