"""The hub's API end to end, on SQLite and PostgreSQL: enrolment, push, pull and its scopes, the supervisors' read
API, office events, revocation and directory corrections."""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
from pathlib import Path
from typing import Any

import httpx
import yaml

from field_app.directory.dataset import default_db_dir
from field_app.hub.referrals import sent_event_id
from field_app.sync.protocol import MAX_BATCH, MAX_BODY_BYTES, PROTOCOL_VERSION
from tests.hub.conftest import Device, HubProcess
from tests.hub.ops import event_op, new_id, pull_all, push, referral, referral_op, results, returnee, returnee_op


def referral_ids(changes: list[dict[str, Any]]) -> set[str]:
    return {c["data"]["referral_id"] for c in changes if c["entity"] == "referral_event"}


def push_referrals(hub: HubProcess, device: Device, regions: list[str]) -> list[str]:
    made = [referral(region) for region in regions]
    assert results(push(hub.url, device.headers, [referral_op(*m) for m in made])) == [("applied", None)] * len(made)
    return [m[0].id for m in made]


def list_all(hub: HubProcess, who: Device, **params: Any) -> list[dict[str, Any]]:
    """Follow `next` until null; every page within the limit."""
    items: list[dict[str, Any]] = []
    response = httpx.get(f"{hub.url}/api/v1/referrals", params=params, headers=who.headers)
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= int(params.get("limit", 50))
        items += page["items"]
        if page["next"] is None:
            return items
        response = httpx.get(page["next"], headers=who.headers)


def test_info_and_openapi(hub: HubProcess) -> None:
    info = httpx.get(f"{hub.url}/api/v1/info").json()
    assert info["protocol_version"] == PROTOCOL_VERSION
    assert info["max_body_bytes"] == MAX_BODY_BYTES and info["max_batch"] == MAX_BATCH
    assert "gzip" in info["capabilities"]
    assert abs(dt.datetime.fromisoformat(info["server_time"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    openapi = httpx.get(f"{hub.url}/openapi.json").json()
    paths = openapi["paths"]
    push_body = paths["/api/v1/sync/push"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert push_body == {"$ref": "#/components/schemas/PushRequest"}
    assert {"PushRequest", "Op", "PushResponse", "ReferralPage", "Problem"} <= set(openapi["components"]["schemas"])
    for path in ("/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/referrals", "/api/v1/referrals/{referral_id}"):
        assert path in paths
    assert httpx.get(f"{hub.url}/docs").status_code == 200


def test_an_enrolment_code_works_once(hub: HubProcess) -> None:
    code = hub.cli_code("agent", "kayes")
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", code)
    first = httpx.post(f"{hub.url}/api/v1/devices/enrol", json={"code": code, "device_name": "Tablette 3"})
    assert first.status_code == 200
    body = first.json()
    assert body["role"] == "agent" and body["region"] == "kayes" and len(body["token"]) >= 40
    before = hub.dump()
    again = httpx.post(f"{hub.url}/api/v1/devices/enrol", json={"code": code})
    assert again.status_code == 401 and again.json()["code"] == "bad_code"
    assert hub.dump() == before
    # typed loosely on a phone: lower case, without the dashes
    loose = hub.cli_code("office", "gao").replace("-", "").lower()
    office = httpx.post(f"{hub.url}/api/v1/devices/enrol", json={"code": loose}).json()
    assert (office["role"], office["region"]) == ("office", "gao")
    # the token authenticates; the code does not
    assert httpx.get(f"{hub.url}/api/v1/sync/pull", headers={"Authorization": f"Bearer {body['token']}"}).is_success
    assert httpx.get(f"{hub.url}/api/v1/sync/pull", headers={"Authorization": f"Bearer {code}"}).status_code == 401


def test_push_applied_then_duplicate_then_op_id_reused(hub: HubProcess) -> None:
    agent = hub.enrol()
    made, created = referral("kayes")
    op = referral_op(made, created)
    assert results(push(hub.url, agent.headers, [op])) == [("applied", None)]
    after_first = hub.dump()
    assert results(push(hub.url, agent.headers, [op])) == [("duplicate", None)]
    assert results(push(hub.url, agent.headers, [op], gzipped=False)) == [("duplicate", None)]
    assert hub.dump() == after_first
    other = {**op, "payload": {**op["payload"], "referral": {**op["payload"]["referral"], "note": "changed"}}}
    answer = push(hub.url, agent.headers, [other]).json()["results"][0]
    assert (answer["result"], answer["code"]) == ("rejected", "op_id_reused") and answer["reason"]
    assert hub.dump() == after_first
    # the same referral under a new op id (e.g. the device lost its outbox state) is not stored twice
    assert results(push(hub.url, agent.headers, [{**op, "op_id": "0" * 8 + op["op_id"][8:]}])) == [("duplicate", None)]
    sup = hub.token()
    item = httpx.get(f"{hub.url}/api/v1/referrals/{made.id}", headers=sup.headers).json()
    assert item["status"] == "sent" and [e["kind"] for e in item["events"]] == ["created", "sent"]
    assert item["device_id"] == agent.id and item["region"] == "kayes"


def test_a_batch_answers_every_op_and_applies_the_good_ones(hub: HubProcess) -> None:
    agent = hub.enrol()
    person = returnee()
    good, bad_made = referral("kayes"), referral("kayes")
    bad = referral_op(*bad_made)
    bad["payload"]["referral"]["consent_share_at"] = "yesterday"
    cancelled = referral("kayes")
    ops = [returnee_op(person), bad, referral_op(*good), referral_op(*cancelled), event_op(cancelled[0].id)]
    assert results(push(hub.url, agent.headers, ops)) == [
        ("applied", None),
        ("rejected", "invalid_payload"),
        ("applied", None),
        ("applied", None),
        ("applied", None),
    ]
    sup = hub.token()
    assert httpx.get(f"{hub.url}/api/v1/referrals/{bad_made[0].id}", headers=sup.headers).status_code == 404
    # cancelled on the phone before it reached the hub (same batch): revoked, and the hub does not mark it sent
    item = httpx.get(f"{hub.url}/api/v1/referrals/{cancelled[0].id}", headers=sup.headers).json()
    assert [e["kind"] for e in item["events"]] == ["created", "revoked"]
    assert (item["status"], item["flagged"]) == ("revoked", [])
    good_item = httpx.get(f"{hub.url}/api/v1/referrals/{good[0].id}", headers=sup.headers).json()
    assert [e["id"] for e in good_item["events"]] == [good[1].id, sent_event_id(good[0].id)]
    # cancelled offline after the hub had it (an old app, a clock): kept, and flagged for a supervisor
    late = event_op(good[0].id, at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert results(push(hub.url, agent.headers, [late])) == [("applied", None)]
    item = httpx.get(f"{hub.url}/api/v1/referrals/{good[0].id}", headers=sup.headers).json()
    assert (item["status"], item["flagged"]) == ("sent", [late["entity_id"]])
    # a corrected record (version 2) replaces it; an older version afterwards is refused
    v2 = person.model_copy(update={"version": 2, "trade_before": "maçon"})
    assert results(push(hub.url, agent.headers, [returnee_op(v2, base_version=1)])) == [("applied", None)]
    assert results(push(hub.url, agent.headers, [returnee_op(person)])) == [("rejected", "version_conflict")]
    # another device may not overwrite it
    other = hub.enrol()
    v3 = person.model_copy(update={"version": 3})
    assert results(push(hub.url, other.headers, [returnee_op(v3, base_version=2)])) == [("rejected", "forbidden")]


def test_pull_is_ordered_and_scoped(hub: HubProcess) -> None:
    agent_a, agent_b = hub.enrol("agent", "kayes"), hub.enrol("agent", "kayes")
    office_kayes, office_bamako = hub.enrol("office", "kayes"), hub.enrol("office", "bamako")
    supervisor_device = hub.enrol("supervisor", None)
    start = {d.id: pull_all(hub.url, d.headers)[-1:] for d in (office_kayes, office_bamako, supervisor_device)}
    a_ids = push_referrals(hub, agent_a, ["kayes", "kayes", "bamako"])
    b_ids = push_referrals(hub, agent_b, ["kayes", "gao"])

    # the push answers carried each agent's own referrals: a pull leaves them out, a full pull (after a
    # reconcile) has them
    assert referral_ids(pull_all(hub.url, agent_a.headers, limit=2)) == set()
    seen_a = pull_all(hub.url, agent_a.headers, limit=2, full=True)  # small pages: has_more and the cursor
    assert referral_ids(seen_a) == set(a_ids)
    assert referral_ids(pull_all(hub.url, agent_b.headers, full=True)) == set(b_ids)
    events_a = [c for c in seen_a if c["entity"] == "referral_event"]
    assert {c["data"]["kind"] for c in events_a} == {"created", "sent"}
    assert all(c["data"]["status"] == "sent" for c in events_a if c["data"]["kind"] == "sent")
    # each referral comes first as a `referral` change, without the person for an agent (it holds the record)
    firsts = [c for c in seen_a if c["entity"] == "referral"]
    assert {c["id"] for c in firsts} == set(a_ids) and all(c["data"]["person"] is None for c in firsts)

    def since_start(device: Device) -> set[str]:
        cursor = start[device.id][0]["seq"] if start[device.id] else 0
        return referral_ids(pull_all(hub.url, device.headers, cursor=cursor))

    assert since_start(office_kayes) == {a_ids[0], a_ids[1], b_ids[0]}
    assert since_start(office_bamako) == {a_ids[2]}
    assert since_start(supervisor_device) == set(a_ids) | set(b_ids)

    # a cursor at the end gives nothing and keeps the cursor
    end = pull_all(hub.url, agent_a.headers, full=True)[-1]["seq"]
    last = httpx.get(f"{hub.url}/api/v1/sync/pull", params={"cursor": end}, headers=agent_a.headers).json()
    last = last["next_cursor"]  # at or past `end` (rows out of this pull's scope may be stepped over)
    assert last >= end
    page = httpx.get(f"{hub.url}/api/v1/sync/pull", params={"cursor": last}, headers=agent_a.headers).json()
    assert {k: page[k] for k in ("changes", "next_cursor", "has_more", "missing")} == {
        "changes": [], "next_cursor": last, "has_more": False, "missing": []
    }  # fmt: skip
    assert page["state"]["head"] >= last and page["state"]["epoch"]  # the hub's state with every pull


def test_referral_read_api_filters_and_pages(hub: HubProcess, supervisor: Device) -> None:
    agent = hub.enrol()
    first = push_referrals(hub, agent, ["kayes", "bamako", "kayes"])
    since = dt.datetime.fromisoformat(httpx.get(f"{hub.url}/api/v1/info").json()["server_time"])
    second = push_referrals(hub, agent, ["gao", "kayes"])
    everything = list_all(hub, supervisor, device=agent.id, limit=2)
    assert [i["id"] for i in everything] == first + second
    assert all(i["status"] == "sent" and i["device_id"] == agent.id for i in everything)

    assert [i["id"] for i in list_all(hub, supervisor, device=agent.id, region="kayes", limit=1)] == [
        first[0],
        first[2],
        second[1],
    ]
    assert [i["id"] for i in list_all(hub, supervisor, device=agent.id, since=since.isoformat())] == second

    accepted = httpx.post(
        f"{hub.url}/api/v1/referrals/{first[1]}/events", json={"kind": "accepted"}, headers=supervisor.headers
    )
    assert accepted.status_code == 201
    assert [i["id"] for i in list_all(hub, supervisor, device=agent.id, status="accepted")] == [first[1]]
    assert [i["id"] for i in list_all(hub, supervisor, device=agent.id, since=since.isoformat())] == [
        first[1],
        *second,
    ]
    # an office reads its own region only, whatever it asks for
    office = hub.token("office", "gao")
    assert [i["id"] for i in list_all(hub, office, device=agent.id)] == [second[0]]
    assert list_all(hub, office, device=agent.id, region="kayes") == []
    assert httpx.get(f"{hub.url}/api/v1/referrals/{first[0]}", headers=office.headers).status_code == 404
    # agents do not use the read API
    assert httpx.get(f"{hub.url}/api/v1/referrals", headers=agent.headers).status_code == 403


def test_office_events_fold_and_reach_the_agent(hub: HubProcess) -> None:
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes")
    (rid,) = push_referrals(hub, agent, ["kayes"])
    url = f"{hub.url}/api/v1/referrals/{rid}/events"
    event = {"id": new_id(), "kind": "accepted", "note": "RDV"}

    other_office = hub.token("office", "bamako")
    made = httpx.post(url, json=event, headers=office.headers)
    assert made.status_code == 201 and made.json()["status"] == "accepted"
    before = hub.dump()
    again = httpx.post(url, json=event, headers=office.headers)
    assert again.status_code == 200 and again.json()["status"] == "accepted"
    clash = httpx.post(url, json={**event, "kind": "declined", "reason": "partner_full"}, headers=office.headers)
    assert clash.status_code == 409 and clash.json()["code"] == "conflict"
    declined = {"kind": "declined", "reason": "partner_full"}
    elsewhere = httpx.post(url, json=declined, headers=other_office.headers)
    read_elsewhere = httpx.get(url.removesuffix("/events"), headers=other_office.headers)
    # another region's referral: 404 for writing as for reading, the same words as for one that does not exist
    unknown = httpx.post(url.replace(made.json()["id"], new_id()), json=declined, headers=other_office.headers)
    assert elsewhere.status_code == read_elsewhere.status_code == unknown.status_code == 404
    assert elsewhere.json()["detail"].split()[:2] == unknown.json()["detail"].split()[:2] == ["no", "referral"]
    assert httpx.post(url, json=declined, headers=agent.headers).status_code == 403
    no_reason = httpx.post(url, json={"kind": "declined"}, headers=office.headers)
    assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
    assert hub.dump() == before

    done = hub.cli("referral", "event", rid, "--kind", "enrolled", "--note", "cohorte de mars")
    assert done.stdout.strip() == f"{rid}: Enrolled"
    late = hub.cli("referral", "event", rid, "--kind", "received")  # not allowed after enrolled: kept, flagged
    assert "flagged" in late.stdout

    def of_rid(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [c["data"] for c in changes if c["data"] and c["data"].get("referral_id") == rid]

    # the agent's push answer carried `created` and `sent`: its pull brings the office's moves; a full pull all
    assert [d["kind"] for d in of_rid(pull_all(hub.url, agent.headers))] == ["accepted", "enrolled", "received"]
    seen = of_rid(pull_all(hub.url, agent.headers, full=True))
    assert [d["kind"] for d in seen] == ["created", "sent", "accepted", "enrolled", "received"]
    assert seen[-1]["status"] == "enrolled" and seen[-1]["flagged"] == [seen[-1]["id"]]
    assert seen[2]["note"] == "RDV"
    unknown = hub.cli("referral", "event", "7d0e6c3a-0000-4000-8000-000000000000", "--kind", "accepted", check=False)
    assert unknown.returncode == 1 and "7d0e6c3a" in unknown.stderr


def test_a_revoked_device_gets_401(hub: HubProcess) -> None:
    agent = hub.enrol()
    assert httpx.get(f"{hub.url}/api/v1/sync/pull", headers=agent.headers).status_code == 200
    assert hub.cli("revoke", agent.id).stdout.strip() == f"revoked: {agent.id}"
    before = hub.dump()
    refused = push(hub.url, agent.headers, [referral_op(*referral())])
    assert refused.status_code == 401 and refused.json()["code"] == "revoked_token"
    assert httpx.get(f"{hub.url}/api/v1/sync/pull", headers=agent.headers).status_code == 401
    assert hub.dump() == before
    assert "already" in hub.cli("revoke", agent.id).stdout
    missing = hub.cli("revoke", "no-such-device", check=False)
    assert missing.returncode == 1 and "no-such-device" in missing.stderr
    sup = hub.cli_token()
    hub.cli("revoke", sup.id)
    assert httpx.get(f"{hub.url}/api/v1/referrals", headers=sup.headers).status_code == 401


def _organization(new_id: str, name: str) -> dict[str, Any]:
    raw = yaml.safe_load((default_db_dir() / "organizations" / "anpe-dr-kayes.yaml").read_text())
    as_json: dict[str, Any] = json.loads(json.dumps(raw, default=str))  # YAML dates → ISO text, as a client sends
    return as_json | {"id": new_id, "name": name}


def test_directory_corrections_reach_every_device(hub: HubProcess, supervisor: Device, tmp_path: Path) -> None:
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "mopti")
    cursors = {d.id: (pull_all(hub.url, d.headers) or [{"seq": 0}])[-1]["seq"] for d in (agent, office)}
    org_id = f"correction-{secrets.token_hex(3)}"
    file = tmp_path / "correction.yaml"
    file.write_text(yaml.safe_dump(_organization(org_id, "ANPE Kayes (annexe)"), allow_unicode=True))
    assert hub.cli("directory", "apply", str(file)).stdout.strip() == f"added: {org_id}"
    assert hub.cli("directory", "apply", str(file)).stdout.strip() == f"unchanged: {org_id}"
    assert hub.cli("directory", "apply", "--delete", org_id).stdout.strip() == f"deleted: {org_id}"

    api_id = org_id + "-api"
    url = f"{hub.url}/api/v1/directory/organizations/{api_id}"
    put = httpx.put(url, json=_organization(api_id, "Par l'API"), headers=supervisor.headers)
    assert put.status_code == 201 and put.json() == {"id": api_id, "result": "created"}
    same = httpx.put(url, json=_organization(api_id, "Par l'API"), headers=supervisor.headers)
    assert same.status_code == 200 and same.json()["result"] == "unchanged"
    assert httpx.put(url, json=_organization(api_id, "Renommée"), headers=supervisor.headers).json()["result"] == (
        "updated"
    )
    assert httpx.delete(url, headers=supervisor.headers).json() == {"id": api_id, "result": "deleted"}
    assert httpx.delete(url, headers=supervisor.headers).status_code == 404

    for device in (agent, office):
        seen = [
            (c["op"], c["id"], (c["data"] or {}).get("name"))
            for c in pull_all(hub.url, device.headers, cursor=cursors[device.id])
            if c["entity"] == "organization"
        ]
        assert seen == [
            ("upsert", org_id, "ANPE Kayes (annexe)"),
            ("delete", org_id, None),
            ("upsert", api_id, "Par l'API"),
            ("upsert", api_id, "Renommée"),
            ("delete", api_id, None),
        ]


def test_directory_refuses_bad_organisations_and_writes_nothing(
    hub: HubProcess, supervisor: Device, tmp_path: Path
) -> None:
    before = hub.dump()
    bad = _organization("bad-place", "X")
    bad["locations"][0]["locality"] = "atlantis"
    url = f"{hub.url}/api/v1/directory/organizations/bad-place"
    refused = httpx.put(url, json=bad, headers=supervisor.headers)
    assert refused.status_code == 422 and refused.json()["field"] == "locations[0].locality"
    wrong_id = httpx.put(url, json=_organization("other-id", "X"), headers=supervisor.headers)
    assert wrong_id.status_code == 422 and wrong_id.json()["field"] == "id"
    assert httpx.put(url, json={"id": "bad-place", "services": "many"}, headers=supervisor.headers).status_code == 422
    agent = hub.enrol()
    after_enrol = hub.dump()
    assert httpx.put(url, json=_organization("bad-place", "X"), headers=agent.headers).status_code == 403
    assert httpx.delete(
        f"{hub.url}/api/v1/directory/organizations/anpe-dr-kayes", headers=agent.headers
    ).status_code == (403)
    file = tmp_path / "bad-place.yaml"
    file.write_text(yaml.safe_dump(bad))
    cli = hub.cli("directory", "apply", str(file), check=False)
    assert cli.returncode == 1 and "locations[0].locality" in cli.stderr
    assert hub.dump() == after_enrol
    # enrolling wrote the device and its `device` change (for supervisors), and nothing else
    enrolment = [c for c in after_enrol["changes"] if c not in before["changes"]]
    assert [c[1] for c in enrolment] == ["device"]
    assert {k: v for k, v in after_enrol.items() if k not in ("devices", "enrol_codes", "changes")} == {
        k: v for k, v in before.items() if k not in ("devices", "enrol_codes", "changes")
    }
