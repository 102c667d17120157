"""What the supervisor, export and upkeep use cases need from `casework.roles` and `casework.office`.

Those modules are written in parallel (helper B1); until they exist, the stand-ins below (same names, same
shapes as in the shared plan) keep these use cases working. Once they exist they are used and this is unused.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from field_app.domain.workflow import DEFAULT_OVERDUE_DAYS

try:
    from field_app.casework.roles import current  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - until casework.roles lands

    @dataclass(frozen=True)
    class Workspace:  # type: ignore[no-redef, unused-ignore]
        role: str
        region: str | None
        device_id: str | None

    def current(db: sqlite_utils.Database) -> Any:  # type: ignore[misc, no-redef, unused-ignore]
        from field_app.storage.sync_state import load

        state = load(db)
        if state is None:
            return Workspace("agent", None, None)
        return Workspace(state.role, state.region, state.device_id)


try:
    from field_app.casework.office import (  # type: ignore[import-not-found, unused-ignore]
        InboxFilters,
        InboxItem,
        inbox,
        overdue_days,
    )
except ImportError:  # pragma: no cover - until casework.office lands

    @dataclass(frozen=True)
    class InboxFilters:  # type: ignore[misc, no-redef, unused-ignore]
        status: str | None = None
        organization_id: str | None = None
        locality: str | None = None
        device_id: str | None = None
        since: dt.date | None = None
        until: dt.date | None = None
        text: str | None = None
        overdue_only: bool = False

    @dataclass(frozen=True)
    class InboxItem:  # type: ignore[misc, no-redef, unused-ignore]
        id: str
        code: str
        status: str
        service_id: str
        service: str
        organization_id: str
        organization: str
        region: str
        town: str | None
        created_at: dt.datetime
        last_event_at: dt.datetime
        overdue: bool
        flagged: bool
        follow_up: dt.date | None
        origin_device: str | None
        person: Any = None

    @dataclass(frozen=True)
    class _Page:  # type: ignore[no-redef, unused-ignore]
        items: list[Any]
        total: int
        counts: dict[str, int]
        overdue: int

    def overdue_days(db: sqlite_utils.Database) -> int:  # type: ignore[misc, no-redef, unused-ignore]
        row = db.execute("SELECT value FROM settings WHERE key = 'overdue_days'").fetchone()
        return DEFAULT_OVERDUE_DAYS if row is None else int(row[0])

    def inbox(  # type: ignore[misc, no-redef, unused-ignore]
        db: sqlite_utils.Database,
        *,
        region: str | None,
        filters: Any,
        now: dt.datetime,
        offset: int = 0,
        limit: int = 50,
    ) -> Any:
        from field_app.casework.exports import referral_query
        from field_app.domain.referrals import CLOSED
        from field_app.domain.workflow import overdue_cutoff

        days = overdue_days(db)
        where, params = referral_query(filters, region=region, now=now, overdue_days=days)
        closed = ", ".join(f"'{s.value}'" for s in CLOSED)
        base = (
            "FROM referrals r LEFT JOIN organizations o ON o.id = r.organization_id "
            "LEFT JOIN services s ON s.id = r.service_id "
            "LEFT JOIN shared_persons p ON p.returnee_id = r.returnee_id "
            f"LEFT JOIN returnees q ON q.id = r.returnee_id AND r.origin_device IS NULL {where}"
        )
        late = f"(r.status NOT IN ({closed}) AND r.last_event_at <= ?)"
        cutoff = overdue_cutoff(now, days).isoformat()
        rows = db.execute(
            f"SELECT r.id, r.code, r.status, r.service_id, coalesce(s.name, r.service_id), r.organization_id, "
            f"coalesce(o.name, r.organization_id), r.region, r.created_at, r.last_event_at, {late}, "
            f"r.flagged != '[]', r.follow_up, r.origin_device {base} "
            f"ORDER BY {late} DESC, r.created_at DESC, r.id LIMIT ? OFFSET ?",
            [cutoff, *params, cutoff, limit, offset],
        ).fetchall()
        total = int(db.execute(f"SELECT count(*) {base}", params).fetchone()[0])
        items = [
            InboxItem(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                None,
                dt.datetime.fromisoformat(r[8]),
                dt.datetime.fromisoformat(r[9]),
                bool(r[10]),
                bool(r[11]),
                None if r[12] is None else dt.date.fromisoformat(r[12]),
                r[13],
            )
            for r in rows
        ]
        return _Page(items, total, {}, sum(i.overdue for i in items))


__all__ = ["InboxFilters", "InboxItem", "current", "inbox", "overdue_days"]
