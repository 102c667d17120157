"""Issue 10, item 5, case by case (real hub processes, SQLite and PostgreSQL): the inputs that gave a 500 — a cursor
of 2^63 or more, one crafted op in a push batch, JSON nested too deep or with an integer of thousands of digits,
numbers where dates belong — now get a 4xx with the documented Problem body, or a per-op rejection while the rest of
the batch goes through; an error message quotes at most a short prefix of the input; and an error nobody foresaw
(a table dropped under a running hub) is a 500 with the same Problem body, its log line without the request's data.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hub.conftest import HubProcess, database
from tests.hub.ops import event_op, new_id, push, referral, referral_op, returnee, returnee_op

MAX_WORDS = 400  # an error's `detail` stays short whatever the input


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) <= {"detail", "code", "field"} and body["detail"] and body["code"], body
    assert len(body["detail"]) < MAX_WORDS and len(body.get("field") or "") < MAX_WORDS, body
    return body


# --- integers out of range --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cursor", [2**63 - 1 + 1, 2**64, 10**30, -1])
def test_a_pull_cursor_out_of_range_is_a_422(hub: HubProcess, cursor: int) -> None:
    agent = hub.enrol()
    response = httpx.get(f"{hub.url}/api/v1/sync/pull", params={"cursor": cursor}, headers=agent.headers)
    assert problem(response, 422)["field"] == "cursor"


def test_the_largest_cursor_is_an_empty_page(hub: HubProcess) -> None:
    agent = hub.enrol()
    response = httpx.get(f"{hub.url}/api/v1/sync/pull", params={"cursor": 2**63 - 1}, headers=agent.headers)
    assert response.status_code == 200 and response.json()["changes"] == []


@pytest.mark.parametrize("position", [2**63, 10**30])
def test_a_read_cursor_out_of_range_is_a_422(hub: HubProcess, supervisor: Any, position: int) -> None:
    cursor = base64.urlsafe_b64encode(f"r{position}".encode()).decode().rstrip("=")
    response = httpx.get(f"{hub.url}/api/v1/referrals", params={"cursor": cursor}, headers=supervisor.headers)
    assert problem(response, 422)["field"] == "cursor"


def test_a_device_report_with_huge_counts_is_a_422(hub: HubProcess) -> None:
    agent = hub.enrol()
    for field in ("pending", "quarantined", "cursor"):
        body = {"pending": 1, "quarantined": 0, "app_version": "1.0", "cursor": 0} | {field: 2**40}
        response = httpx.post(f"{hub.url}/api/v1/devices/report", json=body, headers=agent.headers)
        assert problem(response, 422)["field"] == field


# --- one crafted op in a batch -----------------------------------------------------------------------------------

Craft = Callable[[dict[str, Any]], None]


def _events_at(value: str) -> Craft:
    return lambda p: p["events"][0].update(at=value)


def _referral(**changes: Any) -> Craft:
    return lambda p: p["referral"].update(changes)


CRAFTED: list[tuple[str, Craft]] = [
    ("a lone surrogate in a note", _referral(note="\ud800 x")),
    ("a NUL in a note", _referral(note="a\x00b")),
    ("a lone surrogate in a key", lambda p: p["referral"].update({"\udfff": 1})),
    ("a time before year 1 in UTC", _events_at("0001-01-01T00:00:00+05:00")),
    ("a time after 9999 in UTC", _events_at("9999-12-31T23:59:59-05:00")),
    ("a number for a time", lambda p: p["referral"].update(created_at=1_700_000_000)),
    ("a number as text for a time", _events_at("1700000000")),
    ("true for a time", lambda p: p["referral"].update(consent_share_at=True)),
    ("an event of junk", lambda p: p["events"].append({"a": [1, 2, 3]})),
    ("events not a list", lambda p: p.update(events={"x": 1})),
    ("a 100,000-character unknown key", lambda p: p["referral"].update({"k" * 100_000: 1})),
    ("a 100,000-character service id", _referral(service_id="s" * 100_000)),
    ("an integer of 1,000 digits", _referral(region=10**1000)),
    ("a nested list 500 deep", lambda p: p["referral"].update(note=json.loads("[" * 500 + "]" * 500))),
]


@pytest.mark.parametrize(("name", "craft"), CRAFTED, ids=[c[0] for c in CRAFTED])
def test_one_crafted_op_is_rejected_alone(hub: HubProcess, name: str, craft: Craft) -> None:
    agent = hub.enrol()
    good, also_good = referral_op(*referral()), referral_op(*referral())
    bad = referral_op(*referral())
    craft(bad["payload"])
    raw = json.dumps({"ops": [good, bad, also_good]}).encode()  # \ud800 goes as its JSON escape, as a device sends it
    response = httpx.post(
        f"{hub.url}/api/v1/sync/push", content=raw, headers={**agent.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text[:500]
    answers = response.json()["results"]
    assert [a["result"] for a in answers] == ["applied", "rejected", "applied"], answers
    assert answers[1]["code"] == "invalid_payload" and len(answers[1]["reason"]) < MAX_WORDS, answers[1]


def test_a_crafted_returnee_or_event_is_rejected_alone(hub: HubProcess) -> None:
    agent = hub.enrol()
    person = returnee()
    huge = returnee_op(person)
    huge["payload"]["version"] = 2**70
    made, created = referral()
    late = event_op(made.id)
    late["payload"]["at"] = "0001-01-01T00:00:00+01:00"
    ops = [referral_op(made, created), huge, late, returnee_op(returnee())]
    answers = push(hub.url, agent.headers, ops).json()["results"]
    assert [(a["result"], a["code"]) for a in answers] == [
        ("applied", None), ("rejected", "invalid_payload"), ("rejected", "invalid_payload"), ("applied", None)
    ], answers  # fmt: skip


# --- bodies that break the JSON reader -----------------------------------------------------------------------------

BROKEN_BODIES = {
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "an integer of 5,000 digits": b'{"ops": [' + b"1" * 5000 + b"]}",
    "not UTF-8": b'{"ops": ["\xff\xfe"]}',
    "truncated": b'{"ops": [',
}


@pytest.mark.parametrize("name", list(BROKEN_BODIES))
@pytest.mark.parametrize("path", ["sync/push", "devices/enrol", "devices/report"])
def test_a_body_that_is_not_json_is_a_400(hub: HubProcess, name: str, path: str) -> None:
    agent = hub.enrol()
    headers = {**agent.headers, "Content-Type": "application/json"}
    response = httpx.post(f"{hub.url}/api/v1/{path}", content=BROKEN_BODIES[name], headers=headers)
    assert response.status_code in (400, 422), response.text[:300]
    problem(response, response.status_code)


def test_numbers_where_dates_belong_on_the_api(hub: HubProcess, supervisor: Any) -> None:
    since = httpx.get(f"{hub.url}/api/v1/referrals", params={"since": "1700000000"}, headers=supervisor.headers)
    assert problem(since, 422)["field"] == "since"
    early = httpx.get(
        f"{hub.url}/api/v1/referrals", params={"since": "0001-01-01T00:00:00+05:00"}, headers=supervisor.headers
    )
    problem(early, 422)
    agent, office = hub.enrol("agent", "kayes"), hub.enrol("office", "kayes")
    made, created = referral()
    assert push(hub.url, agent.headers, [referral_op(made, created)]).json()["results"][0]["result"] == "applied"
    url = f"{hub.url}/api/v1/referrals/{made.id}/events"
    for body in ({"kind": "accepted", "at": 1_700_000_000}, {"kind": "accepted", "follow_up": 20_000}):
        assert problem(httpx.post(url, json=body, headers=office.headers), 422)["field"] in ("at", "follow_up")


def test_error_messages_quote_only_a_prefix_of_the_input(hub: HubProcess) -> None:
    key = "k" * 100_000
    enrol = httpx.post(f"{hub.url}/api/v1/devices/enrol", json={"code": "ABCD-EFGH-JKMN", key: 1})
    assert key[:200] not in json.dumps(problem(enrol, 422))
    region = httpx.get(f"{hub.url}/api/v1/referrals", params={"region": "x" * 40}, headers=hub.token().headers)
    assert "x" * 61 not in problem(region, 422)["detail"]


# --- the unforeseen: a 500, with the Problem body ------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def breakable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubProcess]:
    """A hub of its own (this test breaks its database)."""
    with database(request.param, tmp_path) as target:
        process = HubProcess(target, request.param, tmp_path / "hub.log").start()
        try:
            yield process
        finally:
            process.stop()


def _drop(hub: HubProcess, table: str) -> None:
    if hub.backend == "sqlite":
        with contextlib.closing(sqlite3.connect(hub.target)) as conn:
            conn.execute(f"DROP TABLE {table}")
            conn.commit()
        return
    import psycopg

    with psycopg.connect(hub.target, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {table}")


def test_an_unexpected_error_is_a_500_with_the_problem_body(breakable: HubProcess) -> None:
    boss = breakable.token("supervisor")
    assert httpx.get(f"{breakable.url}/api/v1/access-log", headers=boss.headers).status_code == 200
    _drop(breakable, "access_log")
    _drop(breakable, "enrol_codes")
    body = problem(httpx.get(f"{breakable.url}/api/v1/access-log", headers=boss.headers), 500)
    assert body["code"] == "internal_error"
    secret = "Fatoumata Keita " + new_id()
    enrol = {"code": "ABCD-EFGH-JKMN", "device_name": secret}
    assert problem(httpx.post(f"{breakable.url}/api/v1/devices/enrol", json=enrol), 500)["code"] == "internal_error"
    log = breakable.log.read_text()
    assert "unexpected" in log and "/api/v1/access-log" in log and "/api/v1/devices/enrol" in log
    assert secret not in log and "Fatoumata" not in log
    assert httpx.get(f"{breakable.url}/api/v1/info").status_code == 200  # the rest of the hub still answers
