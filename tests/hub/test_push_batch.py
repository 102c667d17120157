"""The hub's batched push (issue 10) on a real hub process, SQLite and PostgreSQL: per-op answers that carry the
referral's state, one bad op that fails nothing else, retries whose answers were lost, the hub's receipt order
against backdated events, the change log's order without a global lock (a row committed late is not skipped), and
two hub processes on one PostgreSQL under concurrent pushes."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from field_app.domain.referrals import EventKind, ReferralEvent
from field_app.hub import changes
from field_app.hub.db import open_hub_db
from tests.hub.conftest import Device, HubProcess, fresh_pg_database
from tests.hub.ops import NOW, event_op, new_id, pull_all, push, referral, referral_op, returnee, returnee_op


def answers(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"]["epoch"] and body["state"]["head"] >= 0  # every push answer carries the hub's state
    results: list[dict[str, Any]] = body["results"]
    return results


def kinds(answer: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in answer["events"]]


def ops_held(hub: HubProcess) -> set[str]:
    return {r[0] for r in hub.dump()["ops"]}


def test_one_batch_answers_every_op_with_the_referrals_state_and_a_retry_answers_the_same(hub: HubProcess) -> None:
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes")
    awa = returnee("kayes")
    made, created = referral("kayes")
    made = made.model_copy(update={"returnee_id": awa.id})
    created = created.model_copy(update={"referral_id": made.id})
    cancelled, cancelled_created = referral("kayes")
    revoked = ReferralEvent(id=new_id(), referral_id=cancelled.id, kind=EventKind.REVOKED, at=NOW)
    cancel_op = referral_op(cancelled, cancelled_created)
    cancel_op["payload"]["events"].append(revoked.model_dump(mode="json"))
    unknown_service, unknown_created = referral("kayes")
    bad_service = referral_op(
        unknown_service.model_copy(update={"service_id": "anpe-dr-kayes/no-such"}), unknown_created
    )
    twice, twice_created = referral("kayes")
    second_created = twice_created.model_copy(update={"id": new_id()})
    two_created = referral_op(twice, twice_created)
    two_created["payload"]["events"].append(second_created.model_dump(mode="json"))
    reused_event, _ = referral("kayes")  # a referral whose `created` reuses the id of another one's event
    clash = referral_op(reused_event, created.model_copy(update={"referral_id": reused_event.id}))
    batch = [
        returnee_op(awa),
        referral_op(made, created),
        bad_service,
        event_op(new_id()),  # an event for a referral the hub does not have
        cancel_op,
        two_created,
        clash,
        {**returnee_op(awa), "op_id": new_id(), "payload": {**awa.model_dump(mode="json"), "sex": "?"}},
    ]
    first = answers(push(hub.url, agent.headers, batch))
    assert [(a["result"], a["code"]) for a in first] == [
        ("applied", None),
        ("applied", None),
        ("rejected", "invalid_payload"),
        ("rejected", "unknown_entity"),
        ("applied", None),
        ("rejected", "invalid_payload"),
        ("rejected", "conflict"),
        ("rejected", "invalid_payload"),
    ]
    sent, cancelled_answer = first[1], first[4]
    assert (sent["status"], sent["flagged"], kinds(sent)) == ("sent", [], ["created", "sent"])
    assert sent["events"][0]["id"] == created.id and sent["events"][0]["received"] < sent["events"][1]["received"]
    assert (cancelled_answer["status"], kinds(cancelled_answer)) == ("revoked", ["created", "revoked"])  # no `sent`
    assert first[0]["status"] is None and first[0]["events"] == []  # a returnee's answer carries no referral
    held = ops_held(hub)
    rejected = {op["op_id"] for op, a in zip(batch, first, strict=True) if a["result"] == "rejected"}
    assert not rejected & held and {batch[0]["op_id"], batch[1]["op_id"], batch[4]["op_id"]} <= held

    # the answer was lost: the same batch again answers duplicate with the same state, and rejects the same ops
    again = answers(push(hub.url, agent.headers, batch))
    for before, after in zip(first, again, strict=True):
        if before["result"] == "rejected":
            assert (after["result"], after["code"]) == ("rejected", before["code"])
        else:
            assert after["result"] == "duplicate"
            assert {k: after[k] for k in ("status", "flagged", "events")} == {
                k: before[k] for k in ("status", "flagged", "events")
            }
    # the push answers carried this device's referral rows: a pull leaves them out, a full pull has them
    mine = {c["id"] for c in pull_all(hub.url, agent.headers) if c["entity"] in ("referral", "referral_event")}
    assert not mine & {made.id, cancelled.id, created.id}
    full = {c["id"] for c in pull_all(hub.url, agent.headers, full=True)}
    assert {made.id, cancelled.id, created.id, revoked.id} <= full
    seen = [c for c in pull_all(hub.url, office.headers) if c["entity"] == "referral_event"]
    ours = {c["data"]["id"]: c["data"] for c in seen if c["data"]["referral_id"] == made.id}
    assert [d["kind"] for d in sorted(ours.values(), key=lambda d: d["received"])] == ["created", "sent"]
    assert {d["received"] for d in ours.values()} == {e["received"] for e in sent["events"]}


def test_a_backdated_cancel_cannot_undo_the_offices_enrolled(hub: HubProcess, supervisor: Device) -> None:
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes")
    made, created = referral("kayes")
    (sent,) = answers(push(hub.url, agent.headers, [referral_op(made, created)]))
    assert sent["status"] == "sent"
    later = NOW + dt.timedelta(days=3)
    office_ops = [event_op(made.id, "accepted", later), event_op(made.id, "enrolled", later + dt.timedelta(days=1))]
    moved = answers(push(hub.url, office.headers, office_ops))
    assert [(a["result"], a["status"]) for a in moved] == [("applied", "enrolled")] * 2
    # the agent's phone cancels with its clock a week behind: dated before the referral even reached the hub
    backdated = event_op(made.id, "revoked", NOW - dt.timedelta(days=7))
    (answer,) = answers(push(hub.url, agent.headers, [backdated]))
    assert (answer["result"], answer["status"], answer["flagged"]) == ("applied", "enrolled", [backdated["entity_id"]])
    assert kinds(answer) == ["created", "sent", "accepted", "enrolled", "revoked"]  # hub order, not the clock's
    ranks = [e["received"] for e in answer["events"]]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
    read = httpx.get(f"{hub.url}/api/v1/referrals/{made.id}", headers=supervisor.headers).json()
    assert (read["status"], read["flagged"]) == ("enrolled", [backdated["entity_id"]])
    assert [e["kind"] for e in read["events"]] == kinds(answer)
    # the office learns of the cancel with the fold's verdict: still enrolled, the cancel flagged
    late = [c["data"] for c in pull_all(hub.url, office.headers) if c["id"] == backdated["entity_id"]]
    assert [(d["status"], d["flagged"]) for d in late] == [("enrolled", [backdated["entity_id"]])]


@pytest.fixture
def pg_hub(tmp_path: Path) -> Iterator[HubProcess]:
    with fresh_pg_database() as url:
        hub = HubProcess(url, "postgres", tmp_path / "hub.log").start()
        try:
            yield hub
        finally:
            hub.stop()


def test_a_change_row_committed_late_is_not_skipped_by_pullers(pg_hub: HubProcess) -> None:
    """PostgreSQL hands out insertion ids before commit: a transaction that inserted first and commits last must
    still reach a puller that pulled in between (SQLite serialises writers: no such interleaving there)."""
    agent, supervisor = pg_hub.enrol("agent", "kayes"), pg_hub.enrol("supervisor", None)
    cursor = max([c["seq"] for c in pull_all(pg_hub.url, supervisor.headers)], default=0)
    db = open_hub_db(pg_hub.target, migrate=False)
    try:
        slow = db.transaction()
        tx = slow.__enter__()  # a writer (another hub process, say) that inserted its row first...
        changes.append(tx, entity="device", entity_id=new_id(), op="upsert", data={"late": True}, now=NOW)
        pushed = [referral_op(*referral("kayes")) for _ in range(3)]
        assert [a["result"] for a in answers(push(pg_hub.url, agent.headers, pushed))] == ["applied"] * 3
        between = pull_all(pg_hub.url, supervisor.headers, cursor=cursor)
        assert {c["id"] for c in between if c["entity"] == "referral"} == {op["entity_id"] for op in pushed}
        assert not [c for c in between if c["entity"] == "device" and c["data"].get("late")]
        last = max(c["seq"] for c in between)
        page = httpx.get(f"{pg_hub.url}/api/v1/sync/pull", params={"cursor": last}, headers=supervisor.headers)
        cursor = page.json()["next_cursor"]  # where the device goes on from: at or past every row it could see
        slow.__exit__(None, None, None)  # ...and commits last
    finally:
        db.close()
    after = pull_all(pg_hub.url, supervisor.headers, cursor=cursor)
    assert [c["data"] for c in after if c["entity"] == "device" and c["data"].get("late")] == [{"late": True}]


def test_two_hubs_under_concurrent_pushes_lose_and_repeat_nothing(tmp_path: Path) -> None:
    """Devices pushing at once to two hub processes on one PostgreSQL while an office pulls all along: every
    referral stored once, every op answered once applied, and the office's cursor walk sees each row once."""
    with fresh_pg_database() as url:
        hubs = [HubProcess(url, "postgres", tmp_path / f"hub-{k}.log").start() for k in range(2)]
        try:
            agents = [hubs[0].enrol("agent", "kayes") for _ in range(6)]
            office = hubs[0].enrol("office", "kayes")
            batches = {a.id: [[referral_op(*referral("kayes")) for _ in range(20)] for _ in range(3)] for a in agents}
            done = threading.Event()
            walked: list[dict[str, Any]] = []

            def walk() -> None:
                cursor = 0
                while True:
                    finished = done.is_set()
                    page = pull_all(hubs[1].url, office.headers, cursor=cursor)
                    walked.extend(page)
                    cursor = max([cursor, *(c["seq"] for c in page)])
                    if finished:
                        return

            def device(k: int) -> list[str]:
                agent = agents[k]
                out = []
                for j, batch in enumerate(batches[agent.id]):
                    results = answers(push(hubs[(k + j) % 2].url, agent.headers, batch))
                    out += [r["result"] for r in results]
                return out

            puller = threading.Thread(target=walk)
            puller.start()
            with ThreadPoolExecutor(len(agents)) as pool:
                results = list(pool.map(device, range(len(agents))))
            done.set()
            puller.join(timeout=120)
            assert all(r == ["applied"] * 60 for r in results)
            pushed = {op["entity_id"] for bs in batches.values() for b in bs for op in b}
            stored = {r[1] for r in hubs[0].dump()["referrals"]}
            assert pushed <= stored and len(pushed) == 360
            seqs = [c["seq"] for c in walked]
            assert len(seqs) == len(set(seqs))  # no row twice
            referral_rows = [c["id"] for c in walked if c["entity"] == "referral"]
            assert sorted(referral_rows) == sorted(pushed)  # every referral once: none skipped
            sent = [c for c in walked if c["entity"] == "referral_event" and c["data"]["kind"] == "sent"]
            assert len(sent) == 360
        finally:
            for hub in hubs:
                hub.stop()
