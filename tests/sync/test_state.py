"""The device's sync state (migration 4) and what a failed sync records, on real SQLite files, no hub needed."""

from __future__ import annotations

import datetime as dt
import random
import socket
from pathlib import Path

import pytest
import sqlite_utils

from field_app.errors import SyncError
from field_app.storage import outbox, sync_state
from field_app.storage.database import open_db
from field_app.storage.migrations import applied_versions
from field_app.storage.sync_state import NotEnrolled
from field_app.sync import backoff
from field_app.sync.client import HubClient, HubUnreachable
from field_app.sync.engine import FAILED, STARTED, SyncEngine, SyncEvent, client_for, enrol, next_due

NOW = dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)


def enrolled(db: sqlite_utils.Database, hub_url: str = "http://127.0.0.1:9", hub_id: str = "hub-a") -> None:
    sync_state.save_enrolment(
        db, hub_url=hub_url, hub_id=hub_id, device_id="dev-1", token="secret", role="agent", region="kayes", now=NOW
    )


def free_port() -> int:
    """A port nothing listens on (bound then released): connecting to it is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_migration_4_adds_the_state_table_and_outbox_columns(fresh_db: sqlite_utils.Database) -> None:
    assert 4 in applied_versions(fresh_db)
    assert "sync_state" in fresh_db.table_names()
    assert {"error_code", "quarantined_at"} <= set(fresh_db["outbox"].columns_dict)
    assert sync_state.load(fresh_db) is None
    with pytest.raises(NotEnrolled):
        sync_state.require(fresh_db)
    with pytest.raises(NotEnrolled):
        client_for(fresh_db)


def test_enrolment_round_trips_and_survives_reopening(tmp_path: Path) -> None:
    db = open_db(tmp_path / "d.db")
    enrolled(db)
    sync_state.set_cursor(db, 42)
    db.close()
    state = sync_state.require(open_db(tmp_path / "d.db"))
    assert (state.hub_url, state.device_id, state.token, state.role, state.region) == (
        "http://127.0.0.1:9",
        "dev-1",
        "secret",
        "agent",
        "kayes",
    )
    assert state.cursor == 42 and state.failures == 0 and state.last_result is None


def test_enrolling_again_keeps_the_cursor_only_for_the_same_hub(fresh_db: sqlite_utils.Database) -> None:
    enrolled(fresh_db)
    sync_state.set_cursor(fresh_db, 42)
    enrolled(fresh_db, hub_id="hub-a")
    assert sync_state.require(fresh_db).cursor == 42
    enrolled(fresh_db, hub_id="hub-b")
    assert sync_state.require(fresh_db).cursor == 0
    assert fresh_db.execute("SELECT count(*) FROM sync_state").fetchone()[0] == 1


def test_success_clears_failures(fresh_db: sqlite_utils.Database) -> None:
    enrolled(fresh_db)
    sync_state.record_failure(fresh_db, now=NOW, result=sync_state.OFFLINE, error="x", next_attempt_at=NOW)
    assert sync_state.record_failure(fresh_db, now=NOW, result=sync_state.FAILED, error="y", next_attempt_at=NOW) == 2
    sync_state.record_success(fresh_db, now=NOW, report={"pushed": 3})
    state = sync_state.require(fresh_db)
    assert (state.failures, state.next_attempt_at, state.last_result, state.last_error) == (0, None, "ok", None)
    assert state.last_success_at == NOW and state.last_report == {"pushed": 3}


def test_next_due() -> None:
    assert next_due(None, NOW) is None
    base = sync_state.SyncState("u", "h", "d", "t", "agent", None, NOW)
    assert next_due(base, NOW) == NOW  # never synced: now
    ok = sync_state.SyncState("u", "h", "d", "t", "agent", None, NOW, last_attempt_at=NOW, last_result="ok")
    assert next_due(ok, NOW, interval_s=300) == NOW + dt.timedelta(minutes=5)
    later = NOW + dt.timedelta(seconds=37)
    failed = sync_state.SyncState(
        "u", "h", "d", "t", "agent", None, NOW, last_attempt_at=NOW, last_result="offline", next_attempt_at=later
    )
    assert next_due(failed, NOW) == later


def test_an_unreachable_hub_is_recorded_with_backoff(fresh_db: sqlite_utils.Database) -> None:
    """A real refused connection (nothing listens on the port): offline, failures counted, next try within the
    backoff ceiling, and the outbox untouched."""
    enrolled(fresh_db, hub_url=f"http://127.0.0.1:{free_port()}")
    outbox.enqueue(fresh_db, entity="returnee", entity_id="r1", op="upsert", payload={"x": 1}, now=NOW)
    events: list[SyncEvent] = []
    for failures in (1, 2, 3):
        with client_for(fresh_db) as client:
            engine = SyncEngine(fresh_db, client, lambda: NOW, random.Random(failures), listener=events.append)
            with pytest.raises(HubUnreachable):
                engine.sync_once()
        state = sync_state.require(fresh_db)
        assert state.failures == failures and state.last_result == sync_state.OFFLINE
        assert state.next_attempt_at is not None
        assert NOW <= state.next_attempt_at <= NOW + dt.timedelta(seconds=backoff.ceiling(failures))
    assert isinstance(HubUnreachable("x"), SyncError)
    assert [e.kind for e in events] == [STARTED, FAILED] * 3
    assert events[-1].result == sync_state.OFFLINE and events[-1].retry_at == state.next_attempt_at
    [entry] = outbox.entries(fresh_db)
    assert entry.state == "pending" and entry.attempts == 3


def test_enrol_needs_an_http_address(fresh_db: sqlite_utils.Database) -> None:
    with pytest.raises(SyncError):
        enrol(fresh_db, "hub.example:8700", "ABCDEFGH")
    with pytest.raises(HubUnreachable):
        enrol(fresh_db, f"http://127.0.0.1:{free_port()}", "ABCDEFGH")
    assert sync_state.load(fresh_db) is None


def test_a_client_is_a_context_manager() -> None:
    with HubClient("http://127.0.0.1:9/", token="t") as client:
        assert client.base_url == "http://127.0.0.1:9"
