"""The partner directory on the hub: organisations and localities as JSON documents with a content hash.

Seeded from `db/` when the hub's directory is empty. The seed is the baseline every device already has (the app
ships the same `db/`), so seeding writes no change rows; every later correction (`field-app hub directory apply`,
`PUT/DELETE /api/v1/directory/organizations/{id}`) appends an `organization` change (`upsert` with the
Organization JSON as data, or `delete` with no data) that devices pull and apply with the directory build code.

The directory's version (issue 10: a digest of every organisation's and locality's id and content hash, see
`field_app.directory.manifest`) is kept in `meta` (key `directory_version`), rewritten by every write here (the
seed, an organisation's upsert or delete, an edit) before its transaction commits, under the change-log lock, so
that every push and pull answer can carry it without reading the whole directory (`trust.directory_version`).
A database without the key (made before issue 10) has it computed until its next directory write.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
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


VERSION_KEY = "directory_version"


def computed_version(tx: Tx) -> str:
    """The directory's version computed from its rows (the device computes the same over its own store)."""
    from field_app.directory.manifest import lines_of, version_of

    organizations = {r["id"]: r["content_hash"] for r in tx.all("SELECT id, content_hash FROM organizations")}
    localities = {r["id"]: r["content_hash"] for r in tx.all("SELECT id, content_hash FROM localities")}
    return version_of(lines_of(organizations, localities))


def stored_version(tx: Tx) -> str | None:
    """The version the last directory write stored (None for a database from before issue 10)."""
    row = tx.one("SELECT value FROM meta WHERE key = ?", [VERSION_KEY])
    return None if row is None else str(row["value"])


def store_version(tx: Tx) -> str:
    """Recompute the version and keep it in `meta`: the last step of every directory write."""
    value = computed_version(tx)
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [VERSION_KEY, value],
    )
    return value


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
    store_version(tx)
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
    store_version(tx)
    return Applied(org.id, "created" if row is None else "updated")


def delete_organization(tx: Tx, org_id: str, *, now: dt.datetime) -> Applied | None:
    """Remove one organisation and log the deletion; None when there is no such organisation."""
    tx.lock_changes()
    if tx.execute("DELETE FROM organizations WHERE id = ?", [org_id]) == 0:
        return None
    changes.append(tx, entity="organization", entity_id=org_id, op="delete", data=None, now=now)
    store_version(tx)
    return Applied(org_id, "deleted")


def get_organization(tx: Tx, org_id: str) -> dict[str, Any] | None:
    row = tx.one("SELECT document FROM organizations WHERE id = ?", [org_id])
    return None if row is None else dict(json.loads(row["document"]))


# --- edits by offices and supervisors, with their audit log ---------------------------------------------------


class EditRefused(Exception):
    """A directory edit the hub does not apply: `code` is the push rejection code, `field` the field at fault."""

    def __init__(self, code: str, reason: str, field: str | None = None):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field


def _organization(tx: Tx, org_id: str) -> Organization | None:
    row = tx.one("SELECT document FROM organizations WHERE id = ?", [org_id])
    return None if row is None else Organization.model_validate_json(row["document"])


def apply_edit(tx: Tx, caller: Any, edit: Any, *, now: dt.datetime) -> bool:
    """Apply a DirectoryEdit for `caller` (office: its region's partners; supervisor: all): the organisation
    change for every device, one audit row (and `directory_audit` change) per field. False when this edit id was
    applied before. EditRefused (nothing written) when not allowed or invalid."""
    from field_app.directory.edits import FieldDiff, apply_changes, may_edit, revert_changes
    from field_app.sync.protocol import AuditEntry

    tx.lock_changes()
    if tx.one("SELECT 1 AS found FROM directory_audit WHERE edit_id = ?", [edit.id]) is not None:
        return False
    org = _organization(tx, edit.organization_id)
    if org is None:
        raise EditRefused("unknown_entity", f"the hub has no organisation {edit.organization_id}", "organization_id")
    if not may_edit(caller.role, caller.region, org):
        raise EditRefused("forbidden", "this organisation is outside the device's region", "organization_id")
    reverted: dict[str, Any] | None = None
    if edit.revert_of is not None:
        if caller.role != "supervisor":
            raise EditRefused("forbidden", "only a supervisor reverts an edit", "revert_of")
        reverted = tx.one("SELECT * FROM directory_audit WHERE id = ?", [edit.revert_of])
        if reverted is None or reverted["organization_id"] != org.id:
            raise EditRefused("unknown_entity", f"no audit row {edit.revert_of} for this organisation", "revert_of")
        before = None if reverted["before"] is None else json.loads(reverted["before"])
        after = None if reverted["after"] is None else json.loads(reverted["after"])
        wanted = revert_changes([FieldDiff(reverted["field"], before, after)])
    else:
        wanted = [(c.field, c.value) for c in edit.changes]
    try:
        edited, diffs = apply_changes(org, wanted, editor_role=caller.role)
        edited = validate_organization(edited.model_dump(mode="json"), localities(tx))
    except ValidationError as exc:
        first = exc.problems[0]
        detail = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
        raise EditRefused("invalid_payload", detail, first.field) from exc
    put_organization(tx, edited, now=now)
    for i, diff in enumerate(diffs):
        entry = AuditEntry(
            id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{edit.id}/{i}")),
            edit_id=edit.id,
            organization_id=org.id,
            field=diff.field,
            before=diff.before,
            after=diff.after,
            device_id=caller.id,
            role=caller.role,
            at=edit.at,
            note=edit.note,
            revert_of=edit.revert_of,
        )
        tx.execute(
            "INSERT INTO directory_audit (id, edit_id, organization_id, field, before, after, device_id, role, at, "
            "note, revert_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                entry.id,
                entry.edit_id,
                entry.organization_id,
                entry.field,
                changes.dumps(entry.before),
                changes.dumps(entry.after),
                entry.device_id,
                entry.role,
                stamp(entry.at),
                entry.note,
                entry.revert_of,
            ],
        )
        changes.append(
            tx, entity="directory_audit", entity_id=entry.id, op="upsert", data=entry.model_dump(mode="json"), now=now
        )
    if reverted is not None:
        tx.execute("UPDATE directory_audit SET reverted_by = ? WHERE id = ?", [edit.id, reverted["id"]])
    if not diffs:  # nothing changed: still remember the edit, so that a retry is a duplicate
        tx.execute(
            "INSERT INTO directory_audit (id, edit_id, organization_id, field, before, after, device_id, role, at, "
            "note, revert_of) VALUES (?, ?, ?, '', NULL, NULL, ?, ?, ?, ?, ?)",
            [
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"{edit.id}/none")),
                edit.id,
                org.id,
                caller.id,
                caller.role,
                stamp(edit.at),
                edit.note,
                edit.revert_of,
            ],
        )
    return True


def audit_page(tx: Tx, *, organization_id: str | None, offset: int, limit: int) -> list[dict[str, Any]]:
    where, params = ["field <> ''"], []
    if organization_id is not None:
        where.append("organization_id = ?")
        params.append(organization_id)
    rows = tx.all(
        f"SELECT * FROM directory_audit WHERE {' AND '.join(where)} ORDER BY at DESC, id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [
        {
            **r,
            "before": None if r["before"] is None else json.loads(r["before"]),
            "after": None if r["after"] is None else json.loads(r["after"]),
        }
        for r in rows
    ]
