"""Issue 8 on the hub, end to end on SQLite and PostgreSQL (real hub processes): pull scopes per role, the access
log of personal details handed out, office events (flagged when the status no longer allows them), directory edits
with their audit log and revert, device reports and revocation, and the `field-app hub` commands around them."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from typing import Any

import httpx

from field_app.domain.referrals import EventKind, Referral, ReferralEvent
from field_app.domain.returnees import Returnee
from tests.hub.conftest import Device, HubProcess
from tests.hub.ops import NOW, new_id, pull_all, push, results, returnee, returnee_op

SERVICES = {
    "kayes": ("anpe-dr-kayes", "anpe-dr-kayes/intermediation-placement"),
    "segou": ("anpe-dr-segou", "anpe-dr-segou/intermediation-placement"),
    "bamako": ("anpe-dr-bamako", "anpe-dr-bamako/intermediation-placement"),
}
EXTRA_TABLES = {"access_log": "id", "directory_audit": "id", "schema_migrations": "version"}
KAYES_PARTNER = "cfap-kayes"  # a training centre with its office in Kayes (no test elsewhere edits it)


def dump_all(hub: HubProcess) -> dict[str, list[tuple[Any, ...]]]:
    """`hub.dump()` and issue 8's tables (access log, directory audit), row by row."""
    out = hub.dump()
    if hub.backend == "sqlite":
        with contextlib.closing(sqlite3.connect(f"file:{hub.target}?mode=ro", uri=True)) as conn:
            for table, key in EXTRA_TABLES.items():
                out[table] = [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {key}")]
        return out
    import psycopg

    with psycopg.connect(hub.target) as conn:
        for table, key in EXTRA_TABLES.items():
            out[table] = [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {key}")]
    return out


def assert_only_ops_grew(before: dict[str, list[Any]], after: dict[str, list[Any]]) -> None:
    """Nothing changed but one more op id remembered as `duplicate`."""
    assert {k: v for k, v in after.items() if k != "ops"} == {k: v for k, v in before.items() if k != "ops"}
    added = [row for row in after["ops"] if row not in before["ops"]]
    assert len(added) == 1 and added[0][5] == "duplicate" and set(before["ops"]) <= set(after["ops"])


def pairs(phones: list[dict[str, Any]] | None) -> list[tuple[str, str]]:
    """Phones as (as written, E.164)."""
    return [(p["as_written"], p["e164"]) for p in phones or []]


def person(region: str = "kayes", **changes: Any) -> Returnee:
    return returnee(region, phone="+22376001122", **changes)


def referral_for(who: Returnee, region: str | None = None) -> tuple[Referral, ReferralEvent]:
    org, service = SERVICES[region or who.region.value]
    made = Referral(
        id=new_id(),
        returnee_id=who.id,
        service_id=service,
        organization_id=org,
        region=region or who.region.value,
        consent_share_at=NOW,
        created_at=NOW,
    )
    return made, ReferralEvent(id=new_id(), referral_id=made.id, kind=EventKind.CREATED, at=NOW)


def create_op(made: Referral, events: list[ReferralEvent]) -> dict[str, Any]:
    return {
        "op_id": new_id(),
        "entity": "referral",
        "entity_id": made.id,
        "op": "create",
        "payload": {"referral": made.model_dump(mode="json"), "events": [e.model_dump(mode="json") for e in events]},
    }


def refer(hub: HubProcess, agent: Device, *people: Returnee) -> list[str]:
    """Push each person's record and a referral to their region's office; the referral ids."""
    made = [referral_for(p) for p in people]
    ops = [returnee_op(p) for p in people] + [create_op(m, [c]) for m, c in made]
    assert results(push(hub.url, agent.headers, ops)) == [("applied", None)] * len(ops)
    return [m.id for m, _c in made]


def event_payload(referral_id: str, kind: str, actor: str | None = None, **fields: Any) -> dict[str, Any]:
    at = fields.pop("at", dt.datetime.now(dt.UTC))
    event = ReferralEvent(id=new_id(), referral_id=referral_id, kind=EventKind(kind), at=at, actor=actor, **fields)
    return event.model_dump(mode="json")


def op(entity: str, entity_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    kind = {"returnee": "upsert", "referral": "create"}.get(entity, "append")
    return {"op_id": new_id(), "entity": entity, "entity_id": entity_id, "op": kind, "payload": payload}


def event_op(payload: dict[str, Any]) -> dict[str, Any]:
    return op("referral_event", payload["id"], payload)


def edit_payload(org_id: str, changes: list[tuple[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "id": new_id(),
        "organization_id": org_id,
        "changes": [{"field": f, "value": v} for f, v in changes],
        "at": dt.datetime.now(dt.UTC).isoformat(),
        **fields,
    }


def end_of(hub: HubProcess, device: Device) -> int:
    """The device's cursor after pulling everything there is now."""
    return int((pull_all(hub.url, device.headers) or [{"seq": 0}])[-1]["seq"])


def of(changes: list[dict[str, Any]], entity: str) -> list[dict[str, Any]]:
    return [c for c in changes if c["entity"] == entity]


def get(hub: HubProcess, path: str, who: Device, **params: Any) -> httpx.Response:
    return httpx.get(f"{hub.url}/api/v1/{path}", params=params, headers=who.headers, timeout=30)


def post(hub: HubProcess, path: str, who: Device, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{hub.url}/api/v1/{path}", json=body, headers=who.headers, timeout=30)


# --- 1. pull scopes ---------------------------------------------------------------------------------------------


def test_each_role_pulls_its_scope(hub: HubProcess) -> None:
    agent, other_agent = hub.enrol("agent", "kayes"), hub.enrol("agent", "kayes")
    office_kayes, office_segou = hub.enrol("office", "kayes"), hub.enrol("office", "segou")
    boss = hub.enrol("supervisor", None)
    start = {d.id: end_of(hub, d) for d in (office_kayes, office_segou, boss)}
    awa, moussa, fanta = person("kayes"), person("segou", given_name="Moussa"), person("kayes", given_name="Fanta")
    kayes_1, segou_1 = refer(hub, agent, awa, moussa)
    (kayes_2,) = refer(hub, other_agent, fanta)

    kayes_seen = of(pull_all(hub.url, office_kayes.headers, cursor=start[office_kayes.id]), "referral")
    assert {c["id"] for c in kayes_seen} == {kayes_1, kayes_2}
    by_id = {c["id"]: c["data"] for c in kayes_seen}
    shared = by_id[kayes_1]["person"]
    assert (shared["returnee_id"], shared["given_name"], shared["family_name"], shared["phone"]) == (
        awa.id,
        "Awa",
        "Keita",
        "+22376001122",
    )
    assert shared["sex"] == "F" and shared["region"] == "kayes" and shared["age"] == 27
    assert by_id[kayes_2]["person"]["given_name"] == "Fanta"
    assert by_id[kayes_1]["device_id"] == agent.id and by_id[kayes_2]["device_id"] == other_agent.id
    kayes_all = pull_all(hub.url, office_kayes.headers, cursor=start[office_kayes.id])
    kayes_events = of(kayes_all, "referral_event")
    assert {c["data"]["referral_id"] for c in kayes_events} == {kayes_1, kayes_2}
    # each referral comes before its events (created, then the hub's sent), so the office learns of it first
    order = [(c["entity"], c["id"] if c["entity"] == "referral" else c["data"]["kind"]) for c in kayes_all
             if c["id"] == kayes_1 or (c["data"] or {}).get("referral_id") == kayes_1]  # fmt: skip
    assert order == [("referral", kayes_1), ("referral_event", "created"), ("referral_event", "sent")]

    segou_all = pull_all(hub.url, office_segou.headers, cursor=start[office_segou.id])
    assert {c["id"] for c in of(segou_all, "referral")} == {segou_1}
    assert of(segou_all, "referral")[0]["data"]["person"]["given_name"] == "Moussa"
    assert {c["data"]["referral_id"] for c in of(segou_all, "referral_event")} == {segou_1}

    assert of(pull_all(hub.url, agent.headers), "referral") == []  # its push answers carried them (issue 10)
    mine = pull_all(hub.url, agent.headers, full=True)
    assert {c["id"] for c in of(mine, "referral")} == {kayes_1, segou_1}
    assert all(c["data"]["person"] is None for c in of(mine, "referral"))
    assert {c["data"]["referral_id"] for c in of(mine, "referral_event")} == {kayes_1, segou_1}

    supervised = pull_all(hub.url, boss.headers, cursor=start[boss.id])
    assert {kayes_1, kayes_2, segou_1} <= {c["id"] for c in of(supervised, "referral")}
    # device, access and directory_audit rows are for supervisors only, from the very start of the log
    assert of(supervised, "access"), "the offices' pulls above handed out names: supervisors see the access rows"
    assert agent.id in {c["id"] for c in of(pull_all(hub.url, boss.headers), "device")}
    for device in (agent, other_agent, office_kayes, office_segou):
        entities = {c["entity"] for c in pull_all(hub.url, device.headers)}
        assert entities.isdisjoint({"device", "access", "directory_audit"}), (device.role, entities)


# --- 2. access log ----------------------------------------------------------------------------------------------


def test_every_person_handed_out_is_in_the_access_log(hub: HubProcess, supervisor: Device) -> None:
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes")
    boss = hub.enrol("supervisor", None)
    end_of(hub, office), end_of(hub, boss)  # catch up: the rows below are this test's
    awa, binta = person("kayes"), person("kayes", given_name="Binta")
    first, second = refer(hub, agent, awa, binta)
    pull_all(hub.url, office.headers, cursor=0)  # 0: the whole log again, to be sure it is recorded every time

    def log(**params: Any) -> list[dict[str, Any]]:
        response = get(hub, "access-log", supervisor, **params)
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    pulled = log(device=office.id)
    assert {(r["returnee_id"], r["referral_id"], r["via"]) for r in pulled} >= {
        (awa.id, first, "pull"),
        (binta.id, second, "pull"),
    }
    assert all(r["device_id"] == office.id for r in pulled)
    # the agent holds the records already: its pulls hand out nobody
    pull_all(hub.url, agent.headers)
    assert log(device=agent.id) == []

    read = get(hub, f"referrals/{first}", office)
    assert read.status_code == 200 and read.json()["person"]["given_name"] == "Awa"
    assert [r["via"] for r in log(device=office.id, returnee=awa.id)].count("api") == 1
    by_supervisor = get(hub, f"referrals/{second}", supervisor)
    assert by_supervisor.json()["person"]["phone"] == "+22376001122"
    assert [(r["via"], r["referral_id"]) for r in log(device=supervisor.id, returnee=binta.id)] == [("api", second)]
    newest = log(limit=1)[0]
    assert (newest["device_id"], newest["returnee_id"]) == (supervisor.id, binta.id)
    for who in (office, agent):
        assert get(hub, "access-log", who).status_code == 403

    # a device's own reads, pushed: stored under the token's device id, whatever the payload says
    record = {
        "id": new_id(),
        "returnee_id": awa.id,
        "referral_id": first,
        "via": "detail",
        "at": NOW.isoformat(),
        "device_id": agent.id,
    }
    pushed = op("access", record["id"], record)
    assert results(push(hub.url, office.headers, [pushed])) == [("applied", None)]
    (stored,) = [r for r in log(device=office.id) if r["id"] == record["id"]]
    assert (stored["device_id"], stored["via"], stored["referral_id"]) == (office.id, "detail", first)
    assert dt.datetime.fromisoformat(stored["at"]) == NOW
    assert record["id"] not in {r["id"] for r in log(device=agent.id)}
    after = dump_all(hub)
    assert results(push(hub.url, office.headers, [pushed])) == [("duplicate", None)]
    assert dump_all(hub) == after
    # the same record under a new op id (the device lost its outbox state): a duplicate too; only the op id is kept
    assert results(push(hub.url, office.headers, [op("access", record["id"], record)])) == [("duplicate", None)]
    assert_only_ops_grew(after, dump_all(hub))
    after = dump_all(hub)
    from_agent = {**record, "id": new_id()}
    assert results(push(hub.url, agent.headers, [op("access", from_agent["id"], from_agent)])) == [
        ("rejected", "forbidden")
    ]
    assert dump_all(hub) == after
    # supervisors' devices receive every access row as an `access` change, the pushed one too
    access_changes = of(pull_all(hub.url, boss.headers), "access")
    assert record["id"] in {c["id"] for c in access_changes}
    assert {(c["data"]["device_id"], c["data"]["via"]) for c in access_changes} >= {
        (office.id, "pull"),
        (office.id, "api"),
        (office.id, "detail"),
        (supervisor.id, "api"),
    }


# --- 3. office events: a move the status no longer allows is stored and flagged ----------------------------------


def test_an_office_move_after_the_agents_cancel_is_kept_and_flagged_for_both(hub: HubProcess) -> None:
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes")
    start = end_of(hub, office)
    made, created = referral_for(person("kayes"))
    revoked = ReferralEvent(id=new_id(), referral_id=made.id, kind=EventKind.REVOKED, at=NOW)
    # cancelled offline before it ever left the phone: created and revoked arrive together, never sent
    assert results(push(hub.url, agent.headers, [create_op(made, [created, revoked])])) == [("applied", None)]
    later = NOW + dt.timedelta(hours=2)
    accepted = event_payload(made.id, "accepted", actor=office.id, at=later, note="place le lundi")
    assert results(push(hub.url, office.headers, [event_op(accepted)])) == [("applied", None)]
    by_api = post(
        hub,
        f"referrals/{made.id}/events",
        office,
        {"kind": "declined", "reason": "partner_full", "at": later.isoformat()},
    )
    assert by_api.status_code == 201, by_api.text
    item = by_api.json()
    assert item["status"] == "revoked"
    (declined_id,) = [e["id"] for e in item["events"] if e["kind"] == "declined"]
    assert sorted(item["flagged"]) == sorted([accepted["id"], declined_id])
    assert {e["actor"] for e in item["events"] if e["kind"] in ("accepted", "declined")} == {office.id}

    for device, cursor in ((agent, 0), (office, start)):
        changes = pull_all(hub.url, device.headers, cursor=cursor, full=True)  # with the rows its push answer carried
        seen = [c["data"] for c in of(changes, "referral_event")]
        mine = {d["id"]: d for d in seen if d["referral_id"] == made.id}
        assert set(mine) == {created.id, revoked.id, accepted["id"], declined_id}, device.role
        last = seen[-1]  # in the order the hub stored them: the API's declined came last
        assert last["id"] == declined_id and last["status"] == "revoked"
        assert set(last["flagged"]) == {accepted["id"], declined_id}
        assert mine[accepted["id"]]["status"] == "revoked" and mine[accepted["id"]]["flagged"] == [accepted["id"]]


def test_office_moves_with_their_reason_and_outcome_reach_the_agent(hub: HubProcess) -> None:
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes")
    a, b = refer(hub, agent, person("kayes"), person("kayes"))
    ops = [
        event_op(event_payload(a, "accepted", actor=office.id)),
        event_op(event_payload(b, "declined", reason="other", note="déménagé à Bamako")),
    ]
    assert results(push(hub.url, office.headers, ops)) == [("applied", None)] * 2
    enrolled = post(hub, f"referrals/{a}/events", office, {"kind": "enrolled", "follow_up": "2026-04-01"})
    assert enrolled.status_code == 201
    done = post(hub, f"referrals/{a}/events", office, {"kind": "completed", "outcome": "job_placement"})
    assert done.status_code == 201 and done.json()["status"] == "completed"
    seen = {}
    for change in of(pull_all(hub.url, agent.headers), "referral_event"):
        seen[(change["data"]["referral_id"], change["data"]["kind"])] = change["data"]
    assert seen[(a, "completed")]["outcome"] == "job_placement" and seen[(a, "completed")]["status"] == "completed"
    assert seen[(a, "enrolled")]["follow_up"] == "2026-04-01"
    assert seen[(b, "declined")]["reason"] == "other" and seen[(b, "declined")]["status"] == "declined"
    assert seen[(b, "declined")]["note"] == "déménagé à Bamako"
    assert {seen[(a, k)]["actor"] for k in ("accepted", "enrolled", "completed")} == {office.id}


# --- 4. directory edits -----------------------------------------------------------------------------------------


def test_an_office_edit_reaches_every_device_with_its_audit_and_a_supervisor_reverts_it(
    hub: HubProcess, supervisor: Device
) -> None:
    office, agent = hub.enrol("office", "kayes"), hub.enrol("agent", "kayes")
    segou, boss = hub.enrol("office", "segou"), hub.enrol("supervisor", None)
    cursors = {d.id: end_of(hub, d) for d in (office, agent, segou, boss)}
    org_url = f"directory/organizations/{KAYES_PARTNER}"
    original = get(hub, "directory/audit", supervisor, organization=KAYES_PARTNER).json()["items"]

    by_push = edit_payload(KAYES_PARTNER, [("contacts/0/phones", ["76 12 34 56"])], note="numéro du directeur")
    assert results(push(hub.url, office.headers, [op("directory_edit", by_push["id"], by_push)])) == [("applied", None)]
    by_api = edit_payload(KAYES_PARTNER, [("phones", ["+223 66.00.11.22"])])
    made = post(hub, f"{org_url}/edits", office, by_api)
    assert made.status_code == 201 and made.json() == {"id": by_api["id"], "result": "applied"}

    # the same edit id again is a duplicate, by push (another op id) and by the API; nothing more written
    after = dump_all(hub)
    assert results(push(hub.url, office.headers, [op("directory_edit", by_push["id"], by_push)])) == [
        ("duplicate", None)
    ]
    assert_only_ops_grew(after, dump_all(hub))
    after = dump_all(hub)
    again = post(hub, f"{org_url}/edits", office, by_api)
    assert again.status_code == 200 and again.json() == {"id": by_api["id"], "result": "duplicate"}
    assert dump_all(hub) == after

    for device in (office, agent, segou, boss):
        orgs = [c for c in of(pull_all(hub.url, device.headers, cursor=cursors[device.id]), "organization")]
        assert [c["id"] for c in orgs] == [KAYES_PARTNER, KAYES_PARTNER], device.role
        assert pairs(orgs[0]["data"]["contacts"][0]["phones"]) == [("76 12 34 56", "+22376123456")]
        assert pairs(orgs[1]["data"]["phones"]) == [("+223 66.00.11.22", "+22366001122")]
        assert orgs[1]["data"]["added_by"] == "office"
        audit_seen = of(pull_all(hub.url, device.headers, cursor=cursors[device.id]), "directory_audit")
        assert len(audit_seen) == (2 if device is boss else 0)

    audit = get(hub, "directory/audit", supervisor, organization=KAYES_PARTNER).json()["items"]
    new_rows = [r for r in audit if r["id"] not in {o["id"] for o in original}]
    rows = {r["edit_id"]: r for r in new_rows}
    assert set(rows) == {by_push["id"], by_api["id"]}
    contact = rows[by_push["id"]]
    assert (contact["field"], contact["device_id"], contact["role"], contact["note"]) == (
        "contacts/0/phones",
        office.id,
        "office",
        "numéro du directeur",
    )
    assert pairs(contact["before"]) == [("+223 75.37.91.71", "+22375379171")]
    assert pairs(contact["after"]) == [("76 12 34 56", "+22376123456")]
    assert dt.datetime.fromisoformat(contact["at"].replace("Z", "+00:00")) == dt.datetime.fromisoformat(by_push["at"])
    phones = rows[by_api["id"]]
    assert (phones["field"], phones["before"], phones["reverted_by"]) == ("phones", [], None)
    for who in (office, agent):
        assert get(hub, "directory/audit", who).status_code == 403

    # an office may not revert; a supervisor's device does, and the field is back as it was
    undo = edit_payload(KAYES_PARTNER, [], revert_of=contact["id"])
    before_refusal = dump_all(hub)
    refused = push(hub.url, office.headers, [op("directory_edit", undo["id"], undo)]).json()["results"][0]
    assert (refused["result"], refused["code"]) == ("rejected", "forbidden") and "revert" in refused["reason"]
    assert post(hub, f"{org_url}/edits", office, undo).status_code == 403
    assert dump_all(hub) == before_refusal
    assert results(push(hub.url, boss.headers, [op("directory_edit", undo["id"], undo)])) == [("applied", None)]
    restored = of(pull_all(hub.url, agent.headers, cursor=cursors[agent.id]), "organization")[-1]["data"]
    assert pairs(restored["contacts"][0]["phones"]) == [("+223 75.37.91.71", "+22375379171")]
    assert pairs(restored["phones"]) == [("+223 66.00.11.22", "+22366001122")]  # the other edit stays
    audit = {r["id"]: r for r in get(hub, "directory/audit", supervisor, organization=KAYES_PARTNER).json()["items"]}
    assert audit[contact["id"]]["reverted_by"] == undo["id"]
    (revert_row,) = [r for r in audit.values() if r["edit_id"] == undo["id"]]
    assert (revert_row["revert_of"], revert_row["role"], revert_row["device_id"]) == (
        contact["id"],
        "supervisor",
        boss.id,
    )
    assert (pairs(revert_row["before"]), pairs(revert_row["after"])) == (
        pairs(contact["after"]),
        pairs(contact["before"]),
    )
    assert audit[phones["id"]]["reverted_by"] is None


# --- 5. devices -------------------------------------------------------------------------------------------------


def test_device_reports_the_device_list_and_revocation(hub: HubProcess, supervisor: Device) -> None:
    agent, office, boss = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes"), hub.enrol("supervisor", None)
    victim, other_victim = hub.enrol("agent", "kayes"), hub.enrol("agent", "segou")
    cursor = end_of(hub, boss)
    report = post(hub, "devices/report", agent, {"pending": 3, "quarantined": 1, "app_version": "9.9.9", "cursor": 42})
    assert report.status_code == 200, report.text
    assert (report.json()["pending"], report.json()["quarantined"], report.json()["app_version"]) == (3, 1, "9.9.9")
    listed = get(hub, "devices", supervisor)
    assert listed.status_code == 200
    mine = {d["id"]: d for d in listed.json()}[agent.id]
    assert (mine["role"], mine["region"], mine["pending"], mine["quarantined"], mine["app_version"]) == (
        "agent",
        "kayes",
        3,
        1,
        "9.9.9",
    )
    synced = dt.datetime.fromisoformat(mine["last_sync_at"])
    assert abs(synced - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1) and mine["revoked_at"] is None
    assert supervisor.id not in {d["id"] for d in listed.json()}  # API tokens are not devices
    device_changes = of(pull_all(hub.url, boss.headers, cursor=cursor), "device")
    assert [(c["id"], c["data"]["pending"], c["data"]["app_version"]) for c in device_changes] == [
        (agent.id, 3, "9.9.9")
    ]
    for who in (office, agent):
        assert get(hub, "devices", who).status_code == 403
        assert post(hub, f"devices/{victim.id}/revoke", who, {}).status_code == 403
    before = dump_all(hub)
    assert post(
        hub, "devices/report", supervisor, {"pending": 0, "quarantined": 0, "app_version": "x"}
    ).status_code == (403)
    assert dump_all(hub) == before

    # revoked through the API
    revoked = post(hub, f"devices/{victim.id}/revoke", supervisor, {})
    assert revoked.status_code == 200 and revoked.json() == {"id": victim.id, "result": "revoked"}
    assert post(hub, f"devices/{victim.id}/revoke", supervisor, {}).json()["result"] == "already_revoked"
    assert post(hub, f"devices/{new_id()}/revoke", supervisor, {}).status_code == 404
    # and through a supervisor device's outbox; an agent's or an office's is refused
    revocation = {"device_id": other_victim.id, "at": dt.datetime.now(dt.UTC).isoformat(), "note": "perdue"}
    before = dump_all(hub)
    for who in (agent, office):
        answer = push(hub.url, who.headers, [op("device_revocation", other_victim.id, revocation)])
        assert results(answer) == [("rejected", "forbidden")]
    assert dump_all(hub) == before
    assert get(hub, "sync/pull", other_victim).status_code == 200
    assert results(push(hub.url, boss.headers, [op("device_revocation", other_victim.id, revocation)])) == [
        ("applied", None)
    ]
    unknown = {**revocation, "device_id": new_id()}
    assert results(push(hub.url, boss.headers, [op("device_revocation", unknown["device_id"], unknown)])) == [
        ("rejected", "unknown_entity")
    ]
    for gone in (victim, other_victim):
        assert get(hub, "sync/pull", gone).status_code == 401
        refused = post(hub, "devices/report", gone, {"pending": 0, "quarantined": 0, "app_version": "1"})
        assert refused.status_code == 401 and refused.json()["code"] == "revoked_token"
    # and on the hub host, as before: supervisors' devices learn of it the same way
    by_cli = hub.enrol("agent", "kayes")
    assert hub.cli("revoke", by_cli.id).stdout.strip() == f"revoked: {by_cli.id}"
    assert get(hub, "sync/pull", by_cli).status_code == 401
    shown = {d["id"]: d for d in get(hub, "devices", supervisor).json()}
    assert shown[victim.id]["revoked_at"] and shown[other_victim.id]["revoked_at"] and shown[by_cli.id]["revoked_at"]
    revoked_changes = [
        c for c in of(pull_all(hub.url, boss.headers, cursor=cursor), "device") if c["data"]["revoked_at"]
    ]
    assert {c["id"] for c in revoked_changes} == {victim.id, other_victim.id, by_cli.id}


# --- 6. the hub's command line and region names -----------------------------------------------------------------


def test_regions_in_any_case_and_accents_on_the_command_line_and_the_api(hub: HubProcess, supervisor: Device) -> None:
    for written, region in (("Kayes", "kayes"), ("kayes", "kayes"), ("Ségou", "segou"), ("segou", "segou"),
                            ("SEGOU", "segou")):  # fmt: skip
        code = hub.cli("enrol-code", "--role", "office", "--region", written).stdout.strip()
        enrolled = httpx.post(f"{hub.url}/api/v1/devices/enrol", json={"code": code})
        assert enrolled.status_code == 200 and enrolled.json()["region"] == region, written
    before = dump_all(hub)
    paris = hub.cli("enrol-code", "--role", "office", "--region", "paris", check=False)
    assert paris.returncode == 2 and "paris" in paris.stderr and paris.stdout == ""
    assert dump_all(hub) == before

    agent = hub.enrol("agent", "segou")
    segou_ids = refer(hub, agent, person("segou"), person("segou"))
    (kayes_id,) = refer(hub, agent, person("kayes"))
    for written in ("Ségou", "segou", "SÉGOU"):
        listed = get(hub, "referrals", supervisor, region=written, device=agent.id)
        assert listed.status_code == 200 and [i["id"] for i in listed.json()["items"]] == segou_ids, written
    unknown = get(hub, "referrals", supervisor, region="paris")
    assert unknown.status_code == 422 and unknown.json()["field"] == "region"

    every = json.loads(hub.cli("referral", "list", "--json").stdout)
    ours = {i["id"]: i for i in every if i["device_id"] == agent.id}
    assert set(ours) == {*segou_ids, kayes_id} and ours[kayes_id]["status"] == "sent"
    assert "person" not in ours[kayes_id] and ours[kayes_id]["service_id"] == SERVICES["kayes"][1]
    in_segou = json.loads(hub.cli("referral", "list", "--json", "--region", "Ségou").stdout)
    assert {i["region"] for i in in_segou} == {"segou"} and set(segou_ids) <= {i["id"] for i in in_segou}

    before = dump_all(hub)
    no_reason = hub.cli("referral", "event", kayes_id, "--kind", "declined", check=False)
    assert no_reason.returncode == 1 and "--reason" in no_reason.stderr and "Traceback" not in no_reason.stderr
    other = hub.cli("referral", "event", kayes_id, "--kind", "declined", "--reason", "other", check=False)
    assert other.returncode == 1 and "--note" in other.stderr
    no_outcome = hub.cli("referral", "event", kayes_id, "--kind", "completed", check=False)
    assert no_outcome.returncode == 1 and "--outcome" in no_outcome.stderr
    assert dump_all(hub) == before
    declined = hub.cli("referral", "event", kayes_id, "--kind", "declined", "--reason", "partner_full")
    assert declined.stdout.strip() == f"{kayes_id}: Declined"
    declined_list = {
        i["id"]: i for i in json.loads(hub.cli("referral", "list", "--json", "--status", "declined").stdout)
    }
    assert declined_list[kayes_id]["events"][-1]["reason"] == "partner_full"
