"""The sync protocol's wire models, shared by the device (sync engine) and the hub. Version 1.

Device → hub: enrol once with a one-time code (→ device id + bearer token), then push outbox entries in batches
(gzip bodies) and pull changes by the hub's cursor. Every op carries a device-made `op_id`; the hub answers each
op `applied`, `duplicate` (same op_id, same payload: already applied) or `rejected` with a reason (same op_id with
a different payload, unknown entity, invalid data…). The cursor is the hub's change sequence, never a clock.

Pure pydantic: no I/O here. Limits are part of the protocol so both sides agree on them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from field_app.domain.moments import Day, Moment
from field_app.domain.referrals import DeclineReason, EventKind, Outcome
from field_app.domain.returnees import Returnee

PROTOCOL_VERSION = 1
API_PREFIX = "/api/v1"
MAX_BODY_BYTES = 2_000_000  # a request body on the wire (gzip or not): above → 413
MAX_INFLATED_BYTES = 8_000_000  # a gzip body once inflated: above → 413 (no zip bombs)
MAX_BATCH = 200  # ops in one push
MAX_PULL = 500  # changes in one pull page
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
MAX_INT32 = 2**31 - 1  # what an INTEGER column holds on PostgreSQL: larger numbers are refused (422), not a 500

Role = Literal["agent", "office", "supervisor"]
# What devices push. `directory_edit` (office: its region; supervisor: all), `access` (a read of a person's details
# on an office or supervisor device), `device_revocation` (supervisors) are issue 8's.
PushEntity = Literal["returnee", "referral", "referral_event", "directory_edit", "access", "device_revocation"]
PushKind = Literal["upsert", "create", "append"]
# What devices pull. Everyone: organization, locality. Agent: its own referrals' `referral` and `referral_event`;
# office: its region's; supervisor: all of them, plus `device`, `access` and `directory_audit`.
ChangeEntity = Literal["organization", "locality", "referral", "referral_event", "device", "access", "directory_audit"]
AccessVia = Literal["detail", "export", "api", "pull"]


class Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Info(Wire):
    protocol_version: int
    hub_id: str
    server_time: Moment
    capabilities: list[str]
    max_body_bytes: int
    max_batch: int
    epoch: str | None = None  # changes when the hub's database is restored or replaced (see HubState)
    directory_version: str | None = None  # see directory_version() on both sides


class HubState(Wire):
    """What every push and pull answer carries, so that a device notices a restored or replaced hub database
    without an extra round trip (issue 10):
    - `epoch`: a random id kept in the hub's database, made anew by `field-app hub restore` / `hub new-epoch` and
      by a new database. A device that sees another epoch than the one it stored reconciles (see below).
    - `head`: the hub's latest change position. A device whose cursor is above it holds a cursor of a log that
      no longer exists (a restore the operator did not announce): it reconciles too.
    - `directory_version`: a digest of the hub's directory (organisations and localities, id + content hash); a
      device whose own digest differs asks `POST /sync/directory/diff` for the difference.
    Reconciling = `POST /sync/ops/diff` with the op ids the device holds as done → the hub says which it lacks;
    those go back in the queue, the cursor goes back to 0, the new epoch is stored."""

    epoch: str
    head: int
    directory_version: str | None = None


class EnrolRequest(Wire):
    code: Annotated[str, Field(min_length=6, max_length=64)]
    device_name: Annotated[str, Field(max_length=80)] | None = None
    # Made and stored by the device before the first attempt: a retry of the same code with the same request id
    # (the answer was lost on the link) gets the same device and a fresh token, never a 401 and never an orphan.
    request_id: Annotated[str, Field(pattern=UUID)] | None = None


class EnrolResponse(Wire):
    device_id: str
    token: str  # shown once; the hub keeps only its hash
    role: Role
    region: str | None
    hub_id: str
    epoch: str | None = None
    directory_version: str | None = None


class Op(Wire):
    """One outbox entry on the wire (see field_app/storage/outbox.py)."""

    op_id: Annotated[str, Field(pattern=UUID)]
    entity: PushEntity
    entity_id: Annotated[str, Field(min_length=1, max_length=200)]
    op: PushKind
    payload: dict[str, Any]
    base_version: Annotated[int, Field(le=MAX_INT32)] | None = None


# --- typed payloads, one per pushed entity (Op.payload) and per pulled entity (Change.data) -------------------


class ReferralCreate(Wire):
    """Op payload for entity `referral` (op `create`): the referral and its first events (`created`, maybe
    `revoked` when it was cancelled before it ever left the phone). Dicts here; the hub checks them with the
    domain models (`Referral`, `ReferralEvent`) so that every problem is named by its field."""

    referral: dict[str, Any]
    events: list[dict[str, Any]]


class FieldChange(Wire):
    """One field of a directory entry set to a new value. `field` is a path (see field_app/directory/edits.py):
    phones, emails, website, assured_date, notes, contacts/<n>/{name,title,phones,emails},
    services/<service id>/{status,note}. Phones are given as written; they are normalised to E.164."""

    field: Annotated[str, Field(min_length=1, max_length=200)]
    value: str | list[str] | None


class DirectoryEdit(Wire):
    """Op payload for entity `directory_edit` (op `append`): an office's or a supervisor's correction of one
    organisation, or (`revert_of` = an audit row id) the undoing of an earlier edit."""

    id: Annotated[str, Field(pattern=UUID)]
    organization_id: Annotated[str, Field(min_length=1, max_length=80)]
    changes: Annotated[list[FieldChange], Field(max_length=50)] = []
    revert_of: Annotated[str, Field(pattern=UUID)] | None = None
    note: Annotated[str, Field(max_length=500)] | None = None
    at: Moment


class AccessRecord(Wire):
    """Op payload for entity `access` (op `append`), and Change.data for entity `access`: who read a person's
    details, when, how. On the hub `device_id` is set from the token, never from the payload."""

    id: Annotated[str, Field(pattern=UUID)]
    returnee_id: Annotated[str, Field(pattern=UUID)]
    referral_id: Annotated[str, Field(pattern=UUID)] | None = None
    via: AccessVia
    at: Moment
    device_id: str | None = None


class DeviceRevocation(Wire):
    """Op payload for entity `device_revocation` (op `append`): a supervisor revokes a device's token."""

    device_id: Annotated[str, Field(pattern=UUID)]
    at: Moment
    note: Annotated[str, Field(max_length=500)] | None = None


class SharedPerson(Wire):
    """What an office needs to follow a referral up, and nothing more: sent only when the referral carries the
    returnee's consent to share. Age as in the record (birth date, or an age stated on a date)."""

    returnee_id: str
    given_name: str
    family_name: str
    sex: str
    birth_date: Day | None = None
    age: int | None = None
    age_recorded_on: Day | None = None
    phone: str | None = None
    languages: list[str] = []
    documents: list[str] = []
    education: str | None = None
    region: str
    locality: str | None = None

    @classmethod
    def of(cls, returnee: Returnee) -> SharedPerson:
        """The shared part of a returnee's record (the device's walk-ins and the hub's copies alike)."""
        return cls(
            returnee_id=returnee.id,
            given_name=returnee.given_name,
            family_name=returnee.family_name,
            sex=returnee.sex.value,
            birth_date=returnee.birth_date,
            age=returnee.age,
            age_recorded_on=returnee.age_recorded_on,
            phone=returnee.phone,
            languages=[lang.value for lang in returnee.languages],
            documents=[doc.value for doc in returnee.documents],
            education=returnee.education.value if returnee.education else None,
            region=returnee.region.value,
            locality=returnee.locality,
        )


class ReferralChange(Wire):
    """Change.data for entity `referral`: a referral as the hub holds it (appended when the hub first stores it
    and whenever the person's shared details change), with its events so far; later events come as
    `referral_event` changes."""

    referral: dict[str, Any]
    device_id: str
    status: str
    flagged: list[str]
    events: list[dict[str, Any]]
    person: SharedPerson | None = None


class DeviceReport(Wire):
    """`POST /api/v1/devices/report` at the end of each sync: the device's own counts, as it sees them."""

    pending: Annotated[int, Field(ge=0, le=MAX_INT32)]
    quarantined: Annotated[int, Field(ge=0, le=MAX_INT32)]
    app_version: Annotated[str, Field(max_length=40)]
    cursor: Annotated[int, Field(ge=0, le=MAX_INT32)] = 0  # the hub's devices.cursor_at is a 32-bit INTEGER


class DeviceInfo(Wire):
    """Change.data for entity `device` and an item of `GET /api/v1/devices` (supervisors): an enrolled device."""

    id: str
    role: Role
    region: str | None
    name: str | None
    created_at: Moment
    revoked_at: Moment | None = None
    last_sync_at: Moment | None = None
    pending: int | None = None
    quarantined: int | None = None
    app_version: str | None = None


class AuditEntry(Wire):
    """Change.data for entity `directory_audit`: one field changed by one edit (who, when, before, after)."""

    id: str
    edit_id: str
    organization_id: str
    field: str
    before: Any = None
    after: Any = None
    device_id: str
    role: Role
    at: Moment
    note: str | None = None
    revert_of: str | None = None


class PushRequest(Wire):
    ops: Annotated[list[Op], Field(min_length=1, max_length=MAX_BATCH)]


class OpResult(Wire):
    op_id: str
    result: Literal["applied", "duplicate", "rejected"]
    reason: str | None = None  # for `rejected`: words for the agent, in English (the device translates codes)
    code: str | None = None  # for `rejected`: a stable code (invalid_payload, op_id_reused, unknown_entity, …)
    # For `applied` and `duplicate` ops on a referral (entity referral or referral_event): the referral's status
    # on the hub now, its flagged events, and the events the hub itself added (`sent`), each event dict with its
    # `received` (the hub's receipt order). The device merges them and so never pulls its own `sent` events.
    status: str | None = None
    flagged: list[str] = []
    events: list[dict[str, Any]] = []


class PushResponse(Wire):
    results: list[OpResult]
    state: HubState | None = None


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
    state: HubState | None = None
    missing: list[str] = []  # of the op ids asked about with `?check=` (done on the device), those the hub lacks


MAX_DIFF = 1000  # op ids in one /sync/ops/diff


class OpsDiffRequest(Wire):
    """`POST /api/v1/sync/ops/diff`: op ids this device holds as sent (done); the hub answers those it lacks."""

    op_ids: Annotated[list[Annotated[str, Field(pattern=UUID)]], Field(min_length=1, max_length=MAX_DIFF)]


class OpsDiffResponse(Wire):
    missing: list[str]
    state: HubState


class DirectoryDiffRequest(Wire):
    """`POST /api/v1/sync/directory/diff`: the device's directory as {id: content hash} (hashes as
    `field_app.directory.build.content_hash` of the entry's JSON document, the same function as the hub's)."""

    organizations: Annotated[dict[Annotated[str, Field(max_length=80)], Annotated[str, Field(max_length=80)]],
                             Field(max_length=5000)] = {}  # fmt: skip
    localities: Annotated[dict[Annotated[str, Field(max_length=80)], Annotated[str, Field(max_length=80)]],
                          Field(max_length=20000)] = {}  # fmt: skip


class DirectoryDiffResponse(Wire):
    """What the device must change to hold the hub's directory: upserts (with the document) and deletes, as
    `Change` rows with seq 0 (they are not change-log rows), and the hub's directory version."""

    changes: list[Change]
    version: str


class OfficeEvent(Wire):
    """An office or supervisor moving a referral along (accepted, declined, enrolled, completed, not_completed…)."""

    kind: EventKind  # which kinds the caller may send: hub/rules.py (403 otherwise)
    id: Annotated[str, Field(pattern=UUID)] | None = None  # made by the caller for idempotent retries
    at: Moment | None = None  # default: the hub's time
    note: Annotated[str, Field(max_length=500)] | None = None
    reason: DeclineReason | None = None  # declined, not_completed
    outcome: Outcome | None = None  # completed
    follow_up: Day | None = None


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
    created_at: Moment
    updated_at: Moment
    events: list[dict[str, Any]]
    person: SharedPerson | None = None  # GET /referrals/{id}, for the region's office and supervisors, with consent


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
    return hashlib.sha256(
        canonical.encode("utf-8", "surrogatepass")
    ).hexdigest()  # a lone surrogate: hashed, then refused
