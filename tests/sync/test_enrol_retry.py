"""Idempotent enrolment (issue 10, item 2), against a real hub process on SQLite and on PostgreSQL, through the
fault proxy: the hub enrols the device, the answer is lost on the link, the retry with the same code succeeds —
one device row on the hub, the device's token works, the stored attempt is gone. Another device trying a spent
code is still refused, and so is a retry for a device that was revoked meanwhile.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils

from bench.faultproxy import Fault, FaultProxy
from field_app.errors import AuthError, SyncError
from field_app.storage import enrolment as attempts
from field_app.storage import sync_state
from field_app.storage.database import open_db
from field_app.sync.client import HubClient, HubUnreachable
from field_app.sync.engine import enrol
from field_app.sync.enrolment import enrol as enrol_itself
from tests.sync.hubproc import HubProcess, fresh_pg_database

ENROL = "/api/v1/devices/enrol"


@dataclass
class Hub:
    process: HubProcess
    token: str  # a supervisor's: the device list

    def devices(self, name: str) -> list[dict[str, Any]]:
        """The enrolled devices called `name` (every test names its phones uniquely)."""
        answer = httpx.get(
            f"{self.process.url}/api/v1/devices", headers={"Authorization": f"Bearer {self.token}"}, timeout=30
        )
        answer.raise_for_status()
        return [d for d in answer.json() if d["name"] == name]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    logs = tmp_path_factory.mktemp("hub-logs")
    target = fresh_pg_database() if request.param == "postgresql" else contextlib.nullcontext(str(logs / "hub.db"))
    with target as db:
        process = HubProcess(db, logs).start()
        try:
            yield Hub(process, process.supervisor_token())
        finally:
            process.stop()


@pytest.fixture
def proxy(hub: Hub) -> Iterator[FaultProxy]:
    with FaultProxy(hub.process.address) as proxy:
        yield proxy


@pytest.fixture
def phone(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    db = open_db(tmp_path / "phone.db")
    yield db
    db.close()


def a_name() -> str:
    return f"phone-{secrets.token_hex(4)}"


def token_works(url: str, db: sqlite_utils.Database) -> bool:
    state = sync_state.require(db)
    with HubClient(url, token=state.token) as client:
        client.pull(0, 1)  # AuthError if the hub does not know the token
    return True


def test_a_lost_answer_then_a_retry_gives_the_same_device_once(
    hub: Hub, proxy: FaultProxy, phone: sqlite_utils.Database
) -> None:
    code, name = hub.process.enrol_code("agent", "kayes"), a_name()
    proxy.add(Fault("drop_after_response", path=ENROL))
    with pytest.raises(HubUnreachable):
        enrol(phone, proxy.url, code, device_name=name)
    [stored] = attempts.pending(phone)  # made and kept before the first attempt
    assert stored.hub_url == proxy.url
    assert sync_state.load(phone) is None
    [made] = hub.devices(name)  # the hub did enrol the phone: the answer was lost after its commit

    state = enrol(phone, proxy.url, code, device_name=name)  # the person presses "Connect" again

    assert state.device_id == made["id"]
    assert [d["id"] for d in hub.devices(name)] == [made["id"]], "a second device row"
    assert attempts.pending(phone) == [], "the attempt is forgotten once enrolled"
    assert token_works(proxy.url, phone)
    tries = [e for e in proxy.exchanges() if e.path.startswith(ENROL)]
    assert [e.upstream_statuses for e in tries] == [(200,), (200,)]  # the hub said yes twice, to one request id
    assert [e.client_status for e in tries] == [None, 200]


def test_one_call_retries_by_itself_when_asked_to(hub: Hub, proxy: FaultProxy, phone: sqlite_utils.Database) -> None:
    code, name = hub.process.enrol_code("office", "segou"), a_name()
    proxy.add(Fault("drop_after_response", path=ENROL))
    pauses: list[float] = []
    state = enrol_itself(phone, proxy.url, code, device_name=name, attempts=2, sleep=pauses.append)
    assert pauses == [1.0]
    assert (state.role, state.region) == ("office", "segou")
    assert [d["id"] for d in hub.devices(name)] == [state.device_id]
    assert token_works(proxy.url, phone)


def test_every_attempt_lost_leaves_the_request_id_for_later(
    hub: Hub, proxy: FaultProxy, phone: sqlite_utils.Database
) -> None:
    code, name = hub.process.enrol_code("agent", "kayes"), a_name()
    proxy.add(Fault("drop_after_response", path=ENROL), Fault("drop_before", path=ENROL))
    with pytest.raises(SyncError):
        enrol_itself(phone, proxy.url, code, device_name=name, attempts=2, sleep=lambda s: None)
    [kept] = attempts.pending(phone)
    assert attempts.get(phone, code) == kept
    assert attempts.get(phone, code.lower().replace("-", " ")) == kept  # the code as the hub reads it
    state = enrol(phone, hub.process.url, code, device_name=name)  # later, even straight to the hub
    assert [d["id"] for d in hub.devices(name)] == [state.device_id]


def test_a_spent_code_stays_refused_to_another_request(
    hub: Hub, proxy: FaultProxy, phone: sqlite_utils.Database, tmp_path: Path
) -> None:
    code, name = hub.process.enrol_code("agent", "kayes"), a_name()
    state = enrol(phone, proxy.url, code, device_name=name)
    other = open_db(tmp_path / "other.db")
    try:
        with pytest.raises(AuthError):
            enrol(other, proxy.url, code, device_name=name)
        assert sync_state.load(other) is None
    finally:
        other.close()
    with pytest.raises(AuthError):  # this phone too: its attempt was done, a new one has a new request id
        enrol(phone, proxy.url, code, device_name=name)
    assert [d["id"] for d in hub.devices(name)] == [state.device_id]
    assert token_works(proxy.url, phone)  # a refused attempt changes nothing


def test_a_revoked_device_is_not_given_a_new_token(hub: Hub, proxy: FaultProxy, phone: sqlite_utils.Database) -> None:
    code, name = hub.process.enrol_code("agent", "kayes"), a_name()
    proxy.add(Fault("drop_after_response", path=ENROL))
    with pytest.raises(HubUnreachable):
        enrol(phone, proxy.url, code, device_name=name)
    [made] = hub.devices(name)
    hub.process.cli("revoke", made["id"])
    with pytest.raises(AuthError):
        enrol(phone, proxy.url, code, device_name=name)
    assert sync_state.load(phone) is None
    assert [d["id"] for d in hub.devices(name)] == [made["id"]]


def test_the_hub_answer_to_a_retry(hub: Hub) -> None:
    """At the hub's door: the same request id → the same device, a new token (the old one is dead), the database's
    epoch and directory version; no request id, or another one → 401 with the same words as an unknown code."""
    url, code, request_id = f"{hub.process.url}{ENROL}", hub.process.enrol_code("agent", "kayes"), str(uuid.uuid4())
    first = httpx.post(url, json={"code": code, "request_id": request_id, "device_name": "x"}, timeout=30)
    again = httpx.post(url, json={"code": code.lower(), "request_id": request_id}, timeout=30)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    one, two = first.json(), again.json()
    assert one["device_id"] == two["device_id"] and one["token"] != two["token"]
    assert one["epoch"] and one["epoch"] == two["epoch"] and len(one["directory_version"]) >= 16
    with HubClient(hub.process.url, token=one["token"]) as old, pytest.raises(AuthError):
        old.pull(0, 1)
    with HubClient(hub.process.url, token=two["token"]) as new:
        new.pull(0, 1)
    unknown = httpx.post(url, json={"code": "ABCD-EFGH-JKLM", "request_id": request_id}, timeout=30)
    for body in ({"code": code}, {"code": code, "request_id": str(uuid.uuid4())}):
        refused = httpx.post(url, json=body, timeout=30)
        assert refused.status_code == 401 and refused.json() == unknown.json(), refused.text


def test_the_stored_attempt_itself(phone: sqlite_utils.Database) -> None:
    """One request id per code (as the hub reads the code), kept across hub addresses, dropped after KEEP_FOR;
    the code itself is never stored."""
    import datetime as dt

    ids = iter(["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"])
    then = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = attempts.begin(phone, "ABCD-EFGH-JKLM", "http://a", now=then, new_id=lambda: next(ids))
    assert attempts.begin(phone, "abcd efgh jklm", "http://b", now=then, new_id=lambda: next(ids)) == first
    [kept] = attempts.pending(phone)
    assert (kept.hub_url, kept.request_id) == ("http://b", first)
    assert "ABCD" not in repr(phone.execute("SELECT * FROM enrol_attempts").fetchall())
    later = then + attempts.KEEP_FOR + dt.timedelta(seconds=1)
    second = attempts.begin(phone, "ZZZZ-EFGH-JKLM", "http://a", now=later, new_id=lambda: next(ids))
    assert second != first and [a.request_id for a in attempts.pending(phone)] == [second]
    attempts.forget(phone, "zzzz-efgh-jklm")
    assert attempts.pending(phone) == []
