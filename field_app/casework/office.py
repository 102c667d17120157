"""The regional office's workspace on a device: the inbox of its region's referrals, a referral's detail, the
workflow moves (received → accepted | declined → enrolled → completed | not completed) and the overdue delay.

Referrals made on agents' phones arrive by sync (`storage.referrals.put_pulled_referral`), with the person when the
referral carries the consent to share; walk-ins registered at the office are local rows. Every move is an event
written with its outbox entry in ONE transaction (`storage.referrals.add_event`): it works offline and reaches the
hub, then the agent's phone, at the next syncs. A move the status no longer allows once other events arrive is
kept and flagged by the fold (a conflict shown on both sides), never dropped.

The inbox reads only the page it shows: overdue first (open, no event for `overdue_days`), then newest, each part
walked in `created_at` order on migration 6's indexes; the counts per status come from one pass over the
(region, status, last_event_at) index. See bench/office.py for the figures.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlite_utils

from field_app.casework import access
from field_app.casework.roles import current
from field_app.directory.detail import ServiceDetail, service_detail
from field_app.domain.geo import fold
from field_app.domain.referrals import (
    CLOSED,
    DeclineReason,
    EventKind,
    Outcome,
    Referral,
    ReferralEvent,
    ReferralStatus,
    in_order,
)
from field_app.domain.returnees import Returnee
from field_app.domain.workflow import DEFAULT_OVERDUE_DAYS, check_move, next_moves, overdue_cutoff
from field_app.errors import NotFound, Problem, ValidationError
from field_app.i18n import _
from field_app.labels import move_problem, too_long
from field_app.storage.referrals import add_event, get_referral
from field_app.storage.shared_persons import get_shared_person
from field_app.sync.protocol import SharedPerson

NOTE_MAX = 500
MAX_LIMIT = 500
OVERDUE_KEY = "overdue_days"
OPEN = tuple(s.value for s in ReferralStatus if s not in CLOSED)
_OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN)
_CLOSED_SQL = ", ".join(f"'{s.value}'" for s in CLOSED)


@dataclass(frozen=True)
class InboxFilters:
    status: str | None = None
    organization_id: str | None = None
    locality: str | None = None  # a gazetteer id: the person's place of return, or any place of that cercle
    device_id: str | None = None  # the device that made the referral
    since: dt.date | None = None  # created on or after
    until: dt.date | None = None  # created on or before
    text: str | None = None  # a slip code (or its start) or part of the person's name, any case, any accents
    overdue_only: bool = False


@dataclass(frozen=True)
class PersonLine:
    given_name: str
    family_name: str
    phone: str | None

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


@dataclass(frozen=True)
class InboxItem:
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
    person: PersonLine | None = None
    reason: str | None = None
    outcome: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The item as `field-app office inbox --json` prints it."""
        return {
            "id": self.id,
            "code": self.code,
            "status": self.status,
            "service_id": self.service_id,
            "service": self.service,
            "organization_id": self.organization_id,
            "organization": self.organization,
            "region": self.region,
            "town": self.town,
            "created_at": self.created_at.isoformat(),
            "last_event_at": self.last_event_at.isoformat(),
            "overdue": self.overdue,
            "flagged": self.flagged,
            "follow_up": self.follow_up.isoformat() if self.follow_up else None,
            "reason": self.reason,
            "outcome": self.outcome,
            "origin_device": self.origin_device,
            "returnee": (
                None
                if self.person is None
                else {
                    "given_name": self.person.given_name,
                    "family_name": self.person.family_name,
                    "phone": self.person.phone,
                }
            ),
        }


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    total: int  # rows matching the filters (the page is `items`; page on with offset)
    counts: dict[str, int]  # per status, with the other filters, ignoring the status filter
    overdue: int  # overdue rows matching the filters
    offset: int = 0
    limit: int = 50

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True)
class ReferralDetail:
    item: InboxItem
    referral: Referral
    person: SharedPerson | None
    events: list[ReferralEvent]
    flagged: set[str] = field(default_factory=set)
    moves: list[EventKind] = field(default_factory=list)
    service: ServiceDetail | None = None


# --- settings ------------------------------------------------------------------------------------------------


def overdue_days(db: sqlite_utils.Database) -> int:
    """After how many days without an event an open referral is overdue (default 14)."""
    row = db.execute("SELECT value FROM settings WHERE key = ?", [OVERDUE_KEY]).fetchone()
    try:
        return int(row[0]) if row else DEFAULT_OVERDUE_DAYS
    except ValueError:
        return DEFAULT_OVERDUE_DAYS


def set_overdue_days(db: sqlite_utils.Database, days: int) -> None:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise ValidationError([Problem("overdue_days", _("Give a number of days from 1 to 365."))])
    with db.atomic():
        db.execute(
            "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [OVERDUE_KEY, str(days)],
        )


# --- the inbox -----------------------------------------------------------------------------------------------


def conditions(
    db: sqlite_utils.Database, region: str | None, filters: InboxFilters, *, with_status: bool
) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if region:
        where.append("r.region = ?")
        params.append(region)
    if with_status and filters.status:
        where.append("r.status = ?")
        params.append(filters.status)
    if filters.organization_id:
        where.append("r.organization_id = ?")
        params.append(filters.organization_id)
    if filters.device_id:
        own = current(db).device_id
        if own is not None and filters.device_id == own:
            where.append("(r.origin_device = ? OR r.origin_device IS NULL)")
        else:
            where.append("r.origin_device = ?")
        params.append(filters.device_id)
    if filters.since:
        where.append("r.created_at >= ?")
        params.append(filters.since.isoformat())
    if filters.until:
        where.append("r.created_at < ?")
        params.append((filters.until + dt.timedelta(days=1)).isoformat())
    if filters.locality:
        places = _places_within(db, filters.locality)
        marks = ", ".join("?" for _ in places)
        where.append(
            f"r.rowid IN (SELECT x.rowid FROM shared_persons p CROSS JOIN referrals x ON x.returnee_id = p.returnee_id "
            f"WHERE p.locality IN ({marks}) UNION SELECT x.rowid FROM returnees q "
            f"CROSS JOIN referrals x ON x.returnee_id = q.id WHERE json_extract(q.document, '$.locality') IN ({marks}))"
        )
        params.extend([*places, *places])
    text = (filters.text or "").strip()
    if text:
        code = "".join(ch for ch in text.upper() if ch.isalnum() or ch == "-")[:8]
        words = fold(text).replace('"', " ").split()
        # people whose names hold every word as the start of a word (person_names, migration 7), or a slip code
        # that starts with the text: the page then reads only those referrals
        names = " ".join(f'"{w}"*' for w in words if any(ch.isalnum() for ch in w))
        # found once (the code index, the name index), then handed to each statement of the page as a list
        found = db.execute(
            "SELECT rowid FROM referrals WHERE code >= ? AND code < ? "
            "UNION SELECT x.rowid FROM referrals x WHERE x.returnee_id IN "
            "(SELECT returnee_id FROM person_names WHERE person_names MATCH ?)",
            [code or "\uffff", (code or "\uffff") + "\uffff", names or '"\uffff"'],
        ).fetchall()
        where.append("r.rowid IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([row[0] for row in found]))
    return where, params


def _places_within(db: sqlite_utils.Database, locality: str) -> list[str]:
    """The place itself and, for a cercle's capital, every place of that cercle."""
    row = db.execute("SELECT kind, cercle, region FROM localities WHERE id = ?", [locality]).fetchone()
    if row is None or row[0] != "cercle_capital" or not row[1]:
        return [locality]
    others = [r[0] for r in db.execute("SELECT id FROM localities WHERE cercle = ? AND region = ?", [row[1], row[2]])]
    return sorted({locality, *others})


def _overdue_sql() -> str:
    return f"(r.status IN ({_OPEN_SQL}) AND r.last_event_at <= ?)"


def _not_overdue_sql() -> str:
    return f"(r.status IN ({_CLOSED_SQL}) OR r.last_event_at > ?)"


ITEM_COLUMNS = (
    "r.id, r.code, r.status, r.service_id, r.organization_id, r.region, r.created_at, r.last_event_at, "
    "r.flagged, r.follow_up, r.origin_device, r.returnee_id, r.reason, r.outcome, "
    "json_extract(r.document, '$.consent_share_at')"
)


def inbox(
    db: sqlite_utils.Database,
    *,
    region: str | None,
    filters: InboxFilters | None = None,
    now: dt.datetime,
    offset: int = 0,
    limit: int = 50,
) -> InboxPage:
    """One page of the referrals of `region` (None: every region) matching `filters`: overdue first, then newest.
    `total` and `counts` say how many there are in all, so a page is never taken for the whole list."""
    filters = filters or InboxFilters()
    offset, limit = max(0, int(offset)), max(1, min(int(limit), MAX_LIMIT))
    cutoff = overdue_cutoff(now, overdue_days(db)).isoformat()
    counts, late = _counts(db, region, filters, cutoff)
    if filters.status:
        total, overdue = counts.get(filters.status, 0), late.get(filters.status, 0)
    else:
        total, overdue = sum(counts.values()), sum(late.values())

    where, params = conditions(db, region, filters, with_status=True)
    index = _index(region, filters)
    rows: list[tuple[Any, ...]] = []
    if offset < overdue:  # the overdue part of the list
        rows += _part(db, index, where, params, _overdue_sql(), cutoff, offset, limit)
    if not filters.overdue_only and len(rows) < limit:  # then the rest, newest first
        rows += _part(db, index, where, params, _not_overdue_sql(), cutoff, max(0, offset - overdue), limit - len(rows))
    return InboxPage(_items(db, rows, cutoff), total, counts, overdue, offset, limit)


def _counts(
    db: sqlite_utils.Database, region: str | None, filters: InboxFilters, cutoff: str
) -> tuple[dict[str, int], dict[str, int]]:
    """Rows per status (the status filter aside) and overdue rows per status. With no filter but the region, the
    status filter and `overdue_only`, these are counts of index ranges; otherwise one pass over the matches."""
    counts: dict[str, int] = {s.value: 0 for s in ReferralStatus}
    late: dict[str, int] = {}
    plain = InboxFilters(status=filters.status, overdue_only=filters.overdue_only)
    if filters == plain:
        scope, params = ("WHERE region = ?", [region]) if region else ("", [])
        for status, n in db.execute(f"SELECT status, count(*) FROM referrals {scope} GROUP BY status", params):
            counts[status] = int(n)
        for status in OPEN:
            if counts.get(status):
                sql = f"SELECT count(*) FROM referrals {scope or 'WHERE 1'} AND status = ? AND last_event_at <= ?"
                late[status] = int(db.execute(sql, [*params, status, cutoff]).fetchone()[0])
        if filters.overdue_only:
            counts = {s: late.get(s, 0) for s in counts}
        return counts, late
    where, params = conditions(db, region, filters, with_status=False)
    if filters.overdue_only:
        where.append(_overdue_sql())
        params.append(cutoff)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    for status, n, n_late in db.execute(
        f"SELECT r.status, count(*), sum({_overdue_sql()}) FROM referrals r {clause} GROUP BY r.status",
        [cutoff, *params],
    ):
        counts[status] = int(n)
        late[status] = int(n_late or 0)
    return counts, late


def _index(region: str | None, filters: InboxFilters) -> str | None:
    """Migration 6's index that walks this query's rows newest first (see the module doc); None when a text or
    place filter has already picked the rows."""
    if filters.text or filters.locality:
        return None
    if region and filters.status:
        return "referrals_region_status_newest"
    return "referrals_region_newest" if region else "referrals_newest"


def _part(
    db: sqlite_utils.Database,
    index: str | None,
    where: list[str],
    params: list[Any],
    part: str,
    cutoff: str,
    offset: int,
    limit: int,
) -> list[tuple[Any, ...]]:
    clause = " AND ".join([*where, part])
    return list(
        db.execute(
            f"SELECT {ITEM_COLUMNS} FROM referrals r {f'INDEXED BY {index}' if index else ''} WHERE {clause} "
            "ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?",
            [*params, cutoff, limit, offset],
        )
    )


def _items(db: sqlite_utils.Database, rows: list[tuple[Any, ...]], cutoff: str) -> list[InboxItem]:
    if not rows:
        return []
    service_ids = sorted({r[3] for r in rows})
    org_ids = sorted({r[4] for r in rows})
    services = dict(_lookup(db, "SELECT id, name FROM services WHERE id IN ({})", service_ids))
    orgs = dict(_lookup(db, "SELECT id, name FROM organizations WHERE id IN ({})", org_ids))
    people = _people(db, rows)
    return [
        InboxItem(
            id=r[0],
            code=r[1],
            status=r[2],
            service_id=r[3],
            service=services.get(r[3], r[3]),
            organization_id=r[4],
            organization=orgs.get(r[4], r[4]),
            region=r[5],
            town=people.get(r[11], (None, None))[1],
            created_at=dt.datetime.fromisoformat(r[6]),
            last_event_at=dt.datetime.fromisoformat(r[7]),
            overdue=r[2] in OPEN and r[7] <= cutoff,
            flagged=bool(json.loads(r[8] or "[]")),
            follow_up=dt.date.fromisoformat(r[9]) if r[9] else None,
            origin_device=r[10],
            person=people.get(r[11], (None, None))[0] if r[14] else None,
            reason=r[12],
            outcome=r[13],
        )
        for r in rows
    ]


def _lookup(db: sqlite_utils.Database, sql: str, ids: list[str]) -> list[tuple[Any, Any]]:
    if not ids:
        return []
    return [(r[0], r[1]) for r in db.execute(sql.format(", ".join("?" for _ in ids)), ids)]


def _people(db: sqlite_utils.Database, rows: list[tuple[Any, ...]]) -> dict[str, tuple[PersonLine | None, str | None]]:
    """returnee id → (name and phone, town name) for the page's rows: local records for referrals made here,
    shared persons for the others."""
    local = sorted({r[11] for r in rows if r[10] is None})
    shared = sorted({r[11] for r in rows if r[10] is not None})
    found: dict[str, tuple[PersonLine | None, str | None]] = {}
    places: dict[str, str | None] = {}
    for rid, given, family, phone, locality in _lookup5(
        db,
        "SELECT id, given_name, family_name, phone, json_extract(document, '$.locality') FROM returnees "
        "WHERE id IN ({})",
        local,
    ) + _lookup5(
        db,
        "SELECT returnee_id, given_name, family_name, phone, json_extract(document, '$.locality') "
        "FROM shared_persons WHERE returnee_id IN ({})",
        [s for s in shared if s not in local],
    ):
        found[rid] = (PersonLine(given, family, phone), locality)
        if locality:
            places[locality] = None
    names = dict(_lookup(db, "SELECT id, name FROM localities WHERE id IN ({})", sorted(places)))
    return {rid: (line, names.get(loc, loc) if loc else None) for rid, (line, loc) in found.items()}


def _lookup5(db: sqlite_utils.Database, sql: str, ids: list[str]) -> list[tuple[Any, ...]]:
    if not ids:
        return []
    return [tuple(r) for r in db.execute(sql.format(", ".join("?" for _ in ids)), ids)]


def item(db: sqlite_utils.Database, referral_id: str, *, now: dt.datetime) -> InboxItem:
    """One referral as the inbox lists it (NotFound when this device does not hold it)."""
    cutoff = overdue_cutoff(now, overdue_days(db)).isoformat()
    rows = list(db.execute(f"SELECT {ITEM_COLUMNS} FROM referrals r WHERE r.id = ?", [referral_id]))
    if not rows:
        raise NotFound(_("no referral with id {id}").format(id=referral_id))
    return _items(db, rows, cutoff)[0]


# --- one referral ---------------------------------------------------------------------------------------------


def _person(db: sqlite_utils.Database, referral: Referral, origin_device: str | None) -> SharedPerson | None:
    """The person behind a referral, only when it carries the consent to share."""
    if referral.consent_share_at is None:
        return None
    if origin_device is None:
        row = db.execute("SELECT document FROM returnees WHERE id = ?", [referral.returnee_id]).fetchone()
        if row is not None:
            return SharedPerson.of(Returnee.model_validate_json(row[0]))
    return get_shared_person(db, referral.returnee_id)


def detail(db: sqlite_utils.Database, referral_id: str, *, now: dt.datetime) -> ReferralDetail:
    """A referral with its whole history, the moves allowed now, the partner's service, and the person when the
    referral carries the consent to share — that read is recorded (access log + outbox, one transaction) on an
    office's or a supervisor's device."""
    line = item(db, referral_id, now=now)
    stored = get_referral(db, referral_id)
    person = _person(db, stored.referral, line.origin_device)
    if person is not None and current(db).sees_people:
        access.record(db, returnee_id=person.returnee_id, referral_id=referral_id, via="detail", now=now)
    try:
        service: ServiceDetail | None = service_detail(db, stored.referral.service_id)
    except NotFound:
        service = None
    flagged = set(json.loads(db.execute("SELECT flagged FROM referrals WHERE id = ?", [referral_id]).fetchone()[0]))
    return ReferralDetail(
        item=line,
        referral=stored.referral,
        person=person,
        events=in_order(list(stored.events), stored.order),  # the hub's receipt order (issue 10)
        flagged=flagged,
        moves=next_moves(stored.status),
        service=service,
    )


def move(
    db: sqlite_utils.Database,
    referral_id: str,
    kind: EventKind | str,
    *,
    reason: DeclineReason | str | None = None,
    outcome: Outcome | str | None = None,
    note: str | None = None,
    follow_up: dt.date | None = None,
    now: dt.datetime,
) -> InboxItem:
    """Move a referral one step (an event with its outbox entry, one transaction). ValidationError naming each
    field at fault (kind, reason, outcome, note, region) when the move is not allowed or lacks what it needs —
    then nothing is written."""
    problems: list[Problem] = []
    kind_code = _code(EventKind, kind, "kind", problems)
    reason_code = _code(DeclineReason, reason, "reason", problems) if reason not in (None, "") else None
    outcome_code = _code(Outcome, outcome, "outcome", problems) if outcome not in (None, "") else None
    note = " ".join((note or "").split()) or None
    if note is not None and len(note) > NOTE_MAX:
        problems.append(Problem("note", too_long(_("Note"), NOTE_MAX)))
    stored = get_referral(db, referral_id)
    workspace = current(db)
    if workspace.role == "office" and workspace.region and stored.referral.region != workspace.region:
        problems.append(Problem("region", _("This referral belongs to another region's office.")))
    if kind_code is not None:
        named = {p.field for p in problems}  # an unknown code is said once, not also as "missing"
        for issue in check_move(stored.status, kind_code, reason=reason_code, outcome=outcome_code, note=note):
            if issue.field not in named:
                problems.append(Problem(issue.field, move_problem(issue)))
    if problems:
        raise ValidationError(problems)
    assert kind_code is not None
    event = ReferralEvent(
        id=str(uuid.uuid4()),
        referral_id=referral_id,
        kind=kind_code,
        at=now,
        note=note,
        reason=reason_code,
        outcome=outcome_code,
        follow_up=follow_up,
        actor=workspace.device_id,
    )
    add_event(db, event)
    return item(db, referral_id, now=now)


E = TypeVar("E", EventKind, DeclineReason, Outcome)


def _code(enum: type[E], value: E | str | None, name: str, problems: list[Problem]) -> E | None:
    try:
        return enum(str(value))
    except ValueError:
        problems.append(
            Problem(
                name,
                _("unknown code {code!r}; one of: {codes}").format(code=value, codes=", ".join(e.value for e in enum)),
            )
        )
        return None
