"""`field-app hub --workers N`: N uvicorn worker processes behind one port, each with its own pool, on SQLite and
on PostgreSQL — concurrent devices' pushes all applied once, and an office pulls every referral once."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from field_app.hub import auth
from field_app.hub.db import open_hub_db, pool_size_for
from tests.hub.conftest import REPO, Device, database, free_port
from tests.hub.ops import pull_all, push, referral, referral_op, results


@contextlib.contextmanager
def workers_hub(target: str, log: Path, workers: int) -> Iterator[str]:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "field_app", "hub", "--db", target, "--port", str(port), "--workers", str(workers)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "FIELD_APP_LANG": "en"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/api/v1/info", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def enrol(target: str, url: str, role: str, region: str | None) -> Device:
    db = open_hub_db(target, migrate=False)
    try:
        with db.transaction() as tx:
            code = auth.make_enrol_code(tx, role=role, region=region, now=dt.datetime.now(dt.UTC))
    finally:
        db.close()
    body = httpx.post(f"{url}/api/v1/devices/enrol", json={"code": code}).json()
    return Device(body["device_id"], body["token"], body["role"], body["region"])


def test_pool_size_follows_the_workers() -> None:
    assert pool_size_for(1) == 16 and pool_size_for(4) == 16 and pool_size_for(9) == 10
    assert pool_size_for(40) == 2  # never below 2, whatever the count
    assert pool_size_for(4, hubs=3, max_connections=100) == 7  # three hub machines of four workers each


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_two_workers_take_concurrent_pushes_once_each(backend: str, tmp_path: Path) -> None:
    with database(backend, tmp_path) as target, workers_hub(target, tmp_path / "hub.log", 2) as url:
        agents = [enrol(target, url, "agent", "kayes") for _ in range(4)]
        office = enrol(target, url, "office", "kayes")
        batches = {a.id: [[referral_op(*referral("kayes")) for _ in range(10)] for _ in range(3)] for a in agents}

        def device(agent: Device) -> list[tuple[str, str | None]]:
            return [r for batch in batches[agent.id] for r in results(push(url, agent.headers, batch))]

        with ThreadPoolExecutor(len(agents)) as pool:
            answers = list(pool.map(device, agents))
        assert all(a == [("applied", None)] * 30 for a in answers)
        pushed = sorted(op["entity_id"] for bs in batches.values() for b in bs for op in b)
        seen = pull_all(url, office.headers)
        assert sorted(c["id"] for c in seen if c["entity"] == "referral") == pushed
        assert len({c["seq"] for c in seen}) == len(seen)
