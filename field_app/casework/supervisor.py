"""The supervisor workspace on a device: enrolled devices (as the hub last described them), revocation, and the
pipeline and outcomes over the referrals this device holds (all regions, after a sync).

Every figure is one SQL aggregate over the local tables. The funnel counts what each referral *reached*, from its
folded status (and, for a `not_completed` one, whether an unflagged `enrolled` event exists): a referral now
`completed` was accepted and enrolled before. Referrals the agent cancelled before they left the phone
(`revoked`) never reached a partner and are left out of the funnel (they are in the counts by status).

The *measured* placement rate (completed with a job placement or self-employment, out of those completed) is
shown beside the insertion rate the directory quotes: that one is the partner's own figure from the 2022 report
(`Organization.insertion_rate`, with its year), not a measurement of these referrals.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import sqlite_utils

from field_app.casework.office import InboxFilters, InboxItem, inbox, item
from field_app.casework.roles import current
from field_app.domain.directory import InsertionRate
from field_app.domain.referrals import Outcome, ReferralStatus
from field_app.errors import NotFound, Problem, ValidationError
from field_app.i18n import _
from field_app.labels import too_long
from field_app.storage.devices import get_device, list_devices, put_device
from field_app.storage.outbox import enqueue
from field_app.sync.protocol import DeviceInfo, DeviceRevocation

PLACED = (Outcome.JOB_PLACEMENT.value, Outcome.SELF_EMPLOYMENT.value)
REACHED_ACCEPTED = (
    ReferralStatus.ACCEPTED,
    ReferralStatus.ENROLLED,
    ReferralStatus.COMPLETED,
    ReferralStatus.NOT_COMPLETED,
)
REPORT_YEAR = 2022  # the mapping report the directory was built from: rates it quotes are from then
LIST_MAX = 200  # overdue and conflict lists: the first ones, the totals say how many there are


@dataclass(frozen=True)
class PartnerFunnel:
    organization_id: str
    organization: str
    referred: int
    accepted: int
    enrolled: int
    completed: int
    placed: int  # completed with a job placement or self-employment
    acceptance_rate: float | None  # accepted / referred
    completion_rate: float | None  # completed / enrolled
    placement_rate: float | None  # measured: placed / completed
    quoted_insertion: InsertionRate | None  # the partner's own figure in the 2022 report, not a measurement
    quoted_year: int | None  # the year that figure is for (the rate's own year, else the report's: 2022)


@dataclass(frozen=True)
class Pipeline:
    by_status: dict[str, int]
    by_region: dict[str, int]
    by_month: list[tuple[str, int]]  # (YYYY-MM, referrals created that month), oldest first
    partners: list[PartnerFunnel]
    overdue: list[InboxItem]
    conflicts: list[InboxItem]
    overdue_total: int = 0
    conflicts_total: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # completed referrals per outcome code
    total: int = 0


def _require_supervisor(db: sqlite_utils.Database, what: str) -> str | None:
    ws = current(db)
    if ws.role != "supervisor":
        raise ValidationError([Problem(what, _("only a supervisor device can do this"))])
    return None if ws.device_id is None else str(ws.device_id)


def devices(db: sqlite_utils.Database) -> list[DeviceInfo]:
    """Every enrolled device as the hub last described it (pulled by supervisor devices)."""
    return list_devices(db)


def revoke(db: sqlite_utils.Database, device_id: str, *, note: str | None = None, now: dt.datetime) -> DeviceInfo:
    """Revoke a device's token: queued for the hub (`device_revocation`) and shown revoked here at once."""
    own = _require_supervisor(db, "device")
    device = get_device(db, device_id)
    if device is None:
        raise NotFound(_("no device with id {id}").format(id=device_id))
    if device_id == own:
        raise ValidationError([Problem("device", _("a device cannot revoke itself"))])
    if device.revoked_at is not None:
        return device
    note = " ".join((note or "").split()) or None
    if note is not None and len(note) > 500:
        raise ValidationError([Problem("note", too_long(_("Note"), 500))])
    payload = DeviceRevocation(device_id=device_id, at=now, note=note)
    revoked = device.model_copy(update={"revoked_at": now})
    with db.atomic():
        put_device(db, revoked)
        enqueue(
            db,
            entity="device_revocation",
            entity_id=device_id,
            op="append",
            payload=payload.model_dump(mode="json"),
            now=now,
        )
    return revoked


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _where(region: str | None) -> tuple[str, list[object]]:
    return ("WHERE r.region = ?", [region]) if region else ("", [])


def partner_funnels(db: sqlite_utils.Database, *, region: str | None = None) -> list[PartnerFunnel]:
    """Per partner organisation: referred → accepted → enrolled → completed, with rates; most referred first."""
    where, params = _where(region)
    accepted = ", ".join(f"'{s.value}'" for s in REACHED_ACCEPTED)
    sql = f"""
        SELECT r.organization_id, coalesce(o.name, r.organization_id) AS name,
            count(*) AS referred,
            sum(r.status IN ({accepted})) AS accepted,
            sum(r.status IN ('enrolled', 'completed') OR (r.status = 'not_completed' AND EXISTS (
                SELECT 1 FROM referral_events e WHERE e.referral_id = r.id AND e.kind = 'enrolled'
                AND e.id NOT IN (SELECT value FROM json_each(r.flagged))))) AS enrolled,
            sum(r.status = 'completed') AS completed,
            sum(r.status = 'completed' AND r.outcome IN (?, ?)) AS placed,
            json_extract(o.document, '$.insertion_rate') AS insertion
        FROM referrals r LEFT JOIN organizations o ON o.id = r.organization_id
        {where} {"AND" if where else "WHERE"} r.status != 'revoked'
        GROUP BY r.organization_id ORDER BY referred DESC, name
    """
    out: list[PartnerFunnel] = []
    for row in db.execute(sql, [*PLACED, *params]).fetchall():
        org_id, name, referred, acc, enr, comp, placed, insertion = row
        quoted = None if insertion is None else InsertionRate.model_validate(json.loads(insertion))
        out.append(
            PartnerFunnel(
                organization_id=org_id,
                organization=name,
                referred=referred,
                accepted=acc,
                enrolled=enr,
                completed=comp,
                placed=placed,
                acceptance_rate=_rate(acc, referred),
                completion_rate=_rate(comp, enr),
                placement_rate=_rate(placed, comp),
                quoted_insertion=quoted,
                quoted_year=None if quoted is None else (quoted.year or REPORT_YEAR),
            )
        )
    return out


def _counts(db: sqlite_utils.Database, expr: str, region: str | None, extra: str = "") -> list[tuple[str, int]]:
    where, params = _where(region)
    if extra:
        where = f"{where} AND {extra}" if where else f"WHERE {extra}"
    rows = db.execute(f"SELECT {expr} AS k, count(*) FROM referrals r {where} GROUP BY k ORDER BY k", params)
    return [(str(k), int(n)) for k, n in rows.fetchall()]


def _conflicts(db: sqlite_utils.Database, region: str | None, now: dt.datetime) -> tuple[list[InboxItem], int]:
    """Referrals with an event their status did not allow (flagged), most recently changed first."""
    where, params = _where(region)
    where = f"{where} AND r.flagged != '[]'" if where else "WHERE r.flagged != '[]'"
    total = int(db.execute(f"SELECT count(*) FROM referrals r {where}", params).fetchone()[0])
    ids = db.execute(
        f"SELECT r.id FROM referrals r {where} ORDER BY r.last_event_at DESC, r.id LIMIT ?", [*params, LIST_MAX]
    ).fetchall()
    return [item(db, rid, now=now) for (rid,) in ids], total


def pipeline(db: sqlite_utils.Database, *, region: str | None = None, now: dt.datetime) -> Pipeline:
    """Counts by status, region and month, the per-partner funnel, the overdue list and the flagged conflicts."""
    overdue = inbox(db, region=region, filters=InboxFilters(overdue_only=True), now=now, limit=LIST_MAX)
    conflicts, conflicts_total = _conflicts(db, region, now)
    by_status = dict(_counts(db, "r.status", region))
    return Pipeline(
        by_status=by_status,
        by_region=dict(_counts(db, "r.region", region)),
        by_month=_counts(db, "substr(r.created_at, 1, 7)", region),
        partners=partner_funnels(db, region=region),
        overdue=overdue.items,
        conflicts=conflicts,
        overdue_total=overdue.total,
        conflicts_total=conflicts_total,
        outcomes=dict(_counts(db, "coalesce(r.outcome, 'unknown')", region, "r.status = 'completed'")),
        total=sum(by_status.values()),
    )
