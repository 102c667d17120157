"""The hub's one set of rules: who may do what to which record, for both doors (a pushed op and the HTTP API).

Pure functions: no SQL, no clock, no HTTP. The caller (hub/push.py for ops, hub/service.py for the API) fetches
what a rule reads — the stored referral row, its events, the organisation of the named service — and turns a
`Refused` into its own answer: a `rejected` op with `code` (push), or a `Problem` with the status of
`HTTP_STATUS[code]` (API). A rule never says whether a referral the caller may not see exists: a missing one and
one outside the caller's scope give the same `unknown_entity` ("no referral <id>"), 404 on the API.

Role × entity × action (✓ allowed, otherwise the code refused with; "own" = made by this device, "region" = the
referral's region is the office's):

| entity · action                                        | agent         | office         | supervisor |
|--------------------------------------------------------|---------------|----------------|------------|
| referral create (op `referral`)                        | ✓ any region ¹ | ✓ its region ³ | ✓ any region |
| · unknown service, or a service of another organisation | invalid_payload | invalid_payload | invalid_payload |
| · not exactly one `created` / not the stored `created`  | invalid_payload | invalid_payload | invalid_payload |
| · events other than created/revoked, or actor ≠ caller | forbidden     | forbidden      | forbidden  |
| · same id stored from another device or other content  | conflict      | conflict       | conflict   |
| event `revoked` (cancel)                               | ✓ own, else forbidden ² | forbidden ² | forbidden ² |
| event received/accepted/declined/enrolled/completed/not_completed | forbidden | ✓ region | ✓ any |
| event `created` / `sent` (the hub makes `sent`)        | forbidden     | forbidden      | forbidden  |
| · on a referral missing or not visible to the caller   | unknown_entity | unknown_entity | unknown_entity |
| · with `actor` ≠ the caller                            | forbidden     | forbidden      | forbidden  |
| · without the reason/outcome/note its kind needs       | invalid_payload | invalid_payload | invalid_payload |
| returnee upsert: new, or own record                    | ✓             | ✓              | ✓          |
| · another device's record                              | forbidden     | forbidden      | ✓          |
| · version not above the hub's                          | version_conflict | version_conflict | version_conflict |
| access record (a read of a person's details)           | forbidden     | ✓              | ✓          |
| device revocation                                      | forbidden     | forbidden      | ✓          |
| directory edit (its rules: hub/directory.py)           | forbidden     | ✓ its region's partners | ✓ |

¹ An agent's phone is national (the referral's region is the person's, whose office follows it up), so an agent
refers to any region; an office only in its own. ² Only the device that created a referral cancels it (an office
declines instead); a referral's status is the fold's business: a `revoked` arriving after the office moved the
referral on is stored and flagged, never refused here. ³ Another region: forbidden.

The HTTP API's own doors follow the same table: `POST /referrals/{id}/events` is `check_event` (an agent token is
refused by the route's role check first: 403), reads of a referral use `visible_to` (404 when not visible).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from field_app.domain.referrals import AGENT_KINDS, OFFICE_KINDS, EventKind, Referral, ReferralEvent
from field_app.domain.vocabulary import Region
from field_app.domain.workflow import check_details
from field_app.errors import clip
from field_app.hub.auth import Caller


class RuleCode(StrEnum):
    """Why the hub refuses an op or a request (the same codes as the push answers; the device translates them)."""

    INVALID_PAYLOAD = "invalid_payload"
    FORBIDDEN = "forbidden"
    UNKNOWN_ENTITY = "unknown_entity"
    CONFLICT = "conflict"
    VERSION_CONFLICT = "version_conflict"


# The API's status for each code (push answers carry the code in a 200).
HTTP_STATUS: dict[RuleCode, int] = {
    RuleCode.INVALID_PAYLOAD: 422,
    RuleCode.FORBIDDEN: 403,
    RuleCode.UNKNOWN_ENTITY: 404,
    RuleCode.CONFLICT: 409,
    RuleCode.VERSION_CONFLICT: 409,
}

ROLES_CREATING_REFERRALS = frozenset({"agent", "office", "supervisor"})
ROLES_READING_PEOPLE = frozenset({"office", "supervisor"})
CREATE_KINDS = frozenset({EventKind.CREATED, *AGENT_KINDS})


class Refused(Exception):
    """A rule says no: a stable `code`, English words (quoting at most `errors.clip` of the input), the field."""

    def __init__(self, code: RuleCode, reason: str, field: str | None = None):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.field = field

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]


def visible_to(caller: Caller, row: dict[str, Any]) -> bool:
    """May the caller see this referral row: supervisors all, an office its region's, an agent its device's."""
    if caller.role == "supervisor":
        return True
    if caller.role == "office":
        return bool(row["region"] == caller.region)
    return bool(row["device_id"] == caller.id)


def unknown_referral(referral_id: str) -> Refused:
    """The one answer for a referral that is missing or that the caller may not see."""
    return Refused(RuleCode.UNKNOWN_ENTITY, f"no referral {clip(referral_id)}", "referral_id")


def check_referral_create(
    caller: Caller,
    referral: Referral,
    events: list[ReferralEvent],
    *,
    service_org: str | None,
    existing_row: dict[str, Any] | None,
    existing_events: list[ReferralEvent],
) -> None:
    """A device pushing a new referral with its first events (`created`, maybe a `revoked` made offline).

    `service_org`: the organisation the hub's directory gives `referral.service_id` (None: no such service);
    `existing_row`/`existing_events`: the referral already stored under this id (a retry), or None/[].
    """
    if caller.role not in ROLES_CREATING_REFERRALS:
        raise Refused(RuleCode.FORBIDDEN, f"a {caller.role} may not create referrals")
    if referral.region not in {r.value for r in Region}:
        raise Refused(
            RuleCode.INVALID_PAYLOAD, f"referral.region: unknown region {clip(referral.region)!r}", "referral.region"
        )
    if caller.role == "office" and referral.region != caller.region:
        raise Refused(RuleCode.FORBIDDEN, "an office creates referrals for its own region only", "referral.region")
    if service_org is None:
        raise Refused(
            RuleCode.INVALID_PAYLOAD,
            f"referral.service_id: the hub's directory has no service {clip(referral.service_id)!r}",
            "referral.service_id",
        )
    if service_org != referral.organization_id:
        raise Refused(
            RuleCode.INVALID_PAYLOAD,
            f"referral.organization_id: service {clip(referral.service_id)!r} belongs to {clip(service_org)!r}",
            "referral.organization_id",
        )
    for i, event in enumerate(events):
        if event.referral_id != referral.id:
            raise Refused(
                RuleCode.INVALID_PAYLOAD, "events: every event must belong to this referral", f"events.{i}.referral_id"
            )
        if event.kind not in CREATE_KINDS:
            raise Refused(
                RuleCode.FORBIDDEN,
                "a device creating a referral sends only its `created` (or `revoked`) events",
                f"events.{i}.kind",
            )
        if event.actor is not None and event.actor != caller.id:
            raise Refused(RuleCode.FORBIDDEN, "an event's actor is the device that sends it", f"events.{i}.actor")
        _details(event, f"events.{i}.")
    created = [e for e in events if e.kind is EventKind.CREATED]
    if len(created) != 1:
        words = "missing" if not created else f"sent {len(created)} times"
        raise Refused(RuleCode.INVALID_PAYLOAD, f"events: the referral's `created` event is {words}", "events")
    if existing_row is not None:
        if existing_row["device_id"] != caller.id or Referral.model_validate_json(existing_row["document"]) != referral:
            raise Refused(RuleCode.CONFLICT, "a different referral with this id is already on the hub", "referral.id")
        stored = [e for e in existing_events if e.kind is EventKind.CREATED]
        if stored and stored[0].id != created[0].id:
            raise Refused(RuleCode.INVALID_PAYLOAD, "events: this referral already has its `created` event", "events")


def check_event(caller: Caller, event: ReferralEvent, row: dict[str, Any] | None) -> None:
    """One event on a stored referral (`row`, None when the hub has none), by push or by the API. Whether the
    referral's status allows it is not checked: the fold stores and flags an event that came too late."""
    if row is None or not visible_to(caller, row):
        raise unknown_referral(event.referral_id)
    kind = event.kind
    if kind in AGENT_KINDS:
        if row["device_id"] != caller.id:
            raise Refused(RuleCode.FORBIDDEN, "only the device that created a referral cancels it", "kind")
    elif kind in OFFICE_KINDS:
        if caller.role not in ("office", "supervisor"):
            raise Refused(RuleCode.FORBIDDEN, f"a {caller.role} device may not send `{kind.value}` events", "kind")
    else:
        raise Refused(RuleCode.FORBIDDEN, f"no device sends `{kind.value}` events", "kind")
    if event.actor is not None and event.actor != caller.id:
        raise Refused(RuleCode.FORBIDDEN, "actor: an event's actor is the device that sends it", "actor")
    _details(event)


def _details(event: ReferralEvent, prefix: str = "") -> None:
    issues = check_details(event.kind, reason=event.reason, outcome=event.outcome, note=event.note)
    if issues:
        words = "; ".join(f"{prefix}{i.field}: {i.problem.value}" for i in issues)
        raise Refused(RuleCode.INVALID_PAYLOAD, words, prefix + issues[0].field)


def bad_text_at(value: Any, where: str = "") -> str | None:
    """Where a text (or a key) in a JSON value holds what no hub database stores — a NUL character (PostgreSQL
    text cannot) or a lone surrogate (not UTF-8) — as `path: problem`, or None. Refused alike on every engine,
    before anything is written: per op in a push, as a 422 on the API."""
    if isinstance(value, str):
        problem = _text_problem(value)
        return f"{clip(where or '(body)')}: {problem}" if problem else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and _text_problem(key):
            return f"{clip(where or '(body)')}: {_text_problem(key)} in a key"
        found = bad_text_at(item, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return None


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "lone surrogate (not UTF-8 text)"
    return None


def check_returnee(caller: Caller, *, version: int, existing_row: dict[str, Any] | None) -> None:
    """A returnee record upserted: a new one by anyone, an update by its device (or a supervisor) with a version
    above the hub's. (An identical record again is a duplicate: the caller checks that before calling.)"""
    if existing_row is None:
        return
    if existing_row["device_id"] != caller.id and caller.role != "supervisor":
        raise Refused(RuleCode.FORBIDDEN, "this returnee was registered on another device")
    if version <= int(existing_row["version"]):
        raise Refused(
            RuleCode.VERSION_CONFLICT,
            f"the hub already has version {existing_row['version']} of this record",
            "version",
        )


def check_access(caller: Caller) -> None:
    """A device reporting that it showed a person's details (only offices and supervisors read them)."""
    if caller.role not in ROLES_READING_PEOPLE:
        raise Refused(RuleCode.FORBIDDEN, "only office and supervisor devices read a person's details")


def check_revocation(caller: Caller) -> None:
    """A device revoking another device's token."""
    if caller.role != "supervisor":
        raise Refused(RuleCode.FORBIDDEN, "only a supervisor revokes devices")
