"""Build the local directory store from the dataset: idempotent, incremental, all or nothing.

Each organisation and locality carries a hash of its content; a build rewrites only what changed, removes what
disappeared from `db/`, and does it in one transaction, so a failed build leaves the previous store intact.
Each service also gets its rows in the eligible-nearby indexes (`service_offices`, `service_coverage`; see
migration 3), written with it and deleted with it, and its stated period (`start_date`, `end_date`, migration 10)
beside its recorded status: whether it has ended depends on the day it is asked about (`status_on`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils

from field_app.directory.dataset import Dataset, load_dataset
from field_app.domain.directory import Locality, Location, Organization, Phone, Service, ServiceArea
from field_app.domain.vocabulary import REGION_NAMES
from field_app.errors import Problem, ValidationError
from field_app.i18n import _


@dataclass
class BuildReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    localities_changed: int = 0

    def __str__(self) -> str:
        return _(
            "Organisations: {added} added, {updated} updated, {removed} removed, {unchanged} unchanged; "
            "localities changed: {localities}"
        ).format(
            added=len(self.added),
            updated=len(self.updated),
            removed=len(self.removed),
            unchanged=self.unchanged,
            localities=self.localities_changed,
        )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def content_hash(value: Any) -> str:
    return hashlib.sha256(_json(value).encode()).hexdigest()


def organization_document(org: Organization) -> dict[str, Any]:
    return org.model_dump(mode="json")


def _locality_row(loc: Locality) -> dict[str, Any]:
    row = loc.model_dump(mode="json")
    row["alternate_names"] = _json(loc.alternate_names)
    row["content_hash"] = content_hash(loc.model_dump(mode="json"))
    return row


def _organization_hash(doc: dict[str, Any], org: Organization, localities: dict[str, Locality]) -> str:
    """The organisation's file and the gazetteer rows its offices sit on: moving a locality moves its offices."""
    places = {loc.locality: localities[loc.locality].model_dump(mode="json") for loc in org.locations}
    return content_hash({"organization": doc, "places": places})


def build_directory(
    db: sqlite_utils.Database, db_dir: Path | None = None, dataset: Dataset | None = None
) -> BuildReport:
    """Bring the store in line with the dataset (validated first: an invalid dataset changes nothing)."""
    dataset = dataset or load_dataset(db_dir)
    report = BuildReport()
    old_org_hashes = {r["id"]: r["content_hash"] for r in db.query("SELECT id, content_hash FROM organizations")}
    old_loc_hashes = {r["id"]: r["content_hash"] for r in db.query("SELECT id, content_hash FROM localities")}
    with db.atomic():
        for loc in dataset.localities.values():
            row = _locality_row(loc)
            if old_loc_hashes.get(loc.id) != row["content_hash"]:
                db.table("localities").upsert(row, pk="id")
                report.localities_changed += 1
        wanted = {org.id for org in dataset.organizations}
        for org_id in sorted(set(old_org_hashes) - wanted):
            _delete_organization(db, org_id)
            report.removed.append(org_id)
        for org in dataset.organizations:
            doc = organization_document(org)
            digest = _organization_hash(doc, org, dataset.localities)
            if old_org_hashes.get(org.id) == digest:
                report.unchanged += 1
                continue
            if org.id in old_org_hashes:
                _delete_organization(db, org.id)
                report.updated.append(org.id)
            else:
                report.added.append(org.id)
            _insert_organization(db, org, doc, digest, dataset.localities)
        for loc_id in sorted(set(old_loc_hashes) - set(dataset.localities)):
            db.execute("DELETE FROM localities WHERE id = ?", [loc_id])
            report.localities_changed += 1
    return report


# --- one organisation or place at a time: what a device does with the hub's directory changes (sync pull) ---


def _stored_localities(db: sqlite_utils.Database, ids: set[str]) -> dict[str, Locality]:
    out: dict[str, Locality] = {}
    for row in db.query(f"SELECT * FROM localities WHERE id IN ({','.join('?' * len(ids))})", sorted(ids)):
        data = {k: v for k, v in row.items() if k != "content_hash" and v is not None}
        data["alternate_names"] = json.loads(row["alternate_names"])
        out[row["id"]] = Locality.model_validate(data)
    return out


def put_organization(db: sqlite_utils.Database, org: Organization) -> bool:
    """Insert or replace one organisation with its services, offices, contacts, full-text and nearby rows, as a
    build would; False when the store already holds it unchanged. Its places must be in the store's gazetteer
    (else ValidationError). Runs inside the caller's transaction when there is one."""
    ids = {loc.locality for loc in org.locations}
    localities = _stored_localities(db, ids) if ids else {}
    problems = [
        Problem(f"locations[{i}].locality", _("unknown locality '{id}'").format(id=loc.locality), org.id)
        for i, loc in enumerate(org.locations)
        if loc.locality not in localities
    ]
    if problems:
        raise ValidationError(problems)
    doc = organization_document(org)
    digest = _organization_hash(doc, org, localities)
    old = db.execute("SELECT content_hash FROM organizations WHERE id = ?", [org.id]).fetchone()
    if old is not None and old[0] == digest:
        return False
    with db.atomic():
        if old is not None:
            _delete_organization(db, org.id)
        _insert_organization(db, org, doc, digest, localities)
    return True


def remove_organization(db: sqlite_utils.Database, org_id: str) -> bool:
    """Delete one organisation and everything hanging from it; False when it was not there."""
    if db.execute("SELECT 1 FROM organizations WHERE id = ?", [org_id]).fetchone() is None:
        return False
    with db.atomic():
        _delete_organization(db, org_id)
    return True


def put_locality(db: sqlite_utils.Database, loc: Locality) -> list[str]:
    """Insert or update one gazetteer place; the organisations with an office there are rewritten (a moved place
    moves their offices, as in a build). Returns their ids."""
    row = _locality_row(loc)
    old = db.execute("SELECT content_hash FROM localities WHERE id = ?", [loc.id]).fetchone()
    if old is not None and old[0] == row["content_hash"]:
        return []
    moved: list[str] = []
    with db.atomic():
        db.table("localities").upsert(row, pk="id")
        if old is not None:
            org_ids = [
                r[0]
                for r in db.execute("SELECT DISTINCT organization_id FROM locations WHERE locality_id = ?", [loc.id])
            ]
            for org_id in sorted(org_ids):
                document = db.execute("SELECT document FROM organizations WHERE id = ?", [org_id]).fetchone()[0]
                if put_organization(db, Organization.model_validate_json(document)):
                    moved.append(org_id)
    return moved


def remove_locality(db: sqlite_utils.Database, loc_id: str) -> bool:
    """Delete one gazetteer place unless an office still sits on it; True when it was deleted."""
    if db.execute("SELECT 1 FROM locations WHERE locality_id = ? LIMIT 1", [loc_id]).fetchone() is not None:
        return False
    return db.execute("DELETE FROM localities WHERE id = ?", [loc_id]).rowcount > 0


def _delete_organization(db: sqlite_utils.Database, org_id: str) -> None:
    db.execute(
        "DELETE FROM services_fts WHERE service_id IN (SELECT id FROM services WHERE organization_id = ?)", [org_id]
    )
    db.execute("DELETE FROM organizations WHERE id = ?", [org_id])  # cascades to its rows


def _insert_phones(db: sqlite_utils.Database, org_id: str, contact_id: str | None, phones: list[Phone]) -> None:
    owner = contact_id or org_id
    for index, phone in enumerate(phones, start=1):
        db.table("phones").insert(
            {
                "id": f"{owner}/phone-{index}",
                "organization_id": org_id,
                "contact_id": contact_id,
                "as_written": phone.as_written,
                "e164": phone.e164,
            }
        )


def _insert_organization(
    db: sqlite_utils.Database, org: Organization, doc: dict[str, Any], digest: str, localities: dict[str, Locality]
) -> None:
    db.table("organizations").insert(
        {
            "id": org.id,
            "name": org.name,
            "short_name": org.short_name,
            "kind": org.kind.value,
            "description": org.description,
            "structure_type": org.structure_type,
            "website": org.website,
            "emails": _json(org.emails),
            "service_area": _json(org.service_area.model_dump(mode="json")) if org.service_area else None,
            "source_document": org.source.document,
            "source_fiche": org.source.fiche,
            "assured_date": org.assured_date.isoformat(),
            "document": _json(doc),
            "content_hash": digest,
        }
    )
    for loc in org.locations:
        place = localities[loc.locality]
        db.table("locations").insert(
            {
                "id": f"{org.id}/{loc.id}",
                "organization_id": org.id,
                "name": loc.name,
                "locality_id": loc.locality,
                "region": loc.region.value,
                "address": loc.address,
                "latitude": place.latitude,
                "longitude": place.longitude,
                "precision": loc.precision.value,
            }
        )
    for c_index, contact in enumerate(org.contacts):
        contact_id = f"{org.id}/contact-{c_index + 1}"
        db.table("contacts").insert(
            {
                "id": contact_id,
                "organization_id": org.id,
                "name": contact.name,
                "title": contact.title,
                "emails": _json(contact.emails),
                "note": contact.note,
            }
        )
        _insert_phones(db, org.id, contact_id, contact.phones)
    _insert_phones(db, org.id, None, org.phones)
    for svc in org.services:
        service_id = f"{org.id}/{svc.id}"
        area = org.service_area_of(svc)
        eligibility = org.service_eligibility(svc)
        db.table("services").insert(
            {
                "id": service_id,
                "organization_id": org.id,
                "name": svc.name,
                "pathway": svc.pathway.value,
                "category": svc.category.value,
                "status": svc.status.value,
                "start_date": svc.start_date.isoformat() if svc.start_date else None,
                "end_date": svc.end_date.isoformat() if svc.end_date else None,
                "description": svc.description,
                "duration_text": svc.duration.text if svc.duration else None,
                "service_area": _json(area.model_dump(mode="json")) if area else None,
                "eligibility": _json(eligibility.model_dump(mode="json")),
                "costs": _json([c.model_dump(mode="json") for c in org.costs_of(svc)]),
            }
        )
        locations = org.locations_of(svc)
        for loc in locations:
            db.table("service_locations").insert({"service_id": service_id, "location_id": f"{org.id}/{loc.id}"})
        places = {localities[loc.locality].name for loc in locations}
        places |= {n for loc in locations for n in localities[loc.locality].alternate_names}
        places |= {REGION_NAMES[loc.region] for loc in locations}
        if area is not None:
            places |= {REGION_NAMES[r] for r in area.regions}
        fts_row = db.execute(
            "INSERT INTO services_fts (service_id, service, organization, places, details) VALUES (?, ?, ?, ?, ?)",
            [
                service_id,
                svc.name,
                " ".join(filter(None, [org.name, org.short_name])),
                " ".join(sorted(places)),
                " ".join(filter(None, [svc.description, org.description, eligibility.text])),
            ],
        ).lastrowid
        assert fts_row is not None
        _insert_nearby_index(db, org, svc, service_id, fts_row, area, locations, localities)


def _insert_nearby_index(
    db: sqlite_utils.Database,
    org: Organization,
    svc: Service,
    service_id: str,
    doc: int,
    area: ServiceArea | None,
    locations: list[Location],
    localities: dict[str, Locality],
) -> None:
    """The eligible-nearby query's rows for one service (migration 3): its offices by position, or, when it has
    none, the regions it covers; `doc` is its row in services_fts. Deleting the service deletes them."""
    db.conn.executemany(
        "INSERT INTO service_offices (service_id, location_id, doc, listed, latitude, longitude, organization, "
        "service, pathway) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                service_id,
                f"{org.id}/{loc.id}",
                doc,
                listed,
                localities[loc.locality].latitude,
                localities[loc.locality].longitude,
                org.name,
                svc.name,
                svc.pathway.value,
            )
            for listed, loc in enumerate(locations)
        ],
    )
    if not locations and area is not None:
        covered = ["national"] if area.scope == "national" else sorted({r.value for r in area.regions})
        db.conn.executemany(
            "INSERT INTO service_coverage (region, organization, service, service_id, doc, pathway) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(region, org.name, svc.name, service_id, doc, svc.pathway.value) for region in covered],
        )
