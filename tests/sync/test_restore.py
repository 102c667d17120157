"""Restores and total losses of the hub's database, end to end (issue 10, item 1): real hub processes on SQLite and
on PostgreSQL, the real `field-app hub backup/restore/new-epoch` commands (pg_dump/pg_restore on PostgreSQL), and
devices running the real sync engine on their own SQLite files: an agent's phone and an office's device.

Every test ends the same way: after one clean sync of each device (the agent, the office, the agent again for the
office's moves), the hub holds exactly the agent's referrals — none lost, none twice — with the same events and
status on both sides, and every status change the office made (before or after the backup) reached the phone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import sqlite_utils

from field_app.casework import office
from field_app.hub import setup
from field_app.storage import outbox, sync_state
from field_app.storage.referrals import list_referrals
from field_app.sync.client import HubClient
from field_app.sync.engine import SyncEngine, SyncReport, enrol
from field_app.sync.protocol import OpsDiffResponse
from tests.sync.hubproc import HubProcess, fresh_pg_database, hub_referrals
from tests.sync.test_faults import WORKFLOW_DETAILS, Device, assert_converged, make_device


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Hub:
    process: HubProcess
    engine: str
    work: Path

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def db(self) -> str:
        return self.process.db

    def token(self) -> str:
        return self.process.supervisor_token()

    def backup(self, name: str = "backup") -> Path:
        dest = self.work / (f"{name}.db" if self.engine == "sqlite" else f"{name}.dump")
        self.process.cli("backup", str(dest))
        assert dest.is_file() and dest.stat().st_size > 0
        return dest

    def restore(self, backup: Path) -> None:
        """The operator's restore: stop the hub, put the backup back, give it a new epoch, start again."""
        self.process.stop()
        if self.engine == "sqlite":
            self.process.cli("restore", str(backup))
        else:
            command = setup.pg_restore_command(self.db, backup)
            done = subprocess.run(
                command, env=setup.pg_environment(self.db), capture_output=True, text=True, timeout=120, check=False
            )
            assert done.returncode == 0, done.stderr
            self.process.cli("new-epoch")
        self.process.start()

    def restore_as_it_is(self, backup: Path) -> None:
        """A restore without `hub restore`/`new-epoch`: the file copied back, or pg_restore alone (same epoch)."""
        self.process.stop()
        if self.engine == "sqlite":
            for suffix in ("-wal", "-shm"):
                Path(self.db + suffix).unlink(missing_ok=True)
            Path(self.db).write_bytes(backup.read_bytes())
        else:
            done = subprocess.run(
                setup.pg_restore_command(self.db, backup),
                env=setup.pg_environment(self.db),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        self.process.start()

    def lose_everything(self) -> None:
        """A total loss: the hub comes back on a new, empty database (same address)."""
        self.process.stop()
        if self.engine == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(self.db + suffix).unlink(missing_ok=True)
        else:
            import psycopg

            parts = urlsplit(self.db)
            name = parts.path.lstrip("/")
            admin = urlunsplit(parts._replace(path="/postgres"))
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
        self.process.start()


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Hub]:
    logs = tmp_path / "hub"
    logs.mkdir()
    if request.param == "postgresql" and not os.environ.get("FIELD_APP_TEST_PG_URL"):
        pytest.skip("PostgreSQL tests skipped: FIELD_APP_TEST_PG_URL is not set")
    target = fresh_pg_database() if request.param == "postgresql" else contextlib.nullcontext(str(logs / "hub.db"))
    with target as db:
        process = HubProcess(db, logs).start()
        try:
            yield Hub(process, request.param, tmp_path)
        finally:
            process.stop()


@pytest.fixture(scope="module")
def services(built_db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in built_db.execute("SELECT id FROM services ORDER BY id LIMIT 5").fetchall()]


@pytest.fixture
def phones(hub: Hub, built_db: sqlite_utils.Database, services: list[str], tmp_path: Path) -> Iterator[Phones]:
    agent = make_device(built_db, tmp_path, hub.url, hub.process.enrol_code("agent", "kayes"), services)
    desk = make_device(built_db, tmp_path, hub.url, hub.process.enrol_code("office", "kayes"), services, seed=3)
    yield Phones(agent, desk)
    agent.db.close()
    desk.db.close()


@dataclass
class Phones:
    agent: Device
    desk: Device  # the Kayes office's device

    def move(self, referral_id: str, kind: str = "accepted") -> None:
        """The office moves a referral along on its own device (an outbox entry, sent at its next sync)."""
        office.move(self.desk.db, referral_id, kind, now=utc_now(), **WORKFLOW_DETAILS.get(kind, {}))  # type: ignore[arg-type]


def sync(device: Device, url: str) -> SyncReport:
    state = sync_state.require(device.db)  # the token may have changed (re-enrolment)
    with HubClient(url, token=state.token, timeout=httpx.Timeout(20.0)) as client:
        return SyncEngine(device.db, client).sync_once()


def statuses(device: Device) -> dict[str, str]:
    return {s.referral.id: s.status.value for s in list_referrals(device.db)}


def converge(hub: Hub, phones: Phones) -> list[SyncReport]:
    """One clean sync each: the agent (sends what the hub lacks), the office (its moves), the agent (gets them)."""
    reports = [sync(phones.agent, hub.url), sync(phones.desk, hub.url), sync(phones.agent, hub.url)]
    assert_converged(hub.url, hub.token(), [phones.agent])
    assert outbox.pending_count(phones.desk.db) == 0 and outbox.quarantined(phones.desk.db) == []
    return reports


# --- a restore from a backup, mid-run -------------------------------------------------------------------------


def test_a_restore_from_a_backup_is_noticed_and_healed(hub: Hub, phones: Phones) -> None:
    agent = phones.agent
    early = agent.queue(2)
    sync(agent, hub.url)
    sync(phones.desk, hub.url)  # the office holds both
    phones.move(early[0])  # accepted before the backup …
    sync(phones.desk, hub.url)
    epoch_before = sync_state.require(agent.db).epoch
    backup = hub.backup()

    late = agent.queue(2)  # … and after it: two referrals, a cancellation, two office moves
    sync(agent, hub.url)
    sync(phones.desk, hub.url)
    phones.move(late[0])
    phones.move(early[1], "declined")
    sync(phones.desk, hub.url)
    agent.queue(1)
    assert agent.cancel(4)
    sync(agent, hub.url)
    assert statuses(agent)[late[0]] == "accepted"
    assert outbox.pending_count(agent.db) == 0

    hub.restore(backup)
    held = {item["id"] for item in hub_referrals(hub.url, hub.token(), device=agent.device_id)}
    assert held == set(early)  # what the restore lost: 2 of the agent's 5 referrals, the office's 2 later moves

    agent.queue(1)  # queued after the restore: the first answer of the next sync is a push's, and it tells
    first = sync(agent, hub.url)
    assert first.requeued == 4  # 3 referrals and the cancellation (the office's moves are the office's to send)
    assert first.duplicates == 1  # the new one, applied by the push that told (not checkpointed), sent again
    state = sync_state.require(agent.db)
    assert state.trust.phase == sync_state.SYNCED and state.epoch not in (None, epoch_before)
    converge(hub, phones)
    final = statuses(agent)
    assert final[early[0]] == "accepted" and final[late[0]] == "accepted" and final[early[1]] == "declined"
    assert final[agent.made[4]] == "revoked"


def test_a_restore_by_copying_the_file_back_is_noticed_by_the_missing_op(hub: Hub, phones: Phones) -> None:
    """No `hub restore`, no new epoch: a backup copied back as it is (SQLite), or restored without `new-epoch`
    (PostgreSQL). The device's latest sent op is missing from the hub (`check`): it reconciles all the same."""
    agent = phones.agent
    agent.queue(2)
    sync(agent, hub.url)
    backup = hub.backup()
    agent.queue(3)
    sync(agent, hub.url)
    epoch = sync_state.require(agent.db).epoch

    hub.restore_as_it_is(backup)
    for _k in range(4):  # other devices fill the restored log past the agent's cursor: the head alone cannot tell
        other = phones.desk
        other.queue(1)  # an office refers in its own region too
        sync(other, hub.url)

    report = sync(agent, hub.url)
    assert report.requeued == 3
    assert sync_state.require(agent.db).epoch == epoch  # the same database epoch: the missing op told
    converge(hub, phones)


def test_a_head_below_the_cursor_is_noticed_when_nothing_of_the_device_was_lost(hub: Hub, phones: Phones) -> None:
    """The agent lost nothing (its latest sent op is in the backup) but it pulled the office's move made after
    the backup: its cursor is above the restored log's head. It pulls everything again; the office's device, whose
    move the hub lost, sends it again; the agent keeps the status."""
    agent = phones.agent
    made = agent.queue(2)
    sync(agent, hub.url)
    sync(phones.desk, hub.url)
    backup = hub.backup()
    phones.move(made[0])
    sync(phones.desk, hub.url)
    sync(agent, hub.url)
    cursor = sync_state.require(agent.db).cursor
    hub.restore_as_it_is(backup)

    report = sync(agent, hub.url)
    assert report.requeued == 0 and report.cursor < cursor  # the head told; the cursor is the restored log's
    assert sync_state.require(agent.db).trust.phase == sync_state.SYNCED
    desk = sync(phones.desk, hub.url)
    assert desk.requeued == 1  # the office's move, lost by the restore, sent again
    converge(hub, phones)
    assert statuses(agent)[made[0]] == "accepted"


def test_a_reconcile_cut_off_resumes_where_it_stopped(hub: Hub, phones: Phones) -> None:
    agent = phones.agent
    agent.queue(3)
    sync(agent, hub.url)
    backup = hub.backup()
    agent.queue(3)
    sync(agent, hub.url)
    hub.restore(backup)

    class CutAfterDiff(HubClient):
        def ops_diff(self, op_ids: Sequence[str]) -> OpsDiffResponse:
            answer = super().ops_diff(op_ids)
            if len(op_ids) > 1:  # the reconcile's diff (not a one-op check): the link drops right after its answer
                self.close()
            return answer

    state = sync_state.require(agent.db)
    with pytest.raises(Exception), CutAfterDiff(hub.url, token=state.token) as client:  # noqa: B017
        SyncEngine(agent.db, client).sync_once()
    state = sync_state.require(agent.db)
    assert state.trust.phase == sync_state.PULLING and state.cursor == 0  # the diff is done and recorded
    assert outbox.pending_count(agent.db) == 3
    report = sync(agent, hub.url)
    assert report.requeued == 0 and report.applied == 3
    assert sync_state.require(agent.db).trust.phase == sync_state.SYNCED
    converge(hub, phones)


def test_a_reconcile_cut_off_mid_diff_resumes_from_its_last_chunk(
    hub: Hub, phones: Phones, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ops diff goes in chunks, each recorded with what it put back in the queue: cut after the second chunk,
    the next sync asks only about the entries after it."""
    from field_app.sync import protocol

    monkeypatch.setattr(protocol, "MAX_DIFF", 2)  # chunks of 2 op ids instead of 1,000
    agent = phones.agent
    agent.queue(2)
    sync(agent, hub.url)  # 2 returnees + 2 referrals done
    backup = hub.backup()
    agent.queue(3)
    sync(agent, hub.url)  # 3 more done: 7 in all, 4 chunks
    hub.restore(backup)

    asked: list[list[str]] = []

    class CutAfterTwoChunks(HubClient):
        def ops_diff(self, op_ids: Sequence[str]) -> OpsDiffResponse:
            answer = super().ops_diff(op_ids)
            if len(op_ids) == 2:  # the reconcile's chunks (a lone op id is the engine's check)
                asked.append(list(op_ids))
                if len(asked) == 2:
                    self.close()  # the link drops after the second chunk's answer
            return answer

    state = sync_state.require(agent.db)
    with pytest.raises(Exception), CutAfterTwoChunks(hub.url, token=state.token) as client:  # noqa: B017
        SyncEngine(agent.db, client).sync_once()
    state = sync_state.require(agent.db)
    assert state.trust.phase == sync_state.DIFFING and state.trust.after > 0
    done_first = [op_id for chunk in asked for op_id in chunk]

    class Counting(HubClient):
        def ops_diff(self, op_ids: Sequence[str]) -> OpsDiffResponse:
            asked.append(list(op_ids))
            return super().ops_diff(op_ids)

    asked.clear()
    with Counting(hub.url, token=state.token) as client:
        report = SyncEngine(agent.db, client).sync_once()
    resumed = [op_id for chunk in asked for op_id in chunk]
    assert not set(resumed) & set(done_first)  # nothing asked twice
    assert report.applied == 3  # the 3 referrals the restore lost, found by the first chunks and the rest
    assert sync_state.require(agent.db).trust.phase == sync_state.SYNCED
    converge(hub, phones)


# --- a total loss and re-enrolment -------------------------------------------------------------------------------


def test_after_a_total_loss_and_re_enrolment_everything_goes_again(hub: Hub, phones: Phones) -> None:
    agent = phones.agent
    made = agent.queue(4)
    sync(agent, hub.url)
    sync(phones.desk, hub.url)
    phones.move(made[1])
    phones.move(made[2], "declined")
    sync(phones.desk, hub.url)
    agent.queue(1)
    assert agent.cancel(4)
    sync(agent, hub.url)
    old_hub_id, old_device = sync_state.require(agent.db).hub_id, agent.device_id

    hub.lose_everything()
    with pytest.raises(Exception):  # noqa: B017 - the new database knows no token
        sync(agent, hub.url)
    for device, role in ((agent, "agent"), (phones.desk, "office")):
        device.state = enrol(device.db, hub.url, hub.process.enrol_code(role, "kayes"))
    assert sync_state.require(agent.db).hub_id != old_hub_id and agent.device_id != old_device

    first = sync(agent, hub.url)
    assert first.requeued == 8  # its 2 returnees, 5 referrals and the cancellation
    converge(hub, phones)
    final = statuses(agent)
    assert final[made[1]] == "accepted" and final[made[2]] == "declined" and final[agent.made[4]] == "revoked"
    held = hub_referrals(hub.url, hub.token(), device=agent.device_id)
    assert sorted(item["id"] for item in held) == sorted(agent.made)


def test_entries_queued_under_an_old_device_id_go_with_the_new_one(hub: Hub, phones: Phones) -> None:
    """A device enrolled again (revoked, or unknown to a restored hub) has a new id: what it queued before names
    the old one as its events' actor, which the hub would refuse (`forbidden`). Enrolling rewrites them."""
    agent = phones.agent
    agent.queue(1)
    sync(agent, hub.url)
    old = agent.device_id
    hub.process.cli("revoke", old)
    late = agent.queue(1)[0]
    assert agent.cancel(1)  # queued here: created and revoked wait in the outbox, naming the old id
    with pytest.raises(Exception):  # noqa: B017 - the revoked token
        sync(agent, hub.url)
    agent.state = enrol(agent.db, hub.url, hub.process.enrol_code("agent", "kayes"))
    assert agent.device_id != old
    report = sync(agent, hub.url)
    assert report.rejected == 0 and outbox.quarantined(agent.db) == [] and outbox.pending_count(agent.db) == 0
    (item,) = hub_referrals(hub.url, hub.token(), device=agent.device_id)
    assert item["id"] == late and item["status"] == "revoked"
    assert [e["actor"] for e in item["events"] if e["kind"] == "revoked"] == [agent.device_id]


# --- the sync state's trust marks (no hub needed) -----------------------------------------------------------------


def test_trust_marks_round_trip_through_the_sync_state_row() -> None:
    epoch = "0b7f6c8e-3a51-4a57-9d8e-2f4c1b0a9e11"
    for trust in (
        sync_state.Trust(),
        sync_state.Trust(sync_state.SYNCED, epoch),
        sync_state.Trust(sync_state.DIFFING, epoch, 1234),
        sync_state.Trust(sync_state.DIFFING, None, 0),
        sync_state.Trust(sync_state.PULLING, epoch),
        sync_state.Trust(sync_state.PULLING, None),
    ):
        assert sync_state.Trust.decode(trust.encode()) == trust


def test_enrolling_again_keeps_the_trust_for_the_same_hub_and_reconciles_with_another(
    fresh_db: sqlite_utils.Database,
) -> None:
    def enrolled(hub_id: str, epoch: str | None) -> sync_state.SyncState:
        return sync_state.save_enrolment(
            fresh_db,
            hub_url="http://127.0.0.1:9",
            hub_id=hub_id,
            device_id="dev-1",
            token="secret",
            role="agent",
            region="kayes",
            now=utc_now(),
            epoch=epoch,
        )

    first = enrolled("hub-a", "epoch-1")
    assert first.trust == sync_state.Trust(sync_state.SYNCED, "epoch-1") and first.epoch == "epoch-1"
    with fresh_db.atomic():
        sync_state.set_cursor(fresh_db, 42)
    again = enrolled("hub-a", "epoch-2")  # the same hub, restored: the old epoch kept, so the first sync notices
    assert (again.cursor, again.trust) == (42, sync_state.Trust(sync_state.SYNCED, "epoch-1"))
    elsewhere = enrolled("hub-b", "epoch-9")  # another database (a total loss): reconcile from the start
    assert (elsewhere.cursor, elsewhere.trust) == (0, sync_state.Trust(sync_state.DIFFING, "epoch-9", 0))
    assert elsewhere.epoch is None
