"""One set of rules, two doors (issue 10, item 4): every cell of `hub/rules.py`'s role × entity × action table, run
on a real hub process (SQLite and PostgreSQL) through a pushed op AND, where the API has a door for it, through the
HTTP API — both must give the same verdict: allowed (op `applied`, a 2xx), or refused with the same code (a
`rejected` op with `code`; the API's status for that code: forbidden 403, unknown_entity 404, invalid_payload 422,
conflict 409). A refused request or op writes nothing.

Cells without an API door (referral creation, returnee records, access records) run through push only; the table
says so with `api=None`. Reads: what the read API answers 200 the pull hands out, what it answers 404 the pull
leaves out — a referral of another region is "no referral", never "forbidden".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from field_app.hub.rules import HTTP_STATUS, RuleCode
from tests.hub.conftest import Device, HubProcess
from tests.hub.ops import NOW, new_id, pull_all, push, referral, returnee, returnee_op
from tests.hub.test_roles_api import create_op, dump_all, edit_payload, event_payload, op, referral_for

OK = "ok"
KAYES_ORG = "ifpt-kayes"  # a Kayes partner: its region's office may edit it
BAMAKO_ONLY = "anpe-dr-bamako"  # a Bamako partner: the Kayes office may not


@dataclass(frozen=True)
class World:
    """The callers of the table: two agents and two offices of two regions, a supervisor device."""

    agent: Device  # enrolled for Kayes; creates the referrals the cells act on
    other_agent: Device
    office: Device  # Kayes
    segou: Device  # another region's office
    boss: Device  # a supervisor's device


@pytest.fixture(scope="module")
def world(hub: HubProcess) -> World:
    return World(
        hub.enrol("agent", "kayes"),
        hub.enrol("agent", "kayes"),
        hub.enrol("office", "kayes"),
        hub.enrol("office", "segou"),
        hub.enrol("supervisor", None),
    )


def a_referral(hub: HubProcess, world: World, region: str = "kayes") -> str:
    """A fresh referral of `region` made by the world's agent (its person's record first)."""
    person = returnee(region)
    made, created = referral_for(person)
    answer = push(hub.url, world.agent.headers, [returnee_op(person), create_op(made, [created])])
    assert [r["result"] for r in answer.json()["results"]] == ["applied", "applied"], answer.text
    return made.id


# --- pushed op vs API call for referral events --------------------------------------------------------------------


@dataclass(frozen=True)
class EventCell:
    name: str
    caller: str  # a World attribute
    kind: str
    expect: str  # OK or a RuleCode value
    fields: tuple[tuple[str, Any], ...] = ()
    unknown: bool = False  # on a referral id the hub has never seen
    api: bool = True  # the API door exists for this cell (the API body has no `actor`)


EVENTS = [
    EventCell("the creating agent cancels", "agent", "revoked", OK),
    EventCell("the creating agent accepts", "agent", "accepted", RuleCode.FORBIDDEN),
    EventCell("another agent cancels", "other_agent", "revoked", RuleCode.UNKNOWN_ENTITY),
    EventCell("another agent accepts", "other_agent", "accepted", RuleCode.UNKNOWN_ENTITY),
    EventCell("the region's office accepts", "office", "accepted", OK),
    EventCell("the region's office receives", "office", "received", OK),
    EventCell("the region's office declines", "office", "declined", OK, (("reason", "partner_full"),)),
    EventCell("the region's office completes", "office", "completed", OK, (("outcome", "trained"),)),
    EventCell("the region's office cancels", "office", "revoked", RuleCode.FORBIDDEN),
    EventCell("the region's office sends `sent`", "office", "sent", RuleCode.FORBIDDEN),
    EventCell("the region's office sends `created`", "office", "created", RuleCode.FORBIDDEN),
    EventCell("another region's office accepts", "segou", "accepted", RuleCode.UNKNOWN_ENTITY),
    EventCell("another region's office cancels", "segou", "revoked", RuleCode.UNKNOWN_ENTITY),
    EventCell("a supervisor accepts", "boss", "accepted", OK),
    EventCell("a supervisor enrols", "boss", "enrolled", OK),
    EventCell("a supervisor cancels", "boss", "revoked", RuleCode.FORBIDDEN),
    EventCell("the office on a referral the hub lacks", "office", "accepted", RuleCode.UNKNOWN_ENTITY, unknown=True),
    EventCell("a supervisor on a referral the hub lacks", "boss", "accepted", RuleCode.UNKNOWN_ENTITY, unknown=True),
    EventCell("the creating agent on a referral the hub lacks", "agent", "revoked", RuleCode.UNKNOWN_ENTITY,
              unknown=True),
    EventCell("declined without a reason", "office", "declined", RuleCode.INVALID_PAYLOAD),
    EventCell("completed without an outcome", "office", "completed", RuleCode.INVALID_PAYLOAD),
    EventCell("accepted with a reason", "office", "accepted", RuleCode.INVALID_PAYLOAD, (("reason", "partner_full"),)),
    EventCell("declined, other, without a note", "office", "declined", RuleCode.INVALID_PAYLOAD,
              (("reason", "other"),)),
    EventCell("an actor that is not the caller", "office", "accepted", RuleCode.FORBIDDEN,
              (("actor", "someone-else"),), api=False),
]  # fmt: skip


def _api_status(expect: str) -> set[int]:
    return {200, 201} if expect == OK else {HTTP_STATUS[RuleCode(expect)]}


@pytest.mark.parametrize("cell", EVENTS, ids=[c.name for c in EVENTS])
def test_an_event_gets_the_same_verdict_by_push_and_by_the_api(hub: HubProcess, world: World, cell: EventCell) -> None:
    who: Device = getattr(world, cell.caller)
    fields = dict(cell.fields)
    verdicts: dict[str, str] = {}

    # door 1: a pushed op (on its own fresh referral, so that the two doors do not see each other's events)
    referral_id = new_id() if cell.unknown else a_referral(hub, world)
    payload = event_payload(referral_id, cell.kind, **{"actor": who.id, **fields}) | {"referral_id": referral_id}
    before = dump_all(hub)
    (answer,) = push(hub.url, who.headers, [op("referral_event", payload["id"], payload)]).json()["results"]
    verdicts["push"] = OK if answer["result"] == "applied" else str(answer["code"])
    if verdicts["push"] != OK:
        assert answer["result"] == "rejected" and dump_all(hub) == before, answer

    # door 2: POST /referrals/{id}/events
    if cell.api:
        referral_id = new_id() if cell.unknown else a_referral(hub, world)
        body = {"id": new_id(), "kind": cell.kind, **fields}
        before = dump_all(hub)
        response = httpx.post(f"{hub.url}/api/v1/referrals/{referral_id}/events", json=body, headers=who.headers)
        assert response.status_code in _api_status(cell.expect), (cell.name, response.status_code, response.text)
        if response.status_code >= 400:
            problem = response.json()
            assert problem["detail"] and problem["code"], problem
            assert dump_all(hub) == before
        verdicts["api"] = OK if response.status_code < 300 else cell.expect
        if cell.expect == RuleCode.UNKNOWN_ENTITY:  # the same words for a missing referral and a hidden one
            assert response.json()["detail"] == f"no referral {referral_id}"

    assert set(verdicts.values()) == {cell.expect}, (cell.name, verdicts)


# --- referral creation (push only: the API has no door to create referrals) ----------------------------------------


@dataclass(frozen=True)
class CreateCell:
    name: str
    caller: str
    expect: str
    region: str = "kayes"
    change: Callable[[dict[str, Any], World], None] | None = None  # edits the op's payload


def _two_created(payload: dict[str, Any], world: World) -> None:
    payload["events"].append(payload["events"][0] | {"id": new_id()})


def _no_created(payload: dict[str, Any], world: World) -> None:
    payload["events"] = []


def _office_kind(payload: dict[str, Any], world: World) -> None:
    payload["events"].append(payload["events"][0] | {"id": new_id(), "kind": "accepted"})


def _cancelled_offline(payload: dict[str, Any], world: World) -> None:
    payload["events"].append(payload["events"][0] | {"id": new_id(), "kind": "revoked"})


def _unknown_service(payload: dict[str, Any], world: World) -> None:
    payload["referral"]["service_id"] = "nobody-here/nothing"


def _other_org(payload: dict[str, Any], world: World) -> None:
    payload["referral"]["organization_id"] = "anpe-dr-gao"


def _number_date(payload: dict[str, Any], world: World) -> None:
    payload["referral"]["created_at"] = 1_700_000_000


def _number_event_date(payload: dict[str, Any], world: World) -> None:
    payload["events"][0]["at"] = "1700000000"


def _unknown_region(payload: dict[str, Any], world: World) -> None:
    payload["referral"]["region"] = "paris"


def _actor_not_caller(payload: dict[str, Any], world: World) -> None:
    payload["events"][0]["actor"] = world.other_agent.id


CREATES = [
    CreateCell("an agent, its region", "agent", OK),
    CreateCell("an agent, another region (phones are national)", "agent", OK, region="gao"),
    CreateCell("an agent, cancelled offline in the same op", "agent", OK, change=_cancelled_offline),
    CreateCell("an office, its region", "office", OK),
    CreateCell("an office, another region", "office", RuleCode.FORBIDDEN, region="gao"),
    CreateCell("a supervisor, any region", "boss", OK, region="gao"),
    CreateCell("an unknown service", "agent", RuleCode.INVALID_PAYLOAD, change=_unknown_service),
    CreateCell("a service of another organisation", "agent", RuleCode.INVALID_PAYLOAD, change=_other_org),
    CreateCell("two `created` events", "agent", RuleCode.INVALID_PAYLOAD, change=_two_created),
    CreateCell("no `created` event", "agent", RuleCode.INVALID_PAYLOAD, change=_no_created),
    CreateCell("an office's kind among its events", "agent", RuleCode.FORBIDDEN, change=_office_kind),
    CreateCell("an event's actor another device", "agent", RuleCode.FORBIDDEN, change=_actor_not_caller),
    CreateCell("a number for the creation time", "agent", RuleCode.INVALID_PAYLOAD, change=_number_date),
    CreateCell("a number (as text) for an event time", "agent", RuleCode.INVALID_PAYLOAD, change=_number_event_date),
    CreateCell("an unknown region", "agent", RuleCode.INVALID_PAYLOAD, change=_unknown_region),
]


@pytest.mark.parametrize("cell", CREATES, ids=[c.name for c in CREATES])
def test_a_referral_create_is_decided_by_the_table(hub: HubProcess, world: World, cell: CreateCell) -> None:
    who: Device = getattr(world, cell.caller)
    made, created = referral(cell.region)
    pushed = create_op(made, [created.model_copy(update={"actor": who.id})])
    if cell.change is not None:
        cell.change(pushed["payload"], world)
    before = dump_all(hub)
    (answer,) = push(hub.url, who.headers, [pushed]).json()["results"]
    if cell.expect == OK:
        assert answer["result"] == "applied", answer
    else:
        assert (answer["result"], answer["code"]) == ("rejected", cell.expect), answer
        assert len(answer["reason"]) < 300 and dump_all(hub) == before


def test_a_referral_again_is_a_duplicate_but_another_created_or_device_is_refused(
    hub: HubProcess, world: World
) -> None:
    made, created = referral_for(returnee("kayes"))
    first = create_op(made, [created])
    assert push(hub.url, world.agent.headers, [first]).json()["results"][0]["result"] == "applied"
    again = create_op(made, [created])  # the same referral under another op id: nothing new
    assert push(hub.url, world.agent.headers, [again]).json()["results"][0]["result"] == "duplicate"
    before = dump_all(hub)
    second_created = create_op(made, [created.model_copy(update={"id": new_id()})])
    (answer,) = push(hub.url, world.agent.headers, [second_created]).json()["results"]
    assert (answer["result"], answer["code"]) == ("rejected", RuleCode.INVALID_PAYLOAD), answer
    (answer,) = push(hub.url, world.other_agent.headers, [create_op(made, [created])]).json()["results"]
    assert (answer["result"], answer["code"]) == ("rejected", RuleCode.CONFLICT), answer
    assert dump_all(hub) == before


# --- returnee records and access records (push only) --------------------------------------------------------------


def test_returnee_records_by_role_and_owner(hub: HubProcess, world: World) -> None:
    person = returnee("kayes")
    assert push(hub.url, world.agent.headers, [returnee_op(person)]).json()["results"][0]["result"] == "applied"
    newer = person.model_copy(update={"version": 2, "given_name": "Aminata"})
    before = dump_all(hub)
    for who, expect in ((world.other_agent, RuleCode.FORBIDDEN), (world.office, RuleCode.FORBIDDEN)):
        (answer,) = push(hub.url, who.headers, [returnee_op(newer)]).json()["results"]
        assert (answer["result"], answer["code"]) == ("rejected", expect), answer
    stale = person.model_copy(update={"given_name": "Aïssata"})  # version 1 again, other content
    (answer,) = push(hub.url, world.agent.headers, [returnee_op(stale)]).json()["results"]
    assert (answer["result"], answer["code"]) == ("rejected", RuleCode.VERSION_CONFLICT), answer
    assert dump_all(hub) == before
    (answer,) = push(hub.url, world.boss.headers, [returnee_op(newer)]).json()["results"]
    assert answer["result"] == "applied", answer
    (answer,) = push(hub.url, world.office.headers, [returnee_op(returnee("kayes"))]).json()["results"]
    assert answer["result"] == "applied", answer  # a new record: any role


@pytest.mark.parametrize(("caller", "expect"), [("agent", RuleCode.FORBIDDEN), ("office", OK), ("boss", OK)])
def test_access_records_by_role(hub: HubProcess, world: World, caller: str, expect: str) -> None:
    who: Device = getattr(world, caller)
    record = {"id": new_id(), "returnee_id": new_id(), "via": "detail", "at": NOW.isoformat()}
    (answer,) = push(hub.url, who.headers, [op("access", record["id"], record)]).json()["results"]
    assert (answer["result"], answer["code"]) == (("applied", None) if expect == OK else ("rejected", expect))


# --- both doors: device revocations, directory edits --------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "expect"), [("agent", RuleCode.FORBIDDEN), ("office", RuleCode.FORBIDDEN), ("boss", OK)]
)
def test_revoking_a_device_by_push_and_by_the_api(hub: HubProcess, world: World, caller: str, expect: str) -> None:
    who: Device = getattr(world, caller)
    verdicts = {}
    target = hub.enrol("agent", "kayes")
    revocation = {"device_id": target.id, "at": dt.datetime.now(dt.UTC).isoformat()}
    (answer,) = push(hub.url, who.headers, [op("device_revocation", target.id, revocation)]).json()["results"]
    verdicts["push"] = OK if answer["result"] == "applied" else answer["code"]
    target = hub.enrol("agent", "kayes")
    response = httpx.post(f"{hub.url}/api/v1/devices/{target.id}/revoke", headers=who.headers)
    assert response.status_code in _api_status(expect), response.text
    verdicts["api"] = OK if response.status_code == 200 else expect
    assert set(verdicts.values()) == {expect}, verdicts


@pytest.mark.parametrize(
    ("caller", "org", "expect"),
    [
        ("agent", KAYES_ORG, RuleCode.FORBIDDEN),
        ("office", KAYES_ORG, OK),
        ("office", BAMAKO_ONLY, RuleCode.FORBIDDEN),
        ("segou", KAYES_ORG, RuleCode.FORBIDDEN),
        ("boss", BAMAKO_ONLY, OK),
    ],
)
def test_a_directory_edit_by_push_and_by_the_api(
    hub: HubProcess, world: World, caller: str, org: str, expect: str
) -> None:
    who: Device = getattr(world, caller)
    verdicts = {}
    edit = edit_payload(org, [("notes", [f"parity {new_id()[:8]}"])])
    (answer,) = push(hub.url, who.headers, [op("directory_edit", edit["id"], edit)]).json()["results"]
    verdicts["push"] = OK if answer["result"] == "applied" else answer["code"]
    edit = edit_payload(org, [("notes", [f"parity {new_id()[:8]}"])])
    response = httpx.post(f"{hub.url}/api/v1/directory/organizations/{org}/edits", json=edit, headers=who.headers)
    assert response.status_code in _api_status(expect), response.text
    verdicts["api"] = OK if response.status_code < 300 else expect
    assert set(verdicts.values()) == {expect}, verdicts


# --- reads: the read API and the pull agree on who sees a referral ------------------------------------------------


@pytest.mark.parametrize(("caller", "sees"), [("office", True), ("segou", False), ("boss", True)])
def test_who_reads_a_referral_by_the_api_is_who_pulls_it(
    hub: HubProcess, world: World, caller: str, sees: bool
) -> None:
    who: Device = getattr(world, caller)
    referral_id = a_referral(hub, world)
    response = httpx.get(f"{hub.url}/api/v1/referrals/{referral_id}", headers=who.headers)
    pulled = {c["id"] for c in pull_all(hub.url, who.headers) if c["entity"] == "referral"}
    assert (response.status_code == 200, referral_id in pulled) == (sees, sees), response.text
    if not sees:
        hidden = response.json()
        missing = httpx.get(f"{hub.url}/api/v1/referrals/{new_id()}", headers=who.headers).json()
        assert response.status_code == 404 and hidden["code"] == missing["code"] == "not_found"
        assert hidden["detail"].split()[:2] == missing["detail"].split()[:2] == ["no", "referral"]
