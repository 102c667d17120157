"""Several hub processes on one PostgreSQL (the hub keeps no state of its own), and a database that goes away.

Skipped, with the reason, when FIELD_APP_TEST_PG_URL is unset or PostgreSQL is unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.hub.conftest import HubProcess, fresh_pg_database, pg_base_url
from tests.hub.ops import pull_all, push, referral, referral_op, results


@pytest.fixture(scope="module")
def two_hubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubProcess, HubProcess]]:
    tmp = tmp_path_factory.mktemp("two-hubs")
    with fresh_pg_database() as url:
        with ThreadPoolExecutor(2) as pool:  # started together: migrations and the seed must not race
            first, second = pool.map(lambda name: HubProcess(url, "postgres", tmp / f"{name}.log").start(), "ab")
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


def test_two_hubs_share_one_database(two_hubs: tuple[HubProcess, HubProcess]) -> None:
    a, b = two_hubs
    assert httpx.get(f"{a.url}/api/v1/info").json()["hub_id"] == httpx.get(f"{b.url}/api/v1/info").json()["hub_id"]
    rows = a.dump()
    assert len(rows["organizations"]) > 10  # seeded once
    assert len(rows["changes"]) == 0
    device = a.enrol()  # enrolled on one, known to both
    assert httpx.get(f"{b.url}/api/v1/sync/pull", headers=device.headers).status_code == 200


def test_pushes_alternating_between_hubs_store_each_referral_once(two_hubs: tuple[HubProcess, HubProcess]) -> None:
    a, b = two_hubs
    device = a.enrol()
    batches = [[referral_op(*referral("kayes")) for _ in range(10)] for _ in range(4)]
    for i, batch in enumerate(batches):  # each batch to one hub, then (the answer "lost") again to the other
        first, second = (a, b) if i % 2 == 0 else (b, a)
        assert set(results(push(first.url, device.headers, batch))) == {("applied", None)}
        assert set(results(push(second.url, device.headers, batch))) == {("duplicate", None)}
    # the same batch to both hubs at the same moment, several times
    racing = [referral_op(*referral("kayes")) for _ in range(20)]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda hub: results(push(hub.url, device.headers, racing)), [a, b, a, b, a, b]))
    for position in range(len(racing)):
        assert sorted(answer[position][0] for answer in answers) == ["applied"] + ["duplicate"] * 5

    pushed = {op["entity_id"] for batch in [*batches, racing] for op in batch}
    rows = b.dump()
    stored = [r for r in rows["referrals"] if r[1] in pushed]
    assert len(stored) == len(pushed) == 60
    assert len([r for r in rows["ops"] if r[2] == device.id]) == 60
    # each referral: one `referral` change, then its created and the hub's sent event, once each (a full pull: the
    # push answers carried them, so a plain pull leaves them out for this device)
    assert pull_all(a.url, device.headers) == []
    mine = pull_all(a.url, device.headers, full=True)
    assert len(mine) == 180 and len({(c["entity"], c["id"]) for c in mine}) == 180
    assert sorted(c["id"] for c in mine if c["entity"] == "referral") == sorted(pushed)
    assert [c["seq"] for c in pull_all(b.url, device.headers, full=True)] == [c["seq"] for c in mine]


def test_one_enrolment_code_enrols_one_device_across_hubs(two_hubs: tuple[HubProcess, HubProcess]) -> None:
    a, b = two_hubs
    code = a.code()
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda hub: httpx.post(f"{hub.url}/api/v1/devices/enrol", json={"code": code}).status_code, [a, b, a, b]
            )
        )
    assert sorted(answers) == [200, 401, 401, 401]


def test_a_database_that_goes_away_is_503_with_retry_after(tmp_path: Path) -> None:
    import psycopg

    with fresh_pg_database() as url:
        hub = HubProcess(url, "postgres", tmp_path / "hub.log").start()
        try:
            device = hub.enrol()
            hub.close_db()
            name = url.rsplit("/", 1)[1]
            with psycopg.connect(pg_base_url(), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            answer = push(hub.url, device.headers, [referral_op(*referral())])
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["Retry-After"]) > 0 and answer.json()["code"] == "unavailable"
            assert httpx.get(f"{hub.url}/api/v1/info").status_code == 200  # the hub itself is still up
        finally:
            hub.stop()
