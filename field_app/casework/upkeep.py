"""Directory upkeep on an office or supervisor device: correct an organisation of the directory.

An edit is applied to the local directory at once (search and nearby indexes rewritten by
`directory.build.put_organization`, so the device shows it offline) and queued for the hub as a `directory_edit`
outbox entry, both in one transaction. The hub applies it for everyone with one audit row per field changed;
supervisor devices pull those rows (`audit`) and may revert one (`revert`).

Who may edit what is `directory.edits.may_edit`: an office the organisations of its region, a supervisor all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pydantic
import sqlite_utils

from field_app.casework.roles import current
from field_app.directory.build import put_organization
from field_app.directory.edits import FieldDiff, apply_changes, may_edit, revert_changes
from field_app.domain.directory import Organization
from field_app.domain.vocabulary import ServiceStatus
from field_app.errors import NotFound, Problem, ValidationError
from field_app.i18n import _
from field_app.labels import too_long
from field_app.storage.audit import AuditLine, get_audit, list_audit
from field_app.storage.outbox import enqueue
from field_app.sync.protocol import DirectoryEdit, FieldChange

NOTE_MAX = 500


def _uuid() -> str:
    return str(uuid.uuid4())


def load_organization(db: sqlite_utils.Database, org_id: str) -> Organization:
    row = db.execute("SELECT document FROM organizations WHERE id = ?", [org_id]).fetchone()
    if row is None:
        raise NotFound(_("no organisation with id {id}").format(id=org_id))
    return Organization.model_validate_json(row[0])


def editable_organizations(db: sqlite_utils.Database, *, role: str, region: str | None) -> list[tuple[str, str]]:
    """(id, name) of the organisations this role may edit, by name."""
    orgs = (Organization.model_validate_json(r[0]) for r in db.execute("SELECT document FROM organizations"))
    return sorted(((o.id, o.name) for o in orgs if may_edit(role, region, o)), key=lambda p: (p[1].casefold(), p[0]))


def _check_note(note: str | None) -> str | None:
    note = " ".join((note or "").split()) or None
    if note is not None and len(note) > NOTE_MAX:
        raise ValidationError([Problem("note", too_long(_("Note"), NOTE_MAX))])
    return note


def _allowed(db: sqlite_utils.Database, org: Organization) -> str:
    """The editor's role, when this device may edit `org`; else ValidationError naming `organization`."""
    ws = current(db)
    if not may_edit(ws.role, ws.region, org):
        if ws.role == "office":
            message = _("{name} does not work in this office's region: a supervisor can correct it").format(
                name=org.name
            )
        else:
            message = _("only an office or supervisor device can correct the directory")
        raise ValidationError([Problem("organization", message)])
    return str(ws.role)


def _field_changes(changes: list[tuple[str, Any]]) -> list[FieldChange]:
    out: list[FieldChange] = []
    problems: list[Problem] = []
    for field, value in changes:
        try:
            out.append(FieldChange(field=field, value=value))
        except pydantic.ValidationError:
            problems.append(Problem(field, _("expected a text or a list of texts")))
    if problems:
        raise ValidationError(problems)
    return out


def _queue(db: sqlite_utils.Database, edited: Organization | None, edit: DirectoryEdit, now: dt.datetime) -> None:
    with db.atomic():
        if edited is not None:
            put_organization(db, edited)
        enqueue(
            db,
            entity="directory_edit",
            entity_id=edit.id,
            op="append",
            payload=edit.model_dump(mode="json"),
            now=now,
        )


def edit(
    db: sqlite_utils.Database,
    org_id: str,
    changes: list[tuple[str, Any]],
    *,
    note: str | None = None,
    now: dt.datetime,
    new_id: Callable[[], str] = _uuid,
) -> Organization:
    """Apply `changes` (field path, new value; see directory/edits.py) here and queue them for the hub.

    ValidationError naming each bad field (or `organization` when this device may not edit it), nothing written.
    When nothing would change, nothing is queued and the organisation is returned as it is."""
    org = load_organization(db, org_id)
    role = _allowed(db, org)
    note = _check_note(note)
    wire = _field_changes(changes)
    edited, diffs = apply_changes(org, changes, editor_role=role)
    if not diffs:
        return org
    _queue(db, edited, DirectoryEdit(id=new_id(), organization_id=org.id, changes=wire, note=note, at=now), now)
    return edited


def verified_today(
    db: sqlite_utils.Database, org_id: str, *, now: dt.datetime, note: str | None = None
) -> Organization:
    """Record that someone checked this entry today (`assured_date` = today)."""
    return edit(db, org_id, [("assured_date", now.date().isoformat())], note=note, now=now)


def set_service_status(
    db: sqlite_utils.Database,
    org_id: str,
    service_id: str,
    status: ServiceStatus | str,
    *,
    now: dt.datetime,
    note: str | None = None,
) -> Organization:
    """Mark a service ended (`inactive`), suspended, full, or active again."""
    return edit(db, org_id, [(f"services/{service_id}/status", str(status))], note=note, now=now)


def add_note(db: sqlite_utils.Database, org_id: str, text: str, *, now: dt.datetime) -> Organization:
    """Add one note to the organisation's notes (kept with the earlier ones)."""
    text = " ".join(text.split())
    if not text:
        raise ValidationError([Problem("notes", _("the note is empty"))])
    org = load_organization(db, org_id)
    return edit(db, org_id, [("notes", [*org.notes, text])], now=now)


def audit(
    db: sqlite_utils.Database, *, organization_id: str | None = None, offset: int = 0, limit: int = 100
) -> list[AuditLine]:
    """The hub's directory audit log as this (supervisor) device last pulled it, newest first."""
    return list_audit(db, organization_id=organization_id, offset=offset, limit=limit)


def revert(
    db: sqlite_utils.Database,
    audit_id: str,
    *,
    note: str | None = None,
    now: dt.datetime,
    new_id: Callable[[], str] = _uuid,
) -> Organization:
    """Undo one audited change (supervisors): the field goes back to its `before` here at once, and the hub
    is asked to do the same (a `directory_edit` with `revert_of`), with its own audit row."""
    if current(db).role != "supervisor":
        raise ValidationError([Problem("audit", _("only a supervisor can revert a directory edit"))])
    line = get_audit(db, audit_id)
    if line is None:
        raise NotFound(_("no directory audit row with id {id}").format(id=audit_id))
    if line.reverted_by is not None:
        raise ValidationError([Problem("audit", _("this edit was already reverted"))])
    note = _check_note(note)
    org = load_organization(db, line.organization_id)
    back = revert_changes([FieldDiff(line.field, line.before, line.after)])
    edited, diffs = apply_changes(org, back, editor_role="supervisor")
    wire = DirectoryEdit(id=new_id(), organization_id=org.id, revert_of=line.id, note=note, at=now)
    _queue(db, edited if diffs else None, wire, now)
    return edited if diffs else org
