"""Directory upkeep and device revocation through a real hub process: an office's edit reaches every device with
an audit row that supervisors pull; a supervisor's revert undoes it everywhere; a revoked device is refused."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from field_app.casework import supervisor, upkeep
from field_app.directory.edits import regions_of
from field_app.domain.directory import Organization
from field_app.storage.database import open_db
from field_app.storage.paths import database_path
from tests.sync.hubproc import HubProcess, running_hub

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "FIELD_APP_LANG": "en", "PYTHONUNBUFFERED": "1"}


def field_app(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "field_app", *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=180
    )
    if ok:
        assert done.returncode == 0, f"field-app {' '.join(args)} → {done.returncode}\n{done.stderr}"
    return done


class Device:
    def __init__(self, hub: HubProcess, root: Path, name: str, role: str, region: str | None) -> None:
        self.data_dir = root / name
        code = hub.enrol_code(role, region)
        self.id = self("device", "enrol", "--hub", hub.url, "--code", code, "--name", name).stdout.strip()

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return field_app(*args, "--data-dir", str(self.data_dir), ok=ok)

    def sync(self, ok: bool = True) -> subprocess.CompletedProcess[str]:
        return self("sync", "--once", ok=ok)

    @contextlib.contextmanager
    def db(self) -> Iterator[Any]:
        db = open_db(database_path(self.data_dir))
        try:
            yield db
        finally:
            db.close()

    def org(self, org_id: str) -> Organization:
        with self.db() as db:
            return upkeep.load_organization(db, org_id)


@pytest.fixture(params=["sqlite", "postgresql"])
def hub(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HubProcess]:
    with running_hub(request.param, tmp_path) as process:
        yield process


def test_edit_audit_revert_and_revoke(hub: HubProcess, tmp_path: Path) -> None:
    office = Device(hub, tmp_path, "office-kayes", "office", "kayes")
    boss = Device(hub, tmp_path, "supervisor", "supervisor", None)
    agent = Device(hub, tmp_path, "agent-kayes", "agent", "kayes")
    with office.db() as db:
        orgs = [Organization.model_validate_json(r[0]) for r in db.execute("SELECT document FROM organizations")]
    mine = next(o for o in orgs if "kayes" in {r.value for r in regions_of(o)} and o.locations)
    other = next(o for o in orgs if "kayes" not in {r.value for r in regions_of(o)})

    office("directory", "edit", mine.id, "--set", "phones=76 12 34 56", "--note", "called them")
    refused = office("directory", "edit", other.id, "--set", "phones=76 12 34 57", ok=False)
    assert refused.returncode == 1 and refused.stderr.startswith("organization: ")
    office.sync()
    boss.sync()
    agent.sync()
    for device in (boss, agent):  # every device has the correction
        assert [p.e164 for p in device.org(mine.id).phones] == ["+22376123456"]
    with boss.db() as db:
        [row] = upkeep.audit(db, organization_id=mine.id)
    assert (row.field, row.role, row.device_id, row.note) == ("phones", "office", office.id, "called them")
    assert [p["e164"] for p in row.after] == ["+22376123456"]

    with boss.db() as db:
        upkeep.revert(db, row.id, note="wrong number", now=dt.datetime.now(dt.UTC))
    boss.sync()
    office.sync()
    assert office.org(mine.id).phones == mine.phones
    with boss.db() as db:
        lines = upkeep.audit(db, organization_id=mine.id)
    assert len(lines) == 2
    undo, first = lines
    assert undo.revert_of == row.id and first.reverted_by == undo.id

    # devices as they reported, and a revocation
    listed = json.loads(boss("supervisor", "devices", "--json").stdout)
    by_id = {d["id"]: d for d in listed}
    assert {office.id, agent.id, boss.id} <= set(by_id)
    assert by_id[office.id]["role"] == "office" and by_id[office.id]["region"] == "kayes"
    assert by_id[office.id]["last_sync_at"] is not None and by_id[office.id]["pending"] == 0
    with boss.db() as db:
        supervisor.revoke(db, agent.id, note="phone lost", now=dt.datetime.now(dt.UTC))
    boss.sync()
    listed = {d["id"]: d for d in json.loads(boss("supervisor", "devices", "--json").stdout)}
    assert listed[agent.id]["revoked_at"] is not None
    done = agent.sync(ok=False)
    assert done.returncode == 1, done.stdout + done.stderr  # the hub refuses a revoked device's token
