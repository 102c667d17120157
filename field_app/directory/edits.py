"""Directory upkeep: apply an office's or a supervisor's edit to one organisation, field by field.

The device (applying its own edit at once, offline) and the hub (applying it for everyone, with an audit row per
field) call the same `apply_changes`, so both end with the same document. A field is named by a path:

    phones | emails | website | assured_date | notes
    contacts/<n>/name | contacts/<n>/title | contacts/<n>/phones | contacts/<n>/emails   (n counts from 0;
                                                                      n = the number of contacts adds one)
    services/<service id>/status  (active | inactive (= ended) | suspended | full | planned)
    services/<service id>/note

Phones are given as people write them ("76 12 34 56") and stored as written and in E.164. Every problem is named
by the field's path, in the current language; nothing is applied when any field is wrong. Any edit marks the
organisation `added_by` the editor's role so that what did not come from the 2022 report says so.

Who may edit what: a supervisor anything; an office the organisations with an office in its region or whose
service area names its region (not national programmes: those are a supervisor's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pydantic

from field_app.directory.phones import to_e164
from field_app.domain.directory import Organization
from field_app.domain.vocabulary import Region, ServiceStatus
from field_app.errors import Problem, ValidationError
from field_app.i18n import _

ORG_LIST_FIELDS = ("phones", "emails", "notes")
CONTACT_FIELDS = ("name", "title", "phones", "emails")
SERVICE_FIELDS = ("status", "note")


@dataclass(frozen=True)
class FieldDiff:
    """One field as it was and as it is now (JSON-ready values), for the audit log."""

    field: str
    before: Any
    after: Any


def regions_of(org: Organization) -> set[Region]:
    """The regions an organisation works in: its offices' and the regions its service areas name."""
    regions = {loc.region for loc in org.locations}
    for area in [org.service_area, *(s.service_area for s in org.services)]:
        if area is not None and area.scope == "regions":
            regions |= set(area.regions)
    return regions


def may_edit(role: str, region: str | None, org: Organization) -> bool:
    if role == "supervisor":
        return True
    return role == "office" and region is not None and region in {r.value for r in regions_of(org)}


def _phones(value: Any, field: str, problems: list[Problem]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for i, written in enumerate(_strings(value, field, problems)):
        e164 = to_e164(written)
        if e164 is None:
            problems.append(Problem(f"{field}[{i}]", _("'{value}' is not a valid phone number").format(value=written)))
        else:
            out.append({"as_written": written, "e164": e164})
    return out


def _strings(value: Any, field: str, problems: list[Problem]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(Problem(field, _("expected a list of texts")))
        return []
    return [v.strip() for v in value if v.strip()]


def _text(value: Any, field: str, problems: list[Problem]) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        problems.append(Problem(field, _("expected a text")))
        return None
    return value.strip()


def _set(doc: dict[str, Any], field: str, value: Any, problems: list[Problem]) -> None:
    parts = field.split("/")
    match parts:
        case ["phones"]:
            doc["phones"] = _phones(value, field, problems)
        case ["emails"] | ["notes"]:
            doc[parts[0]] = _strings(value, field, problems)
        case ["website"]:
            doc["website"] = _text(value, field, problems)
        case ["assured_date"]:
            text = _text(value, field, problems)
            try:
                doc["assured_date"] = dt.date.fromisoformat(text or "").isoformat()
            except ValueError:
                problems.append(Problem(field, _("expected a date as YYYY-MM-DD")))
        case ["contacts", index, name] if index.isdigit() and name in CONTACT_FIELDS:
            contacts = doc.setdefault("contacts", [])
            n = int(index)
            if n > len(contacts):
                problems.append(Problem(field, _("there is no contact number {n}").format(n=n)))
                return
            if n == len(contacts):
                contacts.append({})
            contact = contacts[n]
            if name == "phones":
                contact["phones"] = _phones(value, field, problems)
            elif name == "emails":
                contact["emails"] = _strings(value, field, problems)
            else:
                contact[name] = _text(value, field, problems)
        case ["services", service_id, name] if name in SERVICE_FIELDS:
            service = next((s for s in doc["services"] if s["id"] == service_id), None)
            if service is None:
                problems.append(Problem(field, _("no service {id} in this organisation").format(id=service_id)))
                return
            if name == "status":
                if value not in {s.value for s in ServiceStatus}:
                    choices = ", ".join(s.value for s in ServiceStatus)
                    problems.append(Problem(field, _("must be one of: {choices}").format(choices=choices)))
                    return
                service["status"] = value
            else:
                service["note"] = _text(value, field, problems)
        case _:
            problems.append(Problem(field, _("this field cannot be edited")))


def get_field(doc: dict[str, Any], field: str) -> Any:
    """The JSON value at `field` in an organisation document (None when absent)."""
    parts = field.split("/")
    match parts:
        case [name]:
            return doc.get(name)
        case ["contacts", index, name] if index.isdigit():
            contacts = doc.get("contacts") or []
            return contacts[int(index)].get(name) if int(index) < len(contacts) else None
        case ["services", service_id, name]:
            service = next((s for s in doc.get("services", []) if s["id"] == service_id), None)
            return None if service is None else service.get(name)
    return None


def apply_changes(
    org: Organization, changes: list[tuple[str, Any]], *, editor_role: str
) -> tuple[Organization, list[FieldDiff]]:
    """The organisation with `changes` (field path, new value) applied, and what changed; ValidationError
    naming every bad field, with nothing applied, when any is wrong. Fields left as they were are not listed."""
    if not changes:
        raise ValidationError([Problem("changes", _("nothing to change"))])
    doc = org.model_dump(mode="json")
    before = org.model_dump(mode="json")
    problems: list[Problem] = []
    for field, value in changes:
        _set(doc, field, value, problems)
    if problems:
        raise ValidationError(problems)
    diffs = [
        FieldDiff(field, get_field(before, field), get_field(doc, field))
        for field in dict.fromkeys(f for f, _v in changes)
        if get_field(before, field) != get_field(doc, field)
    ]
    if diffs:
        doc["added_by"] = editor_role
    try:
        edited = Organization.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise ValidationError(
            [Problem("/".join(str(p) for p in e["loc"]), str(e["msg"])) for e in exc.errors()]
        ) from exc
    return edited, diffs


def revert_changes(diffs: list[FieldDiff]) -> list[tuple[str, Any]]:
    """The changes that undo `diffs` (each field back to its `before`)."""
    return [(d.field, _raw(d.field, d.before)) for d in diffs]


def _raw(field: str, value: Any) -> Any:
    """A stored value turned back into what `apply_changes` takes (phones as written)."""
    if field.endswith("phones") and isinstance(value, list):
        return [p["as_written"] if isinstance(p, dict) else p for p in value]
    return value
