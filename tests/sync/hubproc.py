"""The real hub as a child process for the end-to-end sync tests: start, stop, restart (same port, same database).

`HubProcess(db, log_dir)` runs `python -m field_app hub --db DB --host 127.0.0.1 --port N` and waits for
`GET /api/v1/info`; `restart()` stops it (SIGTERM, as an operator would) and starts it again on the same port and
database; `kill()` is a crash (SIGKILL). The hub's own commands (`enrol-code`, `token`, `referral event`) run as
`python -m field_app hub … --db DB`, as on the hub host. `fresh_pg_database()` makes a throw-away PostgreSQL
database from FIELD_APP_TEST_PG_URL, or skips the test with the reason.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from bench.faultproxy import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


def hub_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "field_app", "hub", *args]


def run_hub_cli(db: str, *args: str) -> str:
    """One hub subcommand (`enrol-code …`, `token …`, `referral event …`) against `db`; returns its stdout."""
    done = subprocess.run(
        hub_command(*args, "--db", db), cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"field-app hub {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


class HubProcess:
    """One hub process on 127.0.0.1; the port stays the same across restarts."""

    def __init__(self, db: str, log_dir: Path, *, port: int | None = None, name: str = "hub") -> None:
        self.db = db
        self.port = port or free_port()
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def start(self) -> HubProcess:
        assert self.process is None or self.process.poll() is not None, "already running"
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                hub_command("--db", self.db, "--host", "127.0.0.1", "--port", str(self.port)),
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/api/v1/info", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the hub did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop as an operator would (SIGTERM: the hub finishes what it is doing), SIGKILL after 15 s."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def kill(self) -> None:
        """A crash: SIGKILL, nothing finished."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def cli(self, *args: str) -> str:
        return run_hub_cli(self.db, *args)

    def enrol_code(self, role: str = "agent", region: str | None = "kayes") -> str:
        return self.cli("enrol-code", "--role", role, *(["--region", region] if region else []))

    def supervisor_token(self) -> str:
        return self.cli("token", "--role", "supervisor")

    def enrol_codes(self, n: int, role: str = "agent", region: str | None = "kayes") -> list[str]:
        """`n` one-time codes at once, made by the hub's own code (`field_app.hub.auth`, as `enrol-code` does) on
        the hub's database: the Hypothesis test enrols many devices, and a process per code costs 0.3 s."""
        import datetime as dt

        from field_app.hub import auth
        from field_app.hub.db import open_hub_db

        db = open_hub_db(self.db, migrate=False)
        try:
            with db.transaction() as tx:
                now = dt.datetime.now(dt.UTC)
                return [auth.make_enrol_code(tx, role=role, region=region, now=now) for _ in range(n)]
        finally:
            db.close()


def hub_referrals(base_url: str, token: str, **filters: str) -> list[dict[str, Any]]:
    """Every referral the supervisors' read API lists, following `next` until null."""
    items: list[dict[str, Any]] = []
    url: str | None = f"{base_url}/api/v1/referrals"
    params: dict[str, str] | None = dict(filters)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30, headers=headers) as client:
        while url is not None:
            response = client.get(url, params=params)
            response.raise_for_status()
            page = response.json()
            items.extend(page["items"])
            url = page["next"]
            if url is not None and url.startswith("/"):
                url = base_url + url
            params = None  # `next` carries everything
    return items


class PgUnavailable(Exception):
    """No PostgreSQL to test against (the reason says why)."""


@contextlib.contextmanager
def pg_database(base: str | None) -> Iterator[str]:
    """A new, empty PostgreSQL database made next to `base` (a URL whose role has CREATEDB), dropped after.
    PgUnavailable when `base` is None or the server cannot be reached."""
    if not base:
        raise PgUnavailable("FIELD_APP_TEST_PG_URL is not set")
    try:
        import psycopg
    except ImportError as exc:
        raise PgUnavailable("psycopg is not installed (pip install -e '.[hub]')") from exc
    name = f"passerelle_t_{secrets.token_hex(6)}"
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise PgUnavailable(f"cannot create a database at FIELD_APP_TEST_PG_URL ({exc})".strip()) from exc
    parts = urlsplit(base)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    finally:
        with psycopg.connect(base, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def fresh_pg_database() -> Iterator[str]:
    """`pg_database(FIELD_APP_TEST_PG_URL)` for a test, which is skipped (reason printed) without PostgreSQL."""
    with contextlib.ExitStack() as stack:
        try:
            url = stack.enter_context(pg_database(os.environ.get("FIELD_APP_TEST_PG_URL")))
        except PgUnavailable as exc:
            pytest.skip(f"PostgreSQL tests skipped: {exc}")
        yield url


@contextlib.contextmanager
def running_hub(engine: str, where: Path) -> Iterator[HubProcess]:
    """A started hub process on a fresh SQLite file in `where` or (engine "postgresql") a fresh PostgreSQL
    database (skips when none is configured); stopped afterwards. For `params=["sqlite", "postgresql"]` fixtures."""
    logs = where / "hub"
    logs.mkdir()
    target = fresh_pg_database() if engine == "postgresql" else contextlib.nullcontext(str(logs / "hub.db"))
    with target as db:
        process = HubProcess(db, logs).start()
        try:
            yield process
        finally:
            process.stop()
