"""State of directory upkeep (office: its region's partners; supervisor: all): pick an organisation, correct its
phones, e-mails and first contact, mark a service ended / suspended / full, add a note, "verified today".

Each save goes through `casework.upkeep` (applied here at once, queued for the hub with its audit trail); the
problems come back on their fields (named by the edit's field path)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from field_app.casework import upkeep
from field_app.domain.geo import fold
from field_app.errors import FieldAppError, ValidationError
from field_app.i18n import N_, _, format_date, ngettext
from field_app.ui.viewmodels.common import Clock, Option

SERVICE_STATUSES = {
    "active": N_("Open"),
    "full": N_("Full for now"),
    "suspended": N_("Suspended"),
    "inactive": N_("Ended"),
    "planned": N_("Not open yet"),
}


class UpkeepListViewModel:
    """The organisations this device may correct, filtered as the user types."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, *, role: str, region: str | None):
        self._db = db
        self._all = upkeep.editable_organizations(db, role=role, region=region)
        self.text = ""
        self.rows: list[tuple[str, str]] = list(self._all)

    def set_text(self, text: str) -> None:
        self.text = text.strip()
        wanted = fold(self.text)
        self.rows = [(i, n) for i, n in self._all if wanted in fold(n) or wanted in i]

    def refresh(self) -> None:
        self.set_text(self.text)

    @property
    def status_text(self) -> str:
        if not self._all:
            return _("No organisation of this region in the directory.")
        total = len(self._all)
        return ngettext("{n} of {total} organisation", "{n} of {total} organisations", total).format(
            n=len(self.rows), total=total
        )


def _joined(items: list[Any]) -> str:
    return ", ".join(getattr(i, "as_written", i) for i in items)


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]


@dataclass(frozen=True)
class ServiceLine:
    service_id: str
    name: str
    status: str


class UpkeepViewModel:
    """One organisation's correctable fields, as texts; `save()` sends only what changed."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, organization_id: str):
        self._db = db
        self._clock = clock
        self.organization_id = organization_id
        self.errors: dict[str, str] = {}
        self.message = ""
        self.note = ""
        self.refresh()

    def refresh(self) -> None:
        self.org = upkeep.load_organization(self._db, self.organization_id)
        contact = self.org.contacts[0] if self.org.contacts else None
        self.values: dict[str, Any] = {
            "phones": _joined(self.org.phones),
            "emails": _joined(self.org.emails),
            "contacts/0/name": (contact.name or "") if contact else "",
            "contacts/0/title": (contact.title or "") if contact else "",
            "contacts/0/phones": _joined(contact.phones) if contact else "",
            "contacts/0/emails": _joined(contact.emails) if contact else "",
            **{f"services/{s.id}/status": str(s.status) for s in self.org.services},
        }
        self._stored = dict(self.values)

    @property
    def name(self) -> str:
        return self.org.name

    @property
    def verified_text(self) -> str:
        return _("Last verified: {date}").format(date=format_date(self.org.assured_date))

    @property
    def services(self) -> list[ServiceLine]:
        return [ServiceLine(s.id, s.name, self.values[f"services/{s.id}/status"]) for s in self.org.services]

    def status_options(self) -> list[Option]:
        return [Option(k, _(v)) for k, v in SERVICE_STATUSES.items()]

    def set(self, field: str, value: str) -> None:
        self.values[field] = value or ""
        self.errors.pop(field, None)

    def changes(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for field, value in self.values.items():
            if value == self._stored.get(field):
                continue
            plural = field.endswith(("phones", "emails"))
            out.append((field, _split(value) if plural else value.strip() or None))
        return out

    def save(self) -> bool:
        changes = self.changes()
        if not changes and not self.note.strip():
            self.message = _("Nothing changed.")
            return False
        return self._run(lambda now: self._edit(changes, now), _("Saved: every device receives it after syncing."))

    def _edit(self, changes: list[tuple[str, Any]], now: dt.datetime) -> None:
        note = self.note.strip() or None
        if changes:
            upkeep.edit(self._db, self.organization_id, changes, note=note, now=now)
        elif note:
            upkeep.add_note(self._db, self.organization_id, note, now=now)

    def verified_today(self) -> bool:
        return self._run(
            lambda now: upkeep.verified_today(self._db, self.organization_id, now=now),
            _("Marked as verified today."),
        )

    def _run(self, action: Any, done: str) -> bool:
        self.errors, self.message = {}, ""
        try:
            action(self._clock())
        except ValidationError as exc:
            for p in exc.problems:
                key = p.field.split("[")[0]
                self.errors[key if key in self.values else "organization"] = p.message
            self.message = _("Nothing was saved: see the fields marked.")
            return False
        except FieldAppError as exc:
            self.errors["organization"] = str(exc)
            return False
        self.note = ""
        self.message = done
        self.refresh()
        return True
