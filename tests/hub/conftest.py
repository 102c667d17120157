"""The hub as a real process on 127.0.0.1, on SQLite and on PostgreSQL, driven over HTTP with httpx.

`hub` is one hub process per backend for the whole session (tests make their own devices and referrals, so they
do not see each other's data in their scope); `Hub.dump()` reads every table straight from the database, to check
that a refused request wrote nothing. PostgreSQL needs FIELD_APP_TEST_PG_URL (a role with CREATEDB): each session
creates `passerelle_t_<random>` and drops it after; without it those tests skip with the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from field_app.hub import auth
from field_app.hub.db import HubDB, open_hub_db

REPO = Path(__file__).resolve().parents[2]
TABLES = {
    "meta": "key",
    "enrol_codes": "code_hash",
    "devices": "id",
    "ops": "op_id",
    "returnees": "id",
    "referrals": "id",
    "referral_events": "id",
    "organizations": "id",
    "localities": "id",
    "changes": "seq",
}
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def hub_cli(target: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m field_app hub ARGS --db TARGET`, as on the hub host."""
    done = subprocess.run(
        [sys.executable, "-m", "field_app", "hub", *args, "--db", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "FIELD_APP_LANG": "en"},
    )
    if check and done.returncode != 0:
        raise AssertionError(f"hub {args} exited {done.returncode}: {done.stderr}")
    return done


@dataclass(frozen=True)
class Device:
    id: str
    token: str
    role: str
    region: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class HubProcess:
    """`python -m field_app hub --db TARGET --port N` and the helpers tests need around it."""

    def __init__(self, target: str, backend: str, log: Path):
        self.target = target
        self.backend = backend
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self._hub_db: HubDB | None = None

    def start(self) -> HubProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "field_app", "hub", "--db", self.target, "--port", str(self.port)],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "FIELD_APP_LANG": "en"},
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the hub exited {self.process.returncode}: {self.log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/api/v1/info", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"the hub did not answer in {START_TIMEOUT} s: {self.log.read_text()}")

    def close_db(self) -> None:
        """Close the test's own connection to the hub's database."""
        if self._hub_db is not None:
            self._hub_db.close()
            self._hub_db = None

    def stop(self) -> None:
        self.close_db()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return hub_cli(self.target, *args, check=check)

    def cli_code(self, role: str = "agent", region: str | None = "kayes") -> str:
        """An enrolment code from `field-app hub enrol-code` (its stdout: the code alone)."""
        return self.cli("enrol-code", "--role", role, *(["--region", region] if region else [])).stdout.strip()

    def cli_token(self, role: str = "supervisor", region: str | None = None) -> Device:
        """A token from `field-app hub token` (stdout: the token alone; stderr: its id)."""
        done = self.cli("token", "--role", role, *(["--region", region] if region else []))
        token_id = done.stderr.strip().rsplit(" ", 1)[-1]
        return Device(token_id, done.stdout.strip(), role, region)

    def _db(self) -> HubDB:
        """The hub's database opened from the test (quicker than a command per code; same functions)."""
        if self._hub_db is None:
            self._hub_db = open_hub_db(self.target, migrate=False)
        return self._hub_db

    def code(self, role: str = "agent", region: str | None = "kayes") -> str:
        with self._db().transaction() as tx:
            return auth.make_enrol_code(tx, role=role, region=region, now=dt.datetime.now(dt.UTC))

    def token(self, role: str = "supervisor", region: str | None = None) -> Device:
        with self._db().transaction() as tx:
            token_id, token = auth.make_api_token(tx, role=role, region=region, now=dt.datetime.now(dt.UTC))
        return Device(token_id, token, role, region)

    def enrol(self, role: str = "agent", region: str | None = "kayes") -> Device:
        response = httpx.post(f"{self.url}/api/v1/devices/enrol", json={"code": self.code(role, region)})
        assert response.status_code == 200, response.text
        body = response.json()
        return Device(body["device_id"], body["token"], body["role"], body["region"])

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every hub table, in key order."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        if self.backend == "sqlite":
            with contextlib.closing(sqlite3.connect(f"file:{self.target}?mode=ro", uri=True)) as conn:
                for table, key in TABLES.items():
                    out[table] = [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {key}")]
            return out
        import psycopg

        with psycopg.connect(self.target) as conn:
            for table, key in TABLES.items():
                out[table] = [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {key}")]
        return out


def pg_base_url() -> str:
    url = os.environ.get("FIELD_APP_TEST_PG_URL")
    if not url:
        pytest.skip("PostgreSQL hub tests skipped: FIELD_APP_TEST_PG_URL is not set")
    try:
        import psycopg
    except ImportError:
        pytest.skip("PostgreSQL hub tests skipped: psycopg is not installed (pip install -e '.[hub]')")
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL hub tests skipped: {url.split('@')[-1]} is unreachable ({exc})")
    return url


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A new empty database `passerelle_t_<random>` (dropped afterwards); its URL."""
    import psycopg

    base = pg_base_url()
    name = f"passerelle_t_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(base)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield str(tmp / "hub.db")
    else:
        with fresh_pg_database() as url:
            yield url


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    backend: str = request.param
    tmp = tmp_path_factory.mktemp(f"hub-{backend}")
    with database(backend, tmp) as target:
        process = HubProcess(target, backend, tmp / "hub.log").start()
        try:
            yield process
        finally:
            process.stop()


@pytest.fixture(scope="session")
def supervisor(hub: HubProcess) -> Device:
    return hub.token("supervisor")
