"""The directory version (issue 10, item 9): a device built from another `db/` than the hub's receives the
difference after one sync; a device already current makes no diff call.

Real processes: the hub runs as a process on 127.0.0.1 (SQLite, and PostgreSQL when FIELD_APP_TEST_PG_URL is
set), the device is the real sync engine on its own SQLite file, and every request goes through the fault proxy
(no faults) so that the test can count the diff calls. The "older" device directory is built from a copy of
`db/` with one organisation changed, one missing, one the hub no longer has, a place moved and a place the hub
does not have.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import random
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils
import yaml

from bench.faultproxy import FaultProxy
from field_app.directory import manifest
from field_app.directory.build import build_directory, content_hash
from field_app.directory.dataset import default_db_dir
from field_app.hub import directory, trust
from field_app.hub.db import open_hub_db
from field_app.hub.directory_sync import diff
from field_app.storage import sync_state
from field_app.storage.database import open_db
from field_app.sync.client import HubClient
from field_app.sync.engine import SyncEngine, enrol
from field_app.sync.protocol import DirectoryDiffRequest
from tests.sync.hubproc import HubProcess, fresh_pg_database

DIFF = "/api/v1/sync/directory/diff"
CHANGED_ORG = "afd"  # its description differs on the device
MISSING_ORG = "ame"  # the device's db/ does not have it
OLD_ORG = "zz-old-partner"  # only the device's db/ has it
OLD_PLACE = "zz-old-place"  # only the device's gazetteer has it


@dataclass
class Hub:
    process: HubProcess
    token: str  # a supervisor's

    @property
    def url(self) -> str:
        return self.process.url

    def version(self) -> str:
        """The hub's directory version, read from its database as the hub's answers read it."""
        db = open_hub_db(self.process.db, migrate=False)
        try:
            with db.transaction(readonly=True) as tx:
                return trust.directory_version(tx)
        finally:
            db.close()

    def document(self, org_id: str) -> dict[str, Any] | None:
        db = open_hub_db(self.process.db, migrate=False)
        try:
            with db.transaction(readonly=True) as tx:
                return directory.get_organization(tx, org_id)
        finally:
            db.close()


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


def moved_place() -> str:
    """A gazetteer place with at least one office on it (moving it moves those offices)."""
    for path in sorted((default_db_dir() / "organizations").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if doc["id"] not in (CHANGED_ORG, MISSING_ORG) and doc.get("locations"):
            return str(doc["locations"][0]["locality"])
    raise AssertionError("no organisation with an office in db/")


def older_db_dir(where: Path) -> Path:
    """A copy of db/ as an older app would ship it (see the module docstring)."""
    target = where / "db"
    shutil.copytree(default_db_dir(), target)
    orgs = target / "organizations"
    changed = yaml.safe_load((orgs / f"{CHANGED_ORG}.yaml").read_text(encoding="utf-8"))
    changed["description"] = "An older description, as the app shipped it last year."
    (orgs / f"{CHANGED_ORG}.yaml").write_text(yaml.safe_dump(changed, allow_unicode=True), encoding="utf-8")
    old = dict(changed, id=OLD_ORG, name="A partner the hub removed")
    (orgs / f"{OLD_ORG}.yaml").write_text(yaml.safe_dump(old, allow_unicode=True), encoding="utf-8")
    (orgs / f"{MISSING_ORG}.yaml").unlink()
    gazetteer = target / "gazetteer" / "localities.csv"
    rows = list(csv.DictReader(io.StringIO(gazetteer.read_text(encoding="utf-8"))))
    place = moved_place()
    for row in rows:
        if row["id"] == place:
            row["latitude"] = f"{float(row['latitude']) + 0.01:.5f}"
    extra = dict(rows[0], id=OLD_PLACE, name="Old place", alternate_names="")
    rows.append(extra)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    gazetteer.write_text(out.getvalue(), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def older_db(tmp_path_factory: pytest.TempPathFactory) -> sqlite_utils.Database:
    where = tmp_path_factory.mktemp("older")
    db = open_db(where / "field_app.db")
    build_directory(db, db_dir=older_db_dir(where))
    return db


def device_from(template: sqlite_utils.Database, where: Path, hub: Hub, url: str) -> sqlite_utils.Database:
    """A phone: a copy of `template` (SQLite backup), enrolled as an agent through `url`."""
    path = where / f"device-{uuid.uuid4().hex[:10]}.db"
    copy = sqlite3.connect(path)
    template.conn.backup(copy)
    copy.close()
    db = open_db(path)
    enrol(db, url, hub.process.enrol_code())
    return db


def sync(db: sqlite_utils.Database, url: str) -> None:
    with HubClient(url, token=sync_state.require(db).token, timeout=httpx.Timeout(20)) as client:
        SyncEngine(db, client, rng=random.Random(3)).sync_once()


def diff_calls(proxy: FaultProxy) -> int:
    return sum(1 for e in proxy.exchanges() if e.path.split("?")[0] == DIFF)


def document_of(db: sqlite_utils.Database, org_id: str) -> dict[str, Any] | None:
    import json

    row = db.execute("SELECT document FROM organizations WHERE id = ?", [org_id]).fetchone()
    return None if row is None else dict(json.loads(row[0]))


# --- the digest itself -----------------------------------------------------------------------------------------


def test_a_device_built_from_the_hubs_db_has_the_hubs_version(hub: Hub, built_db: sqlite_utils.Database) -> None:
    """The same `db/` on both sides gives the same digest: the device's hashes are the hub's."""
    assert manifest.local_version(built_db) == hub.version()
    organizations, localities = manifest.local_hashes(built_db)
    for org_id, digest in organizations.items():
        document = document_of(built_db, org_id)
        assert digest == content_hash(document)
    assert manifest.version_of(["o:a:1", "l:b:2"]) == trust.version_of(["l:b:2", "o:a:1"])
    assert len(localities) > 50


def test_the_version_in_meta_follows_every_directory_write(tmp_path: Path) -> None:
    """Seed, upsert, delete: the stored version is the one computed from the rows after each write."""
    db = open_hub_db(str(tmp_path / "hub.db"))
    now = dt.datetime.now(dt.UTC)
    try:
        with db.transaction() as tx:
            directory.seed(tx, now=now)
        with db.transaction() as tx:
            seeded = directory.stored_version(tx)
            assert seeded == directory.computed_version(tx) == trust.directory_version(tx)
            org = directory.get_organization(tx, CHANGED_ORG)
            assert org is not None
        from field_app.domain.directory import Organization

        with db.transaction() as tx:
            edited = Organization.model_validate({**org, "description": "Edited on the hub."})
            assert directory.put_organization(tx, edited, now=now).result == "updated"
        with db.transaction() as tx:
            updated = directory.stored_version(tx)
            assert updated == directory.computed_version(tx) != seeded
            assert directory.put_organization(tx, edited, now=now).result == "unchanged"
        with db.transaction() as tx:
            assert directory.stored_version(tx) == updated
            assert directory.delete_organization(tx, MISSING_ORG, now=now) is not None
        with db.transaction() as tx:
            assert directory.stored_version(tx) == directory.computed_version(tx) not in (seeded, updated)
    finally:
        db.close()


def test_the_diff_names_exactly_what_differs(hub: Hub, older_db: sqlite_utils.Database) -> None:
    """The hub's answer for the older device: places first, then organisations, then what the hub lacks."""
    db = open_hub_db(hub.process.db, migrate=False)
    try:
        with db.transaction(readonly=True) as tx:
            answer = diff(tx, manifest.diff_request(older_db))
            organizations, localities = hub_hashes(tx)
            current = diff(tx, DirectoryDiffRequest(organizations=organizations, localities=localities))
    finally:
        db.close()
    assert current.changes == [] and current.version == hub.version()
    got = [(c.entity, c.op, c.id) for c in answer.changes]
    assert got == [
        ("locality", "upsert", moved_place()),
        ("organization", "upsert", CHANGED_ORG),
        ("organization", "upsert", MISSING_ORG),
        ("organization", "delete", OLD_ORG),
        ("locality", "delete", OLD_PLACE),
    ]
    assert answer.version == hub.version()
    assert answer.changes[1].data == hub.document(CHANGED_ORG)


def hub_hashes(tx: Any) -> tuple[dict[str, str], dict[str, str]]:
    organizations = {r["id"]: r["content_hash"] for r in tx.all("SELECT id, content_hash FROM organizations")}
    localities = {r["id"]: r["content_hash"] for r in tx.all("SELECT id, content_hash FROM localities")}
    return organizations, localities


# --- through the sync --------------------------------------------------------------------------------------------


def test_an_older_device_receives_the_difference_after_one_sync(
    hub: Hub, proxy: FaultProxy, older_db: sqlite_utils.Database, tmp_path: Path
) -> None:
    db = device_from(older_db, tmp_path, hub, proxy.url)
    try:
        assert manifest.local_version(db) != hub.version()
        sync(db, proxy.url)
        assert diff_calls(proxy) == 1
        assert manifest.local_version(db) == hub.version()
        assert document_of(db, CHANGED_ORG) == hub.document(CHANGED_ORG)
        assert document_of(db, MISSING_ORG) == hub.document(MISSING_ORG)
        assert document_of(db, OLD_ORG) is None
        assert db.execute("SELECT count(*) FROM localities WHERE id = ?", [OLD_PLACE]).fetchone()[0] == 0
        # the per-item build ran: the added partner's services are searchable, the removed one's are gone
        found = db.execute(
            "SELECT count(*) FROM services_fts WHERE service_id LIKE ?", [f"{MISSING_ORG}/%"]
        ).fetchone()[0]
        assert found == len(hub.document(MISSING_ORG)["services"])  # type: ignore[index]
        assert db.execute("SELECT count(*) FROM services WHERE organization_id = ?", [OLD_ORG]).fetchone()[0] == 0
        before = diff_calls(proxy)
        sync(db, proxy.url)
        assert diff_calls(proxy) == before  # caught up: no second diff
    finally:
        db.close()


def test_a_current_device_makes_no_diff_call(
    hub: Hub, proxy: FaultProxy, built_db: sqlite_utils.Database, tmp_path: Path
) -> None:
    db = device_from(built_db, tmp_path, hub, proxy.url)
    try:
        sync(db, proxy.url)
        sync(db, proxy.url)
        assert diff_calls(proxy) == 0
        assert manifest.local_version(db) == hub.version()
    finally:
        db.close()


def test_the_diff_door_wants_a_token_and_bounded_ids(hub: Hub, built_db: sqlite_utils.Database, tmp_path: Path) -> None:
    url = f"{hub.url}{DIFF}"
    assert httpx.post(url, json={}, timeout=20).status_code == 401
    db = device_from(built_db, tmp_path, hub, hub.url)
    try:
        headers = {"Authorization": f"Bearer {sync_state.require(db).token}"}
        too_long = httpx.post(url, json={"organizations": {"x" * 81: "0" * 64}}, headers=headers, timeout=20)
        assert too_long.status_code == 422 and too_long.json()["code"]
        empty = httpx.post(url, json={}, headers=headers, timeout=20)  # a device with no directory at all
        assert empty.status_code == 200
        answer = empty.json()
        assert answer["version"] == hub.version()
        assert {c["op"] for c in answer["changes"]} == {"upsert"}
        assert len(answer["changes"]) == len(manifest.lines_of(*manifest.local_hashes(built_db)))
    finally:
        db.close()


def test_a_hub_correction_reaches_an_enrolled_device(
    hub: Hub, proxy: FaultProxy, built_db: sqlite_utils.Database, tmp_path: Path
) -> None:
    """A supervisor's correction on the hub (a change row that pulls carry): after one sync both versions are
    the same again. Runs last: it changes the module's hub."""
    db = device_from(built_db, tmp_path, hub, proxy.url)
    try:
        sync(db, proxy.url)
        document = hub.document(CHANGED_ORG)
        assert document is not None
        answer = httpx.put(
            f"{hub.url}/api/v1/directory/organizations/{CHANGED_ORG}",
            json={**document, "description": "Corrected by a supervisor."},
            headers={"Authorization": f"Bearer {hub.token}"},
            timeout=20,
        )
        assert answer.status_code == 200, answer.text
        assert manifest.local_version(db) != hub.version()
        sync(db, proxy.url)
        assert manifest.local_version(db) == hub.version()
        assert document_of(db, CHANGED_ORG) == hub.document(CHANGED_ORG)
    finally:
        db.close()
