"""Export the directory as an Open Referral HSDS 3.0 tabular data package, and import it back.

Ids are UUIDv5 derived from our stable keys, so two exports of the same data are identical. A service's stated
period is an HSDS `schedule` row (`valid_from`, `valid_to`, the source's words in `description`); its status is
the recorded one (whether it has ended depends on the day: `status_on`), so an export does not change with the
date it is made. HSDS has no place for Passerelle's structured eligibility, verbatim source sentences or notes,
so every organisation row also carries `x_passerelle_document` (the full validated record, an HSDS-style
extension column); import reads that column back through the same validation as `db/`, which makes the round
trip lossless.
"""

from __future__ import annotations

import csv
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pydantic
import yaml

from field_app.directory.dataset import Dataset
from field_app.domain.directory import Organization
from field_app.domain.vocabulary import REGION_NAMES
from field_app.errors import Problem, ValidationError

NAMESPACE = uuid.UUID("9b0e8f5e-3c1a-5d7b-9a53-50617373656c")  # fixed: changing it changes every exported id
EXTENSION = "x_passerelle_document"

TABLES: dict[str, list[str]] = {
    "organization": ["id", "name", "alternate_name", "description", "email", "website", "legal_status", EXTENSION],
    "service": [
        "id", "organization_id", "name", "description", "status", "fees_description", "eligibility_description",
        "minimum_age", "maximum_age", "assured_date",
    ],
    "location": ["id", "location_type", "organization_id", "name", "latitude", "longitude"],
    "service_at_location": ["id", "service_id", "location_id"],
    "address": ["id", "location_id", "address_1", "city", "region", "state_province", "country", "address_type"],
    "phone": ["id", "organization_id", "contact_id", "number", "type", "description"],
    "contact": ["id", "organization_id", "name", "title", "email"],
    "required_document": ["id", "service_id", "document"],
    "cost_option": ["id", "service_id", "option", "currency", "amount", "amount_description"],
    "service_area": ["id", "service_id", "name", "description"],
    "schedule": ["id", "service_id", "valid_from", "valid_to", "description"],
}  # fmt: skip

HSDS_STATUS = {
    "active": "active",
    "inactive": "inactive",
    "planned": "inactive",
    "suspended": "inactive",
    "full": "active",
}


def stable_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _rows(dataset: Dataset) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for org in sorted(dataset.organizations, key=lambda o: o.id):
        oid = stable_id("organization", org.id)
        out["organization"].append(
            {
                "id": oid,
                "name": org.name,
                "alternate_name": org.short_name,
                "description": org.description,
                "email": org.emails[0] if org.emails else None,
                "website": org.website,
                "legal_status": org.structure_type,
                EXTENSION: json.dumps(org.model_dump(mode="json"), ensure_ascii=False, sort_keys=True),
            }
        )
        for loc in org.locations:
            lid = stable_id("location", org.id, loc.id)
            place = dataset.localities[loc.locality]
            out["location"].append(
                {
                    "id": lid,
                    "location_type": "physical",
                    "organization_id": oid,
                    "name": loc.name or place.name,
                    "latitude": place.latitude,
                    "longitude": place.longitude,
                }
            )
            out["address"].append(
                {
                    "id": stable_id("address", org.id, loc.id),
                    "location_id": lid,
                    "address_1": loc.address or place.name,
                    "city": place.name,
                    "region": REGION_NAMES[loc.region],
                    "state_province": REGION_NAMES[loc.region],
                    "country": "ML",
                    "address_type": "physical",
                }
            )
        for c_index, contact in enumerate(org.contacts, start=1):
            cid = stable_id("contact", org.id, str(c_index))
            out["contact"].append(
                {
                    "id": cid,
                    "organization_id": oid,
                    "name": contact.name,
                    "title": contact.title,
                    "email": contact.emails[0] if contact.emails else None,
                }
            )
            for p_index, phone in enumerate(contact.phones, start=1):
                out["phone"].append(
                    {
                        "id": stable_id("phone", org.id, str(c_index), str(p_index)),
                        "organization_id": oid,
                        "contact_id": cid,
                        "number": phone.e164,
                        "type": "voice",
                        "description": phone.as_written,
                    }
                )
        for p_index, phone in enumerate(org.phones, start=1):
            out["phone"].append(
                {
                    "id": stable_id("phone", org.id, "org", str(p_index)),
                    "organization_id": oid,
                    "contact_id": None,
                    "number": phone.e164,
                    "type": "voice",
                    "description": phone.as_written,
                }
            )
        for svc in org.services:
            sid = stable_id("service", org.id, svc.id)
            elig = org.service_eligibility(svc)
            costs = org.costs_of(svc)
            out["service"].append(
                {
                    "id": sid,
                    "organization_id": oid,
                    "name": svc.name,
                    "description": svc.description,
                    "status": HSDS_STATUS[svc.status.value],
                    "fees_description": " ".join(dict.fromkeys(c.text for c in costs)) or None,
                    "eligibility_description": elig.text,
                    "minimum_age": elig.min_age,
                    "maximum_age": elig.max_age,
                    "assured_date": org.assured_date.isoformat(),
                }
            )
            for loc in org.locations_of(svc):
                out["service_at_location"].append(
                    {
                        "id": stable_id("service_at_location", org.id, svc.id, loc.id),
                        "service_id": sid,
                        "location_id": stable_id("location", org.id, loc.id),
                    }
                )
            for doc in elig.documents:
                out["required_document"].append(
                    {
                        "id": stable_id("required_document", org.id, svc.id, doc.value),
                        "service_id": sid,
                        "document": doc.value,
                    }
                )
            for c_index, cost in enumerate(costs, start=1):
                out["cost_option"].append(
                    {
                        "id": stable_id("cost_option", org.id, svc.id, str(c_index)),
                        "service_id": sid,
                        "option": cost.label,
                        "currency": cost.currency,
                        "amount": cost.amount,
                        "amount_description": cost.text,
                    }
                )
            if svc.start_date or svc.end_date:  # the period the source states (HSDS: a schedule's validity)
                out["schedule"].append(
                    {
                        "id": stable_id("schedule", org.id, svc.id),
                        "service_id": sid,
                        "valid_from": svc.start_date.isoformat() if svc.start_date else None,
                        "valid_to": svc.end_date.isoformat() if svc.end_date else None,
                        "description": svc.period_text,
                    }
                )
            area = org.service_area_of(svc)
            if area is not None:
                out["service_area"].append(
                    {
                        "id": stable_id("service_area", org.id, svc.id),
                        "service_id": sid,
                        "name": "Mali"
                        if area.scope == "national"
                        else ", ".join(REGION_NAMES[r] for r in area.regions),
                        "description": area.text,
                    }
                )
    return out


def _field_type(table: str, column: str) -> str:
    if column in ("latitude", "longitude", "amount"):
        return "number"
    if column in ("minimum_age", "maximum_age"):
        return "integer"
    if column in ("assured_date", "valid_from", "valid_to"):
        return "date"
    return "string"


def export_hsds(dataset: Dataset, out_dir: Path) -> dict[str, int]:
    """Write the data package to `out_dir`; return the row count of each table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = _rows(dataset)
    resources = []
    for table, columns in TABLES.items():
        with (out_dir / f"{table}.csv").open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, columns, lineterminator="\n")
            writer.writeheader()
            for row in rows[table]:
                writer.writerow({c: "" if row.get(c) is None else row[c] for c in columns})
        resources.append(
            {
                "name": table,
                "path": f"{table}.csv",
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": [{"name": c, "type": _field_type(table, c)} for c in columns],
                    "primaryKey": "id",
                },
            }
        )
    package = {
        "name": "passerelle-mali-directory",
        "title": "Passerelle: partners for the reintegration of returning migrants in Mali",
        "profile": "tabular-data-package",
        "description": "Open Referral HSDS 3.0 tabular export; source: 2022 mapping report (see each organisation).",
        "version": "3.0",
        "resources": resources,
    }
    (out_dir / "datapackage.json").write_text(
        json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return {table: len(r) for table, r in rows.items()}


def _read_csv(path: Path) -> Iterable[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def import_hsds(in_dir: Path) -> list[Organization]:
    """Read organisations back from a package written by `export_hsds`; every problem names file and field."""
    problems: list[Problem] = []
    orgs: list[Organization] = []
    path = in_dir / "organization.csv"
    if not (in_dir / "datapackage.json").is_file() or not path.is_file():
        raise ValidationError(
            [Problem("(dir)", "not an HSDS data package (datapackage.json, organization.csv)", str(in_dir))]
        )
    for line, row in enumerate(_read_csv(path), start=2):
        try:
            doc = json.loads(row.get(EXTENSION) or "")
            org = Organization.model_validate(doc)
        except json.JSONDecodeError as exc:
            problems.append(Problem(f"line {line}.{EXTENSION}", f"not JSON: {exc.msg}", "organization.csv"))
            continue
        except pydantic.ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                problems.append(Problem(f"line {line}.{EXTENSION}.{where}", err["msg"], "organization.csv"))
            continue
        if row["id"] != stable_id("organization", org.id):
            problems.append(Problem(f"line {line}.id", "does not match the organisation's id", "organization.csv"))
        orgs.append(org)
    if problems:
        raise ValidationError(problems)
    return orgs


def write_dataset_files(orgs: list[Organization], db_dir: Path) -> list[Path]:
    """Write organisations as `db/organizations/<id>.yaml` files (used by `directory import`)."""
    target = db_dir / "organizations"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for org in orgs:
        path = target / f"{org.id}.yaml"
        data = org.model_dump(mode="json", exclude_defaults=True)
        data["source"] = org.source.model_dump(mode="json")
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110), encoding="utf-8")
        written.append(path)
    return written
