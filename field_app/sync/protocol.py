"""The sync protocol's wire models, shared by the device (sync engine) and the hub. Version 1.

Device → hub: enrol once with a one-time code (→ device id + bearer token), then push outbox entries in batches
(gzip bodies) and pull changes by the hub's cursor. Every op carries a device-made `op_id`; the hub answers each
op `applied`, `duplicate` (same op_id, same payload: already applied) or `rejected` with a reason (same op_id with
a different payload, unknown entity, invalid data…). The cursor is the hub's change sequence, never a clock.

Pure pydantic: no I/O here. Limits are part of the protocol so both sides agree on them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 2_000_000  # a request body on the wire (gzip or not): above → 413
MAX_INFLATED_BYTES = 8_000_000  # a gzip body once inflated: above → 413 (no zip bombs)
MAX_BATCH = 200  # ops in one push
MAX_PULL = 500  # changes in one pull page
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

Role = Literal["agent", "office", "supervisor"]
PushEntity = Literal["returnee", "referral", "referral_event"]
PushKind = Literal["upsert", "create", "append"]
ChangeEntity = Literal["organization", "locality", "referral_event"]


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Info(Wire):
    protocol_version: int
    hub_id: str
    server_time: dt.datetime
    capabilities: list[str]
    max_body_bytes: int
    max_batch: int


class EnrolRequest(Wire):
    code: Annotated[str, Field(min_length=6, max_length=64)]
    device_name: Annotated[str, Field(max_length=80)] | None = None


class EnrolResponse(Wire):
    device_id: str
    token: str  # shown once; the hub keeps only its hash
    role: Role
    region: str | None
    hub_id: str


class Op(Wire):
    """One outbox entry on the wire (see field_app/storage/outbox.py)."""

    op_id: Annotated[str, Field(pattern=UUID)]
    entity: PushEntity
    entity_id: Annotated[str, Field(min_length=1, max_length=200)]
    op: PushKind
    payload: dict[str, Any]
    base_version: int | None = None


class PushRequest(Wire):
    ops: Annotated[list[Op], Field(min_length=1, max_length=MAX_BATCH)]


class OpResult(Wire):
    op_id: str
    result: Literal["applied", "duplicate", "rejected"]
    reason: str | None = None  # for `rejected`: words for the agent, in English (the device translates codes)
    code: str | None = None  # for `rejected`: a stable code (invalid_payload, op_id_reused, unknown_entity, …)


class PushResponse(Wire):
    results: list[OpResult]


class Change(Wire):
    """One row of the hub's change log, in the device's scope."""

    seq: int
    entity: ChangeEntity
    id: str
    op: Literal["upsert", "delete"]
    data: dict[str, Any] | None = None  # None for deletes


class PullResponse(Wire):
    changes: list[Change]
    next_cursor: int
    has_more: bool


class OfficeEvent(Wire):
    """An office or supervisor moving a referral along (accepted, declined, enrolled, completed, not_completed…)."""

    kind: str
    id: Annotated[str, Field(pattern=UUID)] | None = None  # made by the caller for idempotent retries
    at: dt.datetime | None = None  # default: the hub's time
    note: Annotated[str, Field(max_length=500)] | None = None


class ReferralItem(Wire):
    """A referral as the supervisors' read API shows it; `id` is the id the device printed."""

    id: str
    returnee_id: str
    service_id: str
    organization_id: str
    region: str
    status: str
    flagged: list[str]
    device_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    events: list[dict[str, Any]]


class ReferralPage(Wire):
    items: list[ReferralItem]
    next: str | None


class Problem(Wire):
    """Every 4xx body: what was wrong, in words, and where when known."""

    detail: str
    code: str
    field: str | None = None


def payload_hash(op: Op) -> str:
    """What identifies an op's content: the same op_id with another hash is a replay with a different payload."""
    body = {"entity": op.entity, "entity_id": op.entity_id, "op": op.op, "payload": op.payload}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
