"""State of the supervisor's screens: the overview (charts, funnel per partner, overdue, conflicts), devices (with
revoke), exports (into the data directory's `exports/` folder), the directory audit log (with revert), the
access log. All figures come from `casework.supervisor` over this device's copy after a sync."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from field_app.casework import exports, supervisor, upkeep
from field_app.casework.office import InboxFilters
from field_app.errors import FieldAppError
from field_app.i18n import N_, _, format_date, ngettext, pgettext
from field_app.labels import ACCESS_VIA, REFERRAL_STATUSES, SYNC_ROLES, label, region_name
from field_app.ui.viewmodels.common import Clock, Option
from field_app.ui.viewmodels.office import ANY, OUTCOME_WORDS, inbox_row, status_words
from field_app.ui.viewmodels.sync import when_text

FUNNEL = ("referred", "accepted", "enrolled", "completed")


def funnel_word(step: str) -> str:
    """A funnel column's heading: counts of referrals, so plural words (not a status's)."""
    words = {
        "referred": pgettext("funnel", "Referred"),
        "accepted": pgettext("funnel", "Accepted"),
        "enrolled": pgettext("funnel", "Enrolled"),
        "completed": pgettext("funnel", "Completed"),
    }
    return words[step]


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{round(rate * 100)} %"


@dataclass(frozen=True)
class PartnerRow:
    organization: str
    referred: int
    accepted: int
    enrolled: int
    completed: int
    completion: str
    placement: str  # measured here
    quoted: str  # the partner's 2022 figure, labelled with its year


class OverviewViewModel:
    """Pipeline and outcomes: counts by status, region, month; the funnel per partner; overdue; conflicts."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, region: str | None = None):
        self._db = db
        self._clock = clock
        self.region = region
        self.refresh()

    def refresh(self) -> None:
        self.pipeline = supervisor.pipeline(self._db, region=self.region, now=self._clock())

    @property
    def total(self) -> int:
        return int(getattr(self.pipeline, "total", 0) or sum(self.pipeline.by_status.values()))

    @property
    def summary(self) -> str:
        p = self.pipeline
        overdue = int(getattr(p, "overdue_total", len(p.overdue)))
        conflicts = int(getattr(p, "conflicts_total", len(p.conflicts)))
        parts = [
            ngettext("{n} referral", "{n} referrals", self.total).format(n=self.total),
            ngettext("{n} overdue", "{n} overdue", overdue).format(n=overdue),
            ngettext("{n} conflict", "{n} conflicts", conflicts).format(n=conflicts),
        ]
        return " · ".join(parts)

    def by_region(self) -> list[tuple[str, int]]:
        return sorted(((region_name(r), n) for r, n in self.pipeline.by_region.items()), key=lambda x: -x[1])

    def by_month(self) -> list[tuple[str, int]]:
        return list(self.pipeline.by_month)

    def funnel(self) -> list[tuple[str, int]]:
        """Referred → accepted → enrolled → completed, over every partner."""
        sums = {k: sum(getattr(p, k) for p in self.pipeline.partners) for k in FUNNEL}
        return [(funnel_word(k), sums[k]) for k in FUNNEL]

    def by_status(self) -> list[tuple[str, int]]:
        order = [str(k) for k in REFERRAL_STATUSES]
        items = sorted(self.pipeline.by_status.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
        return [(status_words(k), n) for k, n in items]

    def outcomes(self) -> list[tuple[str, int]]:
        found = getattr(self.pipeline, "outcomes", {}) or {}
        return [(_(OUTCOME_WORDS.get(k, k)), n) for k, n in found.items()]

    def partners(self) -> list[PartnerRow]:
        rows = []
        for p in self.pipeline.partners:
            q = p.quoted_insertion
            quoted = (
                _("{percent} % ({year})").format(percent=round(q.percent), year=q.year or _("year not stated"))
                if q is not None
                else "—"
            )
            rows.append(
                PartnerRow(
                    organization=p.organization,
                    referred=p.referred,
                    accepted=p.accepted,
                    enrolled=p.enrolled,
                    completed=p.completed,
                    completion=percent(p.completion_rate),
                    placement=percent(p.placement_rate),
                    quoted=quoted,
                )
            )
        return rows

    def overdue(self) -> list[Any]:
        now = self._clock()
        return [inbox_row(i, now) for i in self.pipeline.overdue]

    def conflicts(self) -> list[Any]:
        now = self._clock()
        return [inbox_row(i, now) for i in self.pipeline.conflicts]


@dataclass(frozen=True)
class DeviceRow:
    device_id: str
    title: str  # name, or the short id
    role: str
    region: str
    last_sync: str
    pending: str
    quarantined: str
    version: str
    revoked: str | None  # "Revoked on …" or None
    can_revoke: bool


class DevicesViewModel:
    """Every enrolled device as the hub last described it; revoke one (after confirmation)."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock):
        self._db = db
        self._clock = clock
        self.message = ""
        self.refresh()

    def refresh(self) -> None:
        now = self._clock()

        def count(n: int | None) -> str:
            return "—" if n is None else str(n)

        self.rows = [
            DeviceRow(
                device_id=d.id,
                title=d.name or _("device {id}").format(id=d.id[:8]),
                role=label(SYNC_ROLES, str(d.role)),
                region=region_name(d.region) if d.region else _("all regions"),
                last_sync=when_text(d.last_sync_at, now) if d.last_sync_at else _("never"),
                pending=count(d.pending),
                quarantined=count(d.quarantined),
                version=d.app_version or "—",
                revoked=_("Revoked {date}").format(date=format_date(d.revoked_at.date())) if d.revoked_at else None,
                can_revoke=d.revoked_at is None,
            )
            for d in supervisor.devices(self._db)
        ]

    @property
    def status_text(self) -> str:
        if not self.rows:
            return _("No device known yet: sync to receive the list from the hub.")
        return ngettext("{n} device", "{n} devices", len(self.rows)).format(n=len(self.rows))

    def revoke_question(self, row: DeviceRow) -> str:
        return _("Revoke {device} ({role}, {region})? It will no longer sync; it can be enrolled again.").format(
            device=row.title, role=row.role, region=row.region
        )

    def revoke(self, device_id: str) -> None:
        try:
            supervisor.revoke(self._db, device_id, now=self._clock())
        except FieldAppError as exc:
            self.message = str(exc)
        else:
            self.message = _("Revoked here; the hub revokes it at the next sync.")
        self.refresh()


EXPORTS = {
    "referrals": N_("Referrals"),
    "outcomes": N_("Outcomes per partner"),
    "audit": N_("Directory audit log"),
}


class ExportsViewModel:
    """XLSX or CSV of referrals (with the status filter), outcomes per partner, or the audit log, written into
    the data directory's exports/ folder; says where the file is."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, folder: Path):
        self._db = db
        self._clock = clock
        self.folder = folder
        self.what = "referrals"
        self.fmt = "xlsx"
        self.status: str | None = None
        self.region: str | None = None
        self.message = ""
        self.error = ""
        self.written: Path | None = None

    def what_options(self) -> list[Option]:
        return [Option(k, _(v)) for k, v in EXPORTS.items()]

    def format_options(self) -> list[Option]:
        return [Option("xlsx", _("Excel (XLSX)")), Option("csv", "CSV")]

    def status_options(self) -> list[Option]:
        return [Option(ANY, _("All statuses"))] + [Option(k, _(v)) for k, v in REFERRAL_STATUSES.items()]

    def export(self) -> bool:
        now = self._clock()
        stamp = now.strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{self.what}-{stamp}.{self.fmt}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.error = self.message = ""
        try:
            if self.what == "referrals":
                filters = InboxFilters(status=self.status)
                rows = exports.export_referrals(
                    self._db, path, fmt=self.fmt, filters=filters, region=self.region, now=now
                )
            elif self.what == "outcomes":
                rows = exports.export_outcomes(self._db, path, fmt=self.fmt, now=now)
            else:
                rows = exports.export_audit(self._db, path, fmt=self.fmt, now=now)
        except FieldAppError as exc:
            self.error = str(exc)
            return False
        self.written = path
        self.message = ngettext("{n} row written to {path}", "{n} rows written to {path}", rows).format(
            n=rows, path=path
        )
        return True


@dataclass(frozen=True)
class AuditRow:
    audit_id: str
    title: str  # organisation · field
    change: str  # before → after
    who: str
    note: str | None
    reverted: bool
    can_revert: bool


def _value(v: Any) -> str:
    if v in (None, "", []):
        return _("(empty)")
    if isinstance(v, list):
        return ", ".join(str(x.get("as_written", x)) if isinstance(x, dict) else str(x) for x in v)
    return str(v)


class AuditViewModel:
    """The directory audit log, newest first; revert one edit (a supervisor's)."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, limit: int = 100):
        self._db = db
        self._clock = clock
        self.limit = limit
        self.message = ""
        self.refresh()

    def refresh(self) -> None:
        now = self._clock()
        names = dict(upkeep.editable_organizations(self._db, role="supervisor", region=None))
        self.rows = [
            AuditRow(
                audit_id=a.id,
                title=f"{names.get(a.organization_id, a.organization_id)} · {a.field}",
                change=_("{before} → {after}").format(before=_value(a.before), after=_value(a.after)),
                who=_("{role}, device {id}, {when}").format(
                    role=label(SYNC_ROLES, str(a.role)), id=a.device_id[:8], when=when_text(a.at, now)
                ),
                note=a.note,
                reverted=a.reverted_by is not None,
                can_revert=a.reverted_by is None and a.revert_of is None,
            )
            for a in upkeep.audit(self._db, limit=self.limit)
        ]

    @property
    def status_text(self) -> str:
        if not self.rows:
            return _("No directory edit yet.")
        n = len(self.rows)
        return ngettext("The latest edit", "The latest {n} edits", n).format(n=n)

    def revert(self, audit_id: str) -> None:
        try:
            upkeep.revert(self._db, audit_id, now=self._clock())
        except FieldAppError as exc:
            self.message = str(exc)
        else:
            self.message = _("Reverted here; every device receives it after the next sync.")
        self.refresh()


@dataclass(frozen=True)
class AccessRow:
    when: str
    who: str
    what: str


VIA: dict[str, str] = dict(ACCESS_VIA)


class AccessViewModel:
    """Who read which person's details, when, how (newest first; this device's and the hub's)."""

    def __init__(self, db: sqlite_utils.Database, clock: Clock, limit: int = 100):
        self._db = db
        self._clock = clock
        self.limit = limit
        self.refresh()

    def refresh(self) -> None:
        from field_app.casework import access  # helper B1's module: imported when the screen opens

        now = self._clock()
        self.rows = [
            AccessRow(
                when=when_text(r.at, now),
                who=_("device {id}").format(id=(r.device_id or "?")[:8]),
                what=_("{via} · person {person} · referral {referral}").format(
                    via=_(VIA.get(str(r.via), str(r.via))),
                    person=r.returnee_id[:8],
                    referral=(r.referral_id or "—")[:8].upper(),
                ),
            )
            for r in access.log(self._db, limit=self.limit)
        ]

    @property
    def status_text(self) -> str:
        n = len(self.rows)
        return ngettext("The latest read", "The latest {n} reads", n).format(n=n) if n else _("No read recorded yet.")
