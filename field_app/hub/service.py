"""The hub's use cases, shared by the HTTP API (hub/app.py) and the `field-app hub` command line (cli/hub.py).

Each function runs inside the caller's transaction and raises `HubRefusal` (a status, a stable code, words and
the field at fault) for what it will not do; the API turns that into a Problem body in one handler, the command
line into an `error:` line. Nothing here knows about HTTP or argparse.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pydantic

from field_app.domain.referrals import EventKind, ReferralEvent
from field_app.domain.vocabulary import Region, find_region
from field_app.errors import AuthError, FieldAppError, NotFound, clip
from field_app.hub import auth, changes, devices, directory, people, referrals, rules, trust
from field_app.hub.auth import Caller
from field_app.hub.db import Tx
from field_app.sync.protocol import (
    AccessRecord,
    Change,
    DeviceInfo,
    DeviceReport,
    DirectoryEdit,
    EnrolResponse,
    OfficeEvent,
    PullResponse,
    ReferralChange,
    ReferralItem,
)


class HubRefusal(FieldAppError):
    """A request the hub refuses: HTTP-like `status`, a stable `code`, words, and the field at fault."""

    def __init__(self, status: int, code: str, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field


def region_named(text: str | None, field: str = "region") -> Region | None:
    """A region given in any case and with or without accents ("Ségou", "segou"); 422 when unknown."""
    if text is None or not text.strip():
        return None
    region = find_region(text)
    if region is None:
        choices = ", ".join(r.value for r in Region)
        raise HubRefusal(422, "invalid_request", f"unknown region {clip(text)!r} (one of {choices})", field)
    return region


# --- enrolment and devices -------------------------------------------------------------------------------------


def enrol(
    tx: Tx, *, code: str, device_name: str | None, now: dt.datetime, hub_id: str, request_id: str | None = None
) -> EnrolResponse:
    """Spend a code (or answer its retry: the same request id gets the same device with a fresh token, see
    `auth.enrol_device`); the answer carries the database's epoch and directory version, read in the same
    transaction. A refused code → 401 `bad_code`, the same words whatever the reason."""
    try:
        done = auth.enrol_device(tx, code=code, device_name=device_name, now=now, request_id=request_id)
    except AuthError as exc:
        raise HubRefusal(401, "bad_code", str(exc), "code") from exc
    if not done.repeated:  # a retry changes nothing supervisors see: no second `device` change
        devices.announce(tx, done.caller.id, now=now)
    caller = done.caller
    return EnrolResponse(
        device_id=caller.id,
        token=done.token,
        role=caller.role,
        region=caller.region,
        hub_id=hub_id,
        epoch=trust.epoch(tx),
        directory_version=trust.directory_version(tx),
    )


def report(tx: Tx, caller: Caller, counts: DeviceReport, *, now: dt.datetime) -> DeviceInfo:
    if caller.kind != "device":
        raise HubRefusal(403, "forbidden", "only enrolled devices report their queues")
    return devices.report(tx, caller.id, counts, now=now)


def list_devices(tx: Tx) -> list[DeviceInfo]:
    return devices.all_devices(tx)


def revoke(tx: Tx, device_id: str, *, now: dt.datetime) -> bool:
    try:
        return devices.revoke(tx, device_id, now=now)
    except NotFound as exc:
        raise HubRefusal(404, "not_found", f"no device or token with id {device_id}") from exc


# --- pull ----------------------------------------------------------------------------------------------------


def pull(
    tx: Tx,
    caller: Caller,
    *,
    cursor: int,
    limit: int,
    now: dt.datetime,
    check: str | None = None,
    full: bool = False,
) -> PullResponse:
    """Changes in the caller's scope; every person's details handed out to an office or supervisor is recorded
    (one access row per person and page). Agents get their referrals without the person (they hold the record).

    The answer carries the hub's `state` (epoch, head, directory version) and, when the device names its latest
    done op (`check`), whether the hub lacks it (`missing`): how a device notices a restored hub. `full`: the
    device reconciles, and wants every row of its scope, its own push answers' rows included."""
    page = changes.pull(tx, caller, cursor=cursor, limit=limit, full=full)
    out: list[Change] = []
    seen: set[str] = set()
    for change in page.changes:
        if change.entity == "referral" and change.data is not None:
            data = ReferralChange.model_validate(change.data)
            if data.person is not None and not people.caller_reads_people(caller):
                change = change.model_copy(
                    update={"data": data.model_copy(update={"person": None}).model_dump(mode="json")}
                )
            elif data.person is not None and data.person.returnee_id not in seen:
                seen.add(data.person.returnee_id)
                people.record_access(
                    tx,
                    device_id=caller.id,
                    returnee_id=data.person.returnee_id,
                    referral_id=change.id,
                    via="pull",
                    at=now,
                    now=now,
                )
        out.append(change)
    missing = trust.ops_missing(tx, [check]) if check is not None else []
    return page.model_copy(update={"changes": out, "state": trust.hub_state(tx), "missing": missing})


# --- referrals -----------------------------------------------------------------------------------------------


def refusal(exc: rules.Refused) -> HubRefusal:
    """A rule's refusal as the API says it (the same code as a push answer, but `not_found` for a referral that
    is missing or not the caller's to see, and `invalid_request` for a 422, as every other 422 of the API)."""
    code = {rules.RuleCode.UNKNOWN_ENTITY: "not_found", rules.RuleCode.INVALID_PAYLOAD: "invalid_request"}
    return HubRefusal(exc.status, code.get(exc.code, exc.code.value), exc.reason, exc.field)


def visible_row(tx: Tx, caller: Caller, referral_id: str) -> dict[str, object]:
    """The referral's row, if the caller may see it: one that is not (another region's, another agent's) is
    404 as a missing one is, for reads and writes alike, so that nobody learns that it exists."""
    row = referrals.get_row(tx, referral_id)
    if row is None or not rules.visible_to(caller, row):
        raise refusal(rules.unknown_referral(referral_id))
    return row


def read_referral(tx: Tx, caller: Caller, referral_id: str, *, now: dt.datetime) -> ReferralItem:
    """One referral with the person's details for the region's office and supervisors (recorded as a read)."""
    row = visible_row(tx, caller, referral_id)
    item = referrals.item(tx, row)
    person = people.person_for(tx, row) if people.caller_reads_people(caller) else None
    if person is not None:
        people.record_access(
            tx, device_id=caller.id, returnee_id=person.returnee_id, referral_id=referral_id, via="api", at=now, now=now
        )
    return item.model_copy(update={"person": person})


def office_event(
    tx: Tx, caller: Caller, referral_id: str, event: OfficeEvent, *, now: dt.datetime
) -> tuple[ReferralItem, bool]:
    """An office (of the referral's region) or a supervisor moves a referral along: (the referral, whether the
    event is new). The same id and content again adds nothing; the same id with other content is 409. Who may
    send which kind is `rules.check_event`, as for a pushed event, for every role (an office's `revoked` is 403 here
    and `forbidden` in a push; another region's referral is 404 here and `unknown_entity` in a push; an agent may
    cancel its own referral here as by push)."""
    kinds = [k.value for k in EventKind]  # a known kind (422 otherwise); which kinds this caller may send: the rules
    if event.kind not in kinds:
        raise HubRefusal(422, "invalid_request", f"kind must be one of {', '.join(kinds)}", "kind")
    at = event.at or now
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    try:
        stored_event = ReferralEvent(
            id=event.id or str(uuid.uuid4()),
            referral_id=referral_id,
            kind=EventKind(event.kind),
            at=at,
            note=event.note,
            reason=event.reason,  # a code: checked by the model
            outcome=event.outcome,
            follow_up=event.follow_up,
            actor=caller.id,
        )
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = clip(".".join(str(p) for p in first["loc"])) or None
        raise HubRefusal(422, "invalid_request", f"{field}: {clip(first['msg'], 200)}", field) from exc
    row = referrals.get_row(tx, referral_id)
    try:
        rules.check_event(caller, stored_event, row)
    except rules.Refused as exc:
        raise refusal(exc) from exc
    assert row is not None
    earlier = referrals.get_event(tx, stored_event.id)
    if earlier is not None and event.at is None:  # a retry that left the time to the hub: keep the first
        stored_event = stored_event.model_copy(update={"at": earlier.at})
    try:
        stored, _state = referrals.add_events(tx, row, [stored_event], source=caller.id, now=now)
    except referrals.EventClash as exc:
        raise HubRefusal(409, "conflict", f"event {exc} already exists with other content", "id") from exc
    fresh = referrals.get_row(tx, referral_id)
    assert fresh is not None
    return referrals.item(tx, fresh), bool(stored)


# --- directory edits and the logs ----------------------------------------------------------------------------


def edit_directory(tx: Tx, caller: Caller, edit: DirectoryEdit, *, now: dt.datetime) -> bool:
    """Apply an office's or a supervisor's edit (False: this edit id was applied before)."""
    try:
        return directory.apply_edit(tx, caller, edit, now=now)
    except directory.EditRefused as exc:
        status = {"forbidden": 403, "unknown_entity": 404}.get(exc.code, 422)
        raise HubRefusal(status, exc.code, exc.reason, exc.field) from exc


def access_log(
    tx: Tx, *, returnee_id: str | None = None, device_id: str | None = None, offset: int = 0, limit: int = 100
) -> list[AccessRecord]:
    return people.access_page(tx, returnee_id=returnee_id, device_id=device_id, offset=offset, limit=limit)


def audit_log(
    tx: Tx, *, organization_id: str | None = None, offset: int = 0, limit: int = 100
) -> list[dict[str, object]]:
    return directory.audit_page(tx, organization_id=organization_id, offset=offset, limit=limit)
