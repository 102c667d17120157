"""Getting a hub database ready: where it is by default, migrations, the hub's id, the directory seed."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from field_app.hub import directory
from field_app.hub.db import HubDB, open_hub_db
from field_app.storage.paths import resolve_data_dir

HUB_DB_FILENAME = "hub.db"


def default_target(env: Mapping[str, str] | None = None) -> str:
    """FIELD_APP_HUB_DB, else `hub.db` in the data directory."""
    env = os.environ if env is None else env
    return env.get("FIELD_APP_HUB_DB") or str(resolve_data_dir(None, env) / HUB_DB_FILENAME)


def ensure_hub_id(db: HubDB) -> str:
    """The hub's id, made once and kept in the database (every process sharing it answers the same id)."""
    with db.transaction() as tx:
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('hub_id', ?) ON CONFLICT (key) DO NOTHING", [str(uuid.uuid4())]
        )
        row = tx.one("SELECT value FROM meta WHERE key = 'hub_id'")
        assert row is not None
        return str(row["value"])


@dataclass(frozen=True)
class Ready:
    db: HubDB
    hub_id: str
    seeded: int  # organisations loaded from db/ now (0 when the directory was already there)


def prepare(target: str | Path, *, seed: bool = True, db_dir: Path | None = None) -> Ready:
    """Open and migrate; with `seed`, load `db/` when the hub's directory is empty (in one transaction, under the
    change-log lock, so two processes starting together seed once)."""
    db = open_hub_db(target)
    hub_id = ensure_hub_id(db)
    seeded = 0
    if seed:
        with db.transaction() as tx:
            tx.lock_changes()
            if directory.is_empty(tx):
                seeded = directory.seed(tx, now=dt.datetime.now(dt.UTC), db_dir=db_dir)
    return Ready(db, hub_id, seeded)
