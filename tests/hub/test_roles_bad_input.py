"""Issue 8's bad input, on SQLite and PostgreSQL: an office event without its reason or outcome, an unknown code,
an actor that is not the caller, an office acting on another region, a directory edit outside the office's region
or with a bad phone, an office's revert, an agent's access record or revocation — each refused with the field
named (a per-op rejection in a push, a Problem body from the API), and the hub's tables unchanged row by row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.hub.conftest import Device, HubProcess
from tests.hub.ops import NOW, new_id, push, results
from tests.hub.test_roles_api import dump_all, edit_payload, event_payload, op, person, refer

BAMAKO_ONLY = "anpe-dr-bamako"  # its office and service area are in Bamako only
KAYES_ORG = "ifpt-kayes"


@dataclass(frozen=True)
class Actors:
    agent: Device
    office: Device  # Kayes
    segou: Device  # the Ségou office
    boss: Device  # a supervisor's device
    referral_id: str  # a Kayes referral, sent
    returnee_id: str
    audit_id: str  # an audit row of an office's edit of KAYES_ORG


@pytest.fixture(scope="session")
def actors(hub: HubProcess) -> Actors:
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes")
    segou, boss = hub.enrol("office", "segou"), hub.enrol("supervisor", None)
    awa = person("kayes")
    (referral_id,) = refer(hub, agent, awa)
    edit = edit_payload(KAYES_ORG, [("notes", ["Ouvert le samedi matin"])])
    assert results(push(hub.url, office.headers, [op("directory_edit", edit["id"], edit)])) == [("applied", None)]
    sup = hub.token("supervisor")
    audit = httpx.get(f"{hub.url}/api/v1/directory/audit", params={"organization": KAYES_ORG}, headers=sup.headers)
    (row,) = [r for r in audit.json()["items"] if r["edit_id"] == edit["id"]]
    return Actors(agent, office, segou, boss, referral_id, awa.id, row["id"])


# --- pushed ops: (name, who pushes, the op, rejection code, words the reason must hold) ---------------------------

Make = Callable[[Actors], dict[str, Any]]


def event(kind: str, actor: str | None = "self", **fields: Any) -> Callable[[Actors, Device], dict[str, Any]]:
    def make(who: Actors, sender: Device) -> dict[str, Any]:
        return op_for_event(who, sender, kind, actor, fields)

    return make


def op_for_event(who: Actors, sender: Device, kind: str, actor: str | None, fields: dict[str, Any]) -> dict[str, Any]:
    payload = event_payload(who.referral_id, kind, actor=sender.id if actor == "self" else actor, **fields)
    return op("referral_event", payload["id"], payload)


def raw_event(**changes: Any) -> Callable[[Actors, Device], dict[str, Any]]:
    """An event payload with fields the model would refuse (unknown codes)."""

    kind = changes.pop("kind", "declined")

    def make(who: Actors, sender: Device) -> dict[str, Any]:
        payload = event_payload(who.referral_id, kind, reason="partner_full") | changes
        return op("referral_event", payload["id"], payload)

    return make


def edit(org: str, changes: list[tuple[str, Any]], **fields: Any) -> Callable[[Actors, Device], dict[str, Any]]:
    def make(who: Actors, sender: Device) -> dict[str, Any]:
        payload = edit_payload(org, changes, **fields)
        return op("directory_edit", payload["id"], payload)

    return make


def revert(audit_id: str | None = None) -> Callable[[Actors, Device], dict[str, Any]]:
    def make(who: Actors, sender: Device) -> dict[str, Any]:
        payload = edit_payload(KAYES_ORG, [], revert_of=audit_id or who.audit_id)
        return op("directory_edit", payload["id"], payload)

    return make


def access(**changes: Any) -> Callable[[Actors, Device], dict[str, Any]]:
    def make(who: Actors, sender: Device) -> dict[str, Any]:
        record = {"id": new_id(), "returnee_id": who.returnee_id, "via": "detail", "at": NOW.isoformat()} | changes
        return op("access", record["id"], record)

    return make


def revocation(target: str) -> Callable[[Actors, Device], dict[str, Any]]:
    def make(who: Actors, sender: Device) -> dict[str, Any]:
        device_id = new_id() if target == "unknown" else getattr(who, target).id
        return op("device_revocation", device_id, {"device_id": device_id, "at": NOW.isoformat()})

    return make


PUSHED: list[tuple[str, str, Callable[[Actors, Device], dict[str, Any]], str, str]] = [
    ("declined without a reason", "office", event("declined"), "invalid_payload", "reason"),
    ("not completed without a reason", "office", event("not_completed"), "invalid_payload", "reason"),
    ("completed without an outcome", "office", event("completed"), "invalid_payload", "outcome"),
    ("declined, other, without a note", "office", event("declined", reason="other"), "invalid_payload", "note"),
    ("completed, other, without a note", "office", event("completed", outcome="other"), "invalid_payload", "note"),
    ("accepted with a reason", "office", event("accepted", reason="partner_full"), "invalid_payload", "reason"),
    ("unknown reason code", "office", raw_event(reason="partner_busy"), "invalid_payload", "reason"),
    ("unknown outcome code", "office", raw_event(kind="completed", reason=None, outcome="rich"), "invalid_payload",
     "outcome"),
    ("an actor that is not the caller", "office", event("accepted", actor=new_id()), "forbidden", "actor"),
    ("a supervisor naming another actor", "boss", event("accepted", actor=new_id()), "forbidden", "actor"),
    ("the Ségou office on a Kayes referral", "segou", event("declined", reason="partner_full"), "unknown_entity",
     "no referral"),  # as for one the hub lacks: never "it exists"
    ("an agent accepting", "agent", event("accepted"), "forbidden", "accepted"),
    ("Kayes office editing a Bamako partner", "office", edit(BAMAKO_ONLY, [("phones", ["76 12 34 56"])]),
     "forbidden", "region"),
    ("a Kayes partner's bad phone", "office", edit(KAYES_ORG, [("phones", ["12"])]), "invalid_payload",
     "phones[0]"),
    ("a bad contact phone", "office", edit(KAYES_ORG, [("notes", ["ok"]), ("contacts/0/phones", ["0"])]),
     "invalid_payload", "contacts/0/phones[0]"),
    ("a field that cannot be edited", "office", edit(KAYES_ORG, [("name", "Autre")]), "invalid_payload", "name"),
    ("an edit that changes nothing", "office", edit(KAYES_ORG, []), "invalid_payload", "changes"),
    ("an unknown partner", "office", edit("nobody-here", [("notes", ["x"])]), "unknown_entity", "nobody-here"),
    ("an agent editing the directory", "agent", edit(KAYES_ORG, [("notes", ["x"])]), "forbidden", "region"),
    ("an office's revert", "office", revert(), "forbidden", "supervisor"),
    ("a revert of no audit row", "boss", revert(new_id()), "unknown_entity", "audit"),
    ("an agent's access record", "agent", access(), "forbidden", "office"),
    ("an access record with an unknown way", "office", access(via="glance"), "invalid_payload", "via"),
    ("an office revoking a device", "office", revocation("agent"), "forbidden", "supervisor"),
    ("an agent revoking a device", "agent", revocation("segou"), "forbidden", "supervisor"),
    ("revoking a device the hub lacks", "boss", revocation("unknown"), "unknown_entity", "device"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "sender", "make", "code", "words"), PUSHED, ids=[c[0] for c in PUSHED])
def test_refused_ops_name_the_problem_and_write_nothing(
    hub: HubProcess,
    actors: Actors,
    name: str,
    sender: str,
    make: Callable[[Actors, Device], dict[str, Any]],
    code: str,
    words: str,
) -> None:
    device: Device = getattr(actors, sender)
    pushed = make(actors, device)
    before = dump_all(hub)
    (answer,) = push(hub.url, device.headers, [pushed]).json()["results"]
    assert (answer["result"], answer["code"]) == ("rejected", code), answer
    assert words in answer["reason"], answer["reason"]
    assert dump_all(hub) == before


# --- the API: (name, who calls, method, path, body, status, code, field) ------------------------------------------

EVENTS = "referrals/{referral}/events"
EDITS = "directory/organizations/{org}/edits"


def api_edit(org: str, changes: list[tuple[str, Any]], **fields: Any) -> Callable[[Actors], dict[str, Any]]:
    return lambda who: edit_payload(org, changes, **fields)


def fixed(body: dict[str, Any]) -> Callable[[Actors], dict[str, Any]]:
    return lambda who: body


API: list[tuple[str, str, str, str, Callable[[Actors], dict[str, Any]] | None, int, str, str | None]] = [
    ("declined without a reason", "office", "POST", EVENTS, fixed({"kind": "declined"}), 422, "invalid_request",
     "reason"),
    ("not completed without a reason", "office", "POST", EVENTS, fixed({"kind": "not_completed"}), 422,
     "invalid_request", "reason"),
    ("completed without an outcome", "office", "POST", EVENTS, fixed({"kind": "completed"}), 422, "invalid_request",
     "outcome"),
    ("declined, other, without a note", "office", "POST", EVENTS, fixed({"kind": "declined", "reason": "other"}),
     422, "invalid_request", "note"),
    ("declined, other, a blank note", "office", "POST", EVENTS,
     fixed({"kind": "declined", "reason": "other", "note": "   "}), 422, "invalid_request", "note"),
    ("unknown reason code", "office", "POST", EVENTS, fixed({"kind": "declined", "reason": "partner_busy"}), 422,
     "invalid_request", "reason"),
    ("unknown outcome code", "office", "POST", EVENTS, fixed({"kind": "completed", "outcome": "rich"}), 422,
     "invalid_request", "outcome"),
    ("an actor in the body", "office", "POST", EVENTS, fixed({"kind": "accepted", "actor": "someone-else"}), 422,
     "invalid_request", "actor"),
    ("the Ségou office on a Kayes referral", "segou", "POST", EVENTS,  # 404 as for a read: never "it exists"
     fixed({"kind": "declined", "reason": "partner_full"}), 404, "not_found", "referral_id"),
    ("Kayes office editing a Bamako partner", "office", "POST", EDITS.replace("{org}", BAMAKO_ONLY),
     api_edit(BAMAKO_ONLY, [("phones", ["76 12 34 56"])]), 403, "forbidden", "organization_id"),
    ("a Kayes partner's bad phone", "office", "POST", EDITS.replace("{org}", KAYES_ORG),
     api_edit(KAYES_ORG, [("phones", ["12"])]), 422, "invalid_payload", "phones[0]"),
    ("a bad service status", "office", "POST", EDITS.replace("{org}", KAYES_ORG),
     api_edit(KAYES_ORG, [("services/nothing-here/status", "full")]), 422, "invalid_payload",
     "services/nothing-here/status"),
    ("an edit for another organisation", "office", "POST", EDITS.replace("{org}", KAYES_ORG),
     api_edit(BAMAKO_ONLY, [("notes", ["x"])]), 422, "invalid_request", "organization_id"),
    ("an office's revert", "office", "POST", EDITS.replace("{org}", KAYES_ORG),
     lambda who: edit_payload(KAYES_ORG, [], revert_of=who.audit_id), 403, "forbidden", "revert_of"),
    ("an agent editing", "agent", "POST", EDITS.replace("{org}", KAYES_ORG), api_edit(KAYES_ORG, [("notes", ["x"])]),
     403, "forbidden", None),
    ("an office reading the access log", "office", "GET", "access-log", None, 403, "forbidden", None),
    ("an agent reading the directory audit", "agent", "GET", "directory/audit", None, 403, "forbidden", None),
    ("an office listing devices", "office", "GET", "devices", None, 403, "forbidden", None),
    ("an office revoking", "office", "POST", "devices/{agent}/revoke", fixed({}), 403, "forbidden", None),
    ("a negative pending count", "agent", "POST", "devices/report",
     fixed({"pending": -1, "quarantined": 0, "app_version": "1"}), 422, "invalid_request", "pending"),
    ("a report without the app version", "agent", "POST", "devices/report", fixed({"pending": 0, "quarantined": 0}),
     422, "invalid_request", "app_version"),
    ("a referral list for no region", "boss", "GET", "referrals?region=paris", None, 422, "invalid_request",
     "region"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "caller", "method", "path", "body", "status", "code", "field"), API, ids=[c[0] for c in API]
)
def test_refused_requests_name_the_field_and_write_nothing(
    hub: HubProcess,
    actors: Actors,
    name: str,
    caller: str,
    method: str,
    path: str,
    body: Callable[[Actors], dict[str, Any]] | None,
    status: int,
    code: str,
    field: str | None,
) -> None:
    who: Device = getattr(actors, caller)
    url = f"{hub.url}/api/v1/" + path.format(referral=actors.referral_id, agent=actors.agent.id)
    content = None if body is None else body(actors)
    before = dump_all(hub)
    response = httpx.request(method, url, json=content, headers=who.headers, timeout=30)
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["code"] == code and problem["detail"], problem
    if field is not None:
        assert problem.get("field") == field, problem
    assert dump_all(hub) == before


def test_the_referral_is_untouched_by_every_refusal(hub: HubProcess, actors: Actors) -> None:
    """After the refusals above (whatever ran before), the referral is as the agent sent it."""
    sup = hub.token("supervisor")
    item = httpx.get(f"{hub.url}/api/v1/referrals/{actors.referral_id}", headers=sup.headers).json()
    assert item["status"] == "sent" and item["flagged"] == []
    assert [e["kind"] for e in item["events"]] == ["created", "sent"]
    assert dt.datetime.fromisoformat(item["created_at"]) == NOW
