"""Exports for supervisors (and offices, without names): referrals filtered as on screen, outcomes per partner,
the directory audit log; as XLSX (xlsxwriter in constant-memory mode: rows are streamed to the file, so 100,000
referrals take little memory) or CSV (UTF-8 with a byte-order mark so spreadsheet programs read the accents).

Personal data: a person's names and phone appear only when this device is a supervisor's AND the referral carries
the consent to share AND the person's details are on this device; each referral exported with a name is an access
row (via `export`) written with its outbox entry, in the same transaction as the export (a failed export leaves
no access row and no file). Dates: ISO 8601 text in CSV, real date cells in XLSX. Header row in the current
language; codes (status, reason, outcome) stay codes, so that scripts can read them.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from field_app.casework.office import InboxFilters, conditions, overdue_days
from field_app.casework.roles import current
from field_app.casework.supervisor import partner_funnels
from field_app.domain.referrals import CLOSED
from field_app.domain.workflow import overdue_cutoff
from field_app.errors import Problem, StorageError, ValidationError
from field_app.i18n import N_, _
from field_app.sync.protocol import AccessRecord

Format = Literal["xlsx", "csv"]
ACCESS_CHUNK = 2000
FORMATS = ("xlsx", "csv")

REFERRAL_COLUMNS = (
    ("code", N_("Slip code")),
    ("id", N_("Referral id")),
    ("status", N_("Status")),
    ("region", N_("Region")),
    ("organization", N_("Partner")),
    ("service", N_("Service")),
    ("created_at", N_("Created")),
    ("last_event_at", N_("Last change")),
    ("overdue", N_("Overdue")),
    ("flagged", N_("Conflict")),
    ("follow_up", N_("Follow-up")),
    ("reason", N_("Reason")),
    ("outcome", N_("Outcome")),
    ("origin_device", N_("Made on device")),
)
PERSON_COLUMNS = (("given_name", N_("Given name")), ("family_name", N_("Family name")), ("phone", N_("Phone")))
OUTCOME_COLUMNS = (
    ("organization_id", N_("Partner id")),
    ("organization", N_("Partner")),
    ("referred", N_("Referred")),
    ("accepted", N_("Accepted")),
    ("enrolled", N_("Enrolled")),
    ("completed", N_("Completed")),
    ("placed", N_("Placed (job or self-employment)")),
    ("acceptance_rate", N_("Acceptance rate")),
    ("completion_rate", N_("Completion rate")),
    ("placement_rate", N_("Placement rate (measured)")),
    ("quoted_insertion", N_("Insertion rate quoted in the 2022 report")),
    ("quoted_year", N_("Year of the quoted rate")),
)
AUDIT_COLUMNS = (
    ("at", N_("When")),
    ("organization_id", N_("Partner id")),
    ("field", N_("Field")),
    ("before", N_("Before")),
    ("after", N_("After")),
    ("role", N_("Role")),
    ("device_id", N_("Device")),
    ("note", N_("Note")),
    ("revert_of", N_("Reverts")),
    ("reverted_by", N_("Reverted by")),
)
RATES = {"acceptance_rate", "completion_rate", "placement_rate", "quoted_insertion"}
DATES = {"follow_up"}
TIMES = {"created_at", "last_event_at", "at"}
BOOLS = {"overdue", "flagged"}


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValidationError([Problem("format", _("must be one of: {choices}").format(choices=", ".join(FORMATS)))])


def _time(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


class _Sheet:
    """One table written row by row to an XLSX or CSV file."""

    def __init__(self, path: Path, fmt: str, columns: Sequence[tuple[str, str]], title: str) -> None:
        self.keys = [k for k, _label in columns]
        self.fmt = fmt
        self.rows = 0
        headers = [_(label) for _k, label in columns]
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            self.file = path.open("w", encoding="utf-8-sig", newline="")
            self.csv = csv.writer(self.file)
            self.csv.writerow(headers)
            return
        import xlsxwriter

        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "remove_timezone": True})
        self.sheet = self.book.add_worksheet(title[:31])
        bold = self.book.add_format({"bold": True})
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.percent = self.book.add_format({"num_format": "0.0%"})
        for col, header in enumerate(headers):
            self.sheet.write_string(0, col, header, bold)
        self.sheet.freeze_panes(1, 0)
        for col, key in enumerate(self.keys):
            width = 18 if key in TIMES else 12 if key in DATES or key in RATES else 16
            self.sheet.set_column(col, col, 38 if key == "id" else width)

    def add(self, row: dict[str, Any]) -> None:
        self.rows += 1
        if self.fmt == "csv":
            self.csv.writerow([_csv_cell(row.get(k)) for k in self.keys])
            return
        r = self.rows
        for col, key in enumerate(self.keys):
            value = row.get(key)
            if value is None or value == "":
                continue
            if isinstance(value, dt.datetime):
                self.sheet.write_datetime(r, col, value, self.when)
            elif isinstance(value, dt.date):
                self.sheet.write_datetime(r, col, dt.datetime.combine(value, dt.time()), self.date)
            elif isinstance(value, bool):
                self.sheet.write_boolean(r, col, value)
            elif isinstance(value, (int, float)):
                self.sheet.write_number(r, col, value, self.percent if key in RATES else None)
            else:
                self.sheet.write_string(r, col, str(value))

    def close(self) -> None:
        if self.fmt == "csv":
            self.file.close()
        else:
            self.book.close()


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4f}"
    return value


def _write(path: Path, fmt: str, columns: Sequence[tuple[str, str]], title: str, rows: Iterable[dict[str, Any]]) -> int:
    _check_format(fmt)
    from xlsxwriter.exceptions import FileCreateError

    try:
        sheet = _Sheet(path, fmt, columns, title)
        try:
            for row in rows:
                sheet.add(row)
        finally:
            sheet.close()
    except (OSError, FileCreateError) as exc:
        raise StorageError(_("cannot write {path}: {reason}").format(path=path, reason=exc)) from exc
    return sheet.rows


def referral_query(
    db: sqlite_utils.Database, filters: InboxFilters, *, region: str | None, cutoff: str
) -> tuple[str, list[Any]]:
    """The WHERE clause over `referrals r` for `filters`, exactly as the inbox filters (casework.office)."""
    where, params = conditions(db, region, filters, with_status=True)
    if filters.overdue_only:
        closed = ", ".join(f"'{s.value}'" for s in CLOSED)
        where.append(f"(r.status NOT IN ({closed}) AND r.last_event_at <= ?)")
        params.append(cutoff)
    return ("WHERE " + " AND ".join(where)) if where else "", params


def export_referrals(
    db: sqlite_utils.Database,
    path: Path | str,
    *,
    fmt: Format | str,
    filters: InboxFilters | None = None,
    region: str | None = None,
    now: dt.datetime,
) -> int:
    """Write the referrals matching `filters` (newest first); returns the number of rows. An office device
    exports only its region's, without names."""
    _check_format(fmt)
    filters = filters or InboxFilters()
    ws = current(db)
    if ws.role == "office":
        region = ws.region
    names = ws.role == "supervisor"
    cutoff = overdue_cutoff(now, overdue_days(db)).isoformat()
    where, params = referral_query(db, filters, region=region, cutoff=cutoff)
    closed = ", ".join(f"'{s.value}'" for s in CLOSED)
    sql = f"""
        SELECT r.id, r.code, r.status, r.region, r.organization_id, coalesce(o.name, r.organization_id),
            coalesce(s.name, r.service_id), r.created_at, r.last_event_at, r.follow_up, r.reason, r.outcome,
            r.origin_device, r.flagged != '[]',
            r.status NOT IN ({closed}) AND r.last_event_at <= ?,
            r.returnee_id, json_extract(r.document, '$.consent_share_at') IS NOT NULL,
            coalesce(p.given_name, q.given_name), coalesce(p.family_name, q.family_name), coalesce(p.phone, q.phone)
        FROM referrals r
        LEFT JOIN organizations o ON o.id = r.organization_id
        LEFT JOIN services s ON s.id = r.service_id
        LEFT JOIN shared_persons p ON p.returnee_id = r.returnee_id
        LEFT JOIN returnees q ON q.id = r.returnee_id AND r.origin_device IS NULL
        {where}
        ORDER BY r.created_at DESC, r.id
    """
    seen: list[tuple[str, str]] = []
    columns = REFERRAL_COLUMNS + (PERSON_COLUMNS if names else ())

    def rows() -> Iterator[dict[str, Any]]:
        for rec in db.execute(sql, [cutoff, *params]):
            (rid, code, status, reg, _org_id, org, service, created, last, follow, reason, outcome, origin, flagged,
             overdue, returnee_id, consent, given, family, phone) = rec  # fmt: skip
            row: dict[str, Any] = {
                "id": rid,
                "code": code,
                "status": status,
                "region": reg,
                "organization": org,
                "service": service,
                "created_at": _time(created),
                "last_event_at": _time(last),
                "overdue": bool(overdue),
                "flagged": bool(flagged),
                "follow_up": None if follow is None else dt.date.fromisoformat(follow),
                "reason": reason,
                "outcome": outcome,
                "origin_device": origin,
            }
            if names and consent and given is not None:
                row.update(given_name=given, family_name=family, phone=phone)
                seen.append((returnee_id, rid))
                if len(seen) >= ACCESS_CHUNK:  # written as we go, so memory stays flat
                    _record_exported(db, seen, device_id=ws.device_id, now=now)
                    seen.clear()
            yield row

    target = Path(path)
    try:
        with db.atomic():  # the access rows and their outbox entries: all of them or none
            count = _write(target, fmt, columns, _("Referrals"), rows())
            _record_exported(db, seen, device_id=ws.device_id, now=now)
    except BaseException:
        if target.is_file():
            target.unlink()
        raise
    return count


def _record_exported(
    db: sqlite_utils.Database, people: list[tuple[str, str]], *, device_id: str | None, now: dt.datetime
) -> None:
    """One access row (via `export`) and its outbox entry per referral exported with a name (caller's
    transaction). Written in bulk: an export of 100,000 names must not take minutes."""
    access: list[tuple[Any, ...]] = []
    outbox: list[tuple[Any, ...]] = []
    at = now.isoformat()
    for returnee_id, referral_id in people:
        record = AccessRecord(
            id=str(uuid.uuid4()), returnee_id=returnee_id, referral_id=referral_id, via="export", at=now,
            device_id=device_id,
        )  # fmt: skip
        access.append((record.id, returnee_id, referral_id, device_id, "export", at))
        payload = json.dumps(record.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        outbox.append((str(uuid.uuid4()), "access", record.id, "append", payload, None, at))
    if not access:
        return
    db.conn.executemany(
        "INSERT INTO access_log (id, returnee_id, referral_id, device_id, via, at) VALUES (?, ?, ?, ?, ?, ?)", access
    )
    db.conn.executemany(
        "INSERT INTO outbox (op_id, entity, entity_id, op, payload, base_version, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        outbox,
    )


def export_outcomes(
    db: sqlite_utils.Database, path: Path | str, *, fmt: Format | str, region: str | None = None, now: dt.datetime
) -> int:
    """One row per partner: the funnel, the measured rates and the insertion rate quoted in the 2022 report."""
    _check_format(fmt)
    ws = current(db)
    if ws.role == "office":
        region = ws.region

    def rows() -> Iterator[dict[str, Any]]:
        for f in partner_funnels(db, region=region):
            yield {
                "organization_id": f.organization_id,
                "organization": f.organization,
                "referred": f.referred,
                "accepted": f.accepted,
                "enrolled": f.enrolled,
                "completed": f.completed,
                "placed": f.placed,
                "acceptance_rate": f.acceptance_rate,
                "completion_rate": f.completion_rate,
                "placement_rate": f.placement_rate,
                "quoted_insertion": None if f.quoted_insertion is None else f.quoted_insertion.percent / 100,
                "quoted_year": f.quoted_year,
            }

    return _write(Path(path), fmt, OUTCOME_COLUMNS, _("Outcomes"), rows())


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def export_audit(db: sqlite_utils.Database, path: Path | str, *, fmt: Format | str, now: dt.datetime) -> int:
    """The directory audit log as pulled (newest first)."""
    _check_format(fmt)

    def rows() -> Iterator[dict[str, Any]]:
        for document, reverted_by in db.execute(
            "SELECT document, reverted_by FROM directory_audit ORDER BY at DESC, id DESC"
        ):
            entry = json.loads(document)
            yield {
                "at": dt.datetime.fromisoformat(entry["at"]),
                "organization_id": entry["organization_id"],
                "field": entry["field"],
                "before": _json_text(entry.get("before")),
                "after": _json_text(entry.get("after")),
                "role": entry["role"],
                "device_id": entry["device_id"],
                "note": entry.get("note"),
                "revert_of": entry.get("revert_of"),
                "reverted_by": reverted_by,
            }

    return _write(Path(path), fmt, AUDIT_COLUMNS, _("Directory audit"), rows())
