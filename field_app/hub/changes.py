"""The hub's change log: what devices pull, in position order, each row visible to a scope.

Directory rows (organization, locality) are for everyone. `referral` and `referral_event` rows carry the
referral's region and the id of the device that created the referral: an agent sees the referrals its device
created, an office those of its region, a supervisor all. `device`, `access` and `directory_audit` rows are for
supervisors only. A row's `origin` is the device whose push made it: the push answer already carried that
device's `referral`/`referral_event` rows (status, flagged, events with their receipt rank), so a pull leaves
them out for that device — unless it pulls with `full` (after a reconcile: it rebuilds from the log).

Order: rows are inserted without a position; the position (`pos`) is given after commit by the sequencer (see
hub/db.py), so a puller reading `pos > cursor` never skips a row committed late by another hub process. The
cursor is the last position a device has applied (`Change.seq` on the wire is the position). On the last page,
`next_cursor` moves past the device's own rows that were left out (up to the highest position numbered before the
page was read: every row of its scope up to there was in the page), so a device does not scan them again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from field_app.hub.auth import Caller
from field_app.hub.db import Tx, stamp
from field_app.sync.protocol import MAX_PULL, Change, PullResponse

DIRECTORY_ENTITIES = ("organization", "locality")
CASEWORK_ENTITIES = ("referral", "referral_event")  # scoped by region (offices) or creating device (agents)
SUPERVISOR_ENTITIES = ("device", "access", "directory_audit")  # supervisors only
COLUMNS = ("entity", "entity_id", "op", "data", "region", "device_id", "origin", "at")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Row:
    """One change row to append (see `append_many`)."""

    entity: str
    entity_id: str
    op: str
    data: dict[str, Any] | None
    region: str | None = None
    device_id: str | None = None
    origin: str | None = None

    def params(self, at: str) -> list[Any]:
        data = None if self.data is None else dumps(self.data)
        return [self.entity, self.entity_id, self.op, data, self.region, self.device_id, self.origin, at]


def append(
    tx: Tx,
    *,
    entity: str,
    entity_id: str,
    op: str,
    data: dict[str, Any] | None,
    now: dt.datetime,
    region: str | None = None,
    device_id: str | None = None,
    origin: str | None = None,
) -> None:
    """Add one row (numbered by the sequencer once the transaction commits)."""
    append_many(tx, [Row(entity, entity_id, op, data, region, device_id, origin)], now=now)


def append_many(tx: Tx, rows: Sequence[Row], *, now: dt.datetime) -> None:
    """Add rows in this order (one pipelined statement); they get positions in this order."""
    if rows:
        at = stamp(now)
        tx.insert_many("changes", COLUMNS, [r.params(at) for r in rows])
        tx.logged = True


def pull(tx: Tx, caller: Caller, *, cursor: int, limit: int = MAX_PULL, full: bool = False) -> PullResponse:
    """Changes after `cursor` in the caller's scope, oldest first, at most `limit` (capped at MAX_PULL). Without
    `full`, a device's own `referral`/`referral_event` rows (its push answers carried them) are left out.

    One query per part of the scope (the directory; the casework of the device's region or of its own
    referrals), each walking its own index by position from the cursor, merged by position: a pull reads the rows
    of its scope, not every row written since its cursor by 200 other devices."""
    limit = max(1, min(limit, MAX_PULL))
    top = _top(tx)  # read first: every row numbered up to here is visible to the page query below
    parts = _scope(caller, full=full)
    columns = "pos, entity, entity_id, op, data"
    selects: list[str] = []
    params: list[Any] = []
    for where, more_params in parts:
        part = f"SELECT {columns} FROM changes WHERE pos > ? AND {where} ORDER BY pos LIMIT ?"
        selects.append(f"SELECT * FROM ({part}) AS part{len(selects)}")
        params += [cursor, *more_params, limit + 1]
    rows = tx.all(f"{' UNION ALL '.join(selects)} ORDER BY pos LIMIT ?", [*params, limit + 1])
    page = rows[:limit]
    more = len(rows) > limit
    changes = [
        Change(
            seq=int(r["pos"]),
            entity=r["entity"],
            id=r["entity_id"],
            op=r["op"],
            data=None if r["data"] is None else json.loads(r["data"]),
        )
        for r in page
    ]
    last = changes[-1].seq if changes else cursor
    if not more and not full:  # past this device's own rows that were left out (none in its scope is above)
        where, own_params = _own(caller)
        own = tx.one(
            f"SELECT max(pos) AS top FROM changes WHERE pos > ? AND pos <= ? AND {where}", [last, top, *own_params]
        )
        if own is not None and own["top"] is not None:
            last = max(last, int(own["top"]))
    if tx.one("SELECT seq FROM changes WHERE pos IS NULL LIMIT 1") is not None:
        tx.logged = True  # committed rows left unnumbered (their process died before its sequencer): number them
    return PullResponse(changes=changes, next_cursor=last, has_more=more)


def _top(tx: Tx) -> int:
    row = tx.one("SELECT max(pos) AS top FROM changes")
    return int(row["top"]) if row is not None and row["top"] is not None else 0


EVERYONE = "entity IN ('organization', 'locality')"
CASEWORK = "entity IN ('referral', 'referral_event')"


def _scope(caller: Caller, *, full: bool) -> list[tuple[str, list[Any]]]:
    """The caller's scope as parts (SQL, parameters) whose rows never overlap."""
    mine = "" if full else " AND (origin IS NULL OR origin <> ?)"
    own = [] if full else [caller.id]
    if caller.role == "supervisor":
        if full:
            return [("1 = 1", [])]
        return [(f"NOT {CASEWORK}", []), (f"{CASEWORK}{mine}", own)]
    column, value = ("region", caller.region) if caller.role == "office" else ("device_id", caller.id)
    return [(EVERYONE, []), (f"{column} = ? AND {CASEWORK}{mine}", [value, *own])]


def _own(caller: Caller) -> tuple[str, list[Any]]:
    """The casework rows this device's pushes made (an agent's are of its referrals, an office's of its region)."""
    where, params = f"origin = ? AND {CASEWORK}", [caller.id]
    if caller.role == "office":
        return f"region = ? AND {where}", [caller.region, *params]
    if caller.role == "agent":
        return f"device_id = ? AND {where}", [caller.id, *params]
    return where, params
