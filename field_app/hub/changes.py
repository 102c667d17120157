"""The hub's change log: what devices pull, in sequence order, each row visible to a scope.

Directory rows (organization, locality) are for everyone. `referral` and `referral_event` rows carry the
referral's region and the id of the device that created the referral: an agent sees the referrals its device
created, an office those of its region, a supervisor all. `device`, `access` and `directory_audit` rows are for
supervisors only. The cursor is the last sequence number a device has applied.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from field_app.hub.auth import Caller
from field_app.hub.db import Tx, stamp
from field_app.sync.protocol import MAX_PULL, Change, PullResponse

DIRECTORY_ENTITIES = ("organization", "locality")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


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
) -> None:
    """Add one row. The transaction takes the change-log lock (sequence = commit order); callers take it before
    their first write, so that no writer waits for it while holding row locks (no deadlocks between hubs)."""
    tx.lock_changes()
    tx.execute(
        "INSERT INTO changes (entity, entity_id, op, data, region, device_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [entity, entity_id, op, None if data is None else dumps(data), region, device_id, stamp(now)],
    )


def pull(tx: Tx, caller: Caller, *, cursor: int, limit: int = MAX_PULL, full: bool = False) -> PullResponse:
    """Changes after `cursor` in the caller's scope, oldest first, at most `limit` (capped at MAX_PULL). `full`: the
    device reconciles and wants every row of its scope (P: rows a push answer already carried are left out unless
    `full`; until then every row is in anyway)."""
    limit = max(1, min(limit, MAX_PULL))
    scope, params = _scope(caller)
    rows = tx.all(
        f"SELECT seq, entity, entity_id, op, data FROM changes WHERE seq > ? AND {scope} ORDER BY seq LIMIT ?",
        [cursor, *params, limit + 1],
    )
    page = rows[:limit]
    changes = [
        Change(
            seq=int(r["seq"]),
            entity=r["entity"],
            id=r["entity_id"],
            op=r["op"],
            data=None if r["data"] is None else json.loads(r["data"]),
        )
        for r in page
    ]
    return PullResponse(changes=changes, next_cursor=changes[-1].seq if changes else cursor, has_more=len(rows) > limit)


CASEWORK_ENTITIES = ("referral", "referral_event")  # scoped by region (offices) or creating device (agents)
SUPERVISOR_ENTITIES = ("device", "access", "directory_audit")  # supervisors only


def _scope(caller: Caller) -> tuple[str, list[Any]]:
    everyone = "entity IN ('organization', 'locality')"
    casework = "entity IN ('referral', 'referral_event')"
    if caller.role == "supervisor":
        return "1 = 1", []
    if caller.role == "office":
        return f"({everyone} OR ({casework} AND region = ?))", [caller.region]
    return f"({everyone} OR ({casework} AND device_id = ?))", [caller.id]
