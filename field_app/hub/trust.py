"""What lets a device trust the hub's answers across restores and replacements (issue 10): the database's epoch,
the change log's head, the directory's version, and which of a device's op ids the hub holds.

- The **epoch** is a random id kept in `meta` (key `epoch`). A new database makes one; `field-app hub restore`
  and `field-app hub new-epoch` (after a `pg_restore`) make a new one. Every push and pull answer carries it
  (`HubState`), so a device notices, at its next sync, that the hub it talks to is not the database it last
  synced with, and reconciles (`POST /sync/ops/diff`, then a pull from 0).
- The **head** is the latest change position: a device whose cursor is above it knows the log it pulled from is
  gone (a restore nobody announced), and reconciles too.
- The **directory version** is a digest of every organisation's and locality's id and content hash: a device
  whose digest differs asks for the difference (`POST /sync/directory/diff`).

Use cases here run inside the caller's transaction (`Tx`) and know nothing of HTTP.
"""

from __future__ import annotations

import hashlib
import uuid

from field_app.hub.db import Tx
from field_app.sync.protocol import HubState

EPOCH_KEY = "epoch"


def epoch(tx: Tx) -> str:
    """This database's epoch (made on first use: a database from before issue 10 gets one at its first answer)."""
    row = tx.one("SELECT value FROM meta WHERE key = ?", [EPOCH_KEY])
    if row is not None:
        return str(row["value"])
    tx.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", [EPOCH_KEY, _new()])
    row = tx.one("SELECT value FROM meta WHERE key = ?", [EPOCH_KEY])
    assert row is not None
    return str(row["value"])


def new_epoch(tx: Tx) -> str:
    """Give the database a new epoch (after a restore): every device reconciles at its next sync."""
    value = _new()
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [EPOCH_KEY, value],
    )
    return value


def _new() -> str:
    return str(uuid.uuid4())


def head(tx: Tx) -> int:
    """The latest change position devices can pull up to (0 for an empty log)."""
    row = tx.one("SELECT max(pos) AS head FROM changes")  # the position pullers read by (hub/db.py)
    return int(row["head"]) if row is not None and row["head"] is not None else 0


def directory_version(tx: Tx) -> str:
    """A digest of the directory: sha256 over the sorted `o:<id>:<hash>` and `l:<id>:<hash>` lines (the device
    computes the same over its own documents, `field_app.directory.manifest.local_version`). Kept in `meta` by
    every directory write (`hub/directory.py`); computed from the rows for a database from before issue 10."""
    from field_app.hub import directory

    stored = directory.stored_version(tx)
    return stored if stored is not None else directory.computed_version(tx)


def version_of(lines: list[str]) -> str:
    """The digest of sorted `o:`/`l:` lines (shared with the device side)."""
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:32]


def hub_state(tx: Tx) -> HubState:
    return HubState(epoch=epoch(tx), head=head(tx), directory_version=directory_version(tx))


def ops_missing(tx: Tx, op_ids: list[str]) -> list[str]:
    """Of `op_ids`, those the hub does not hold (in the order given). Rejected ops leave no row, so a device only
    asks about ops the hub once answered applied or duplicate."""
    if not op_ids:
        return []
    held: set[str] = set()
    for start in range(0, len(op_ids), 500):
        chunk = op_ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        held |= {r["op_id"] for r in tx.all(f"SELECT op_id FROM ops WHERE op_id IN ({marks})", chunk)}
    return [op_id for op_id in op_ids if op_id not in held]
