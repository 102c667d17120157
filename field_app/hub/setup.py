"""Getting a hub database ready: where it is by default, migrations, the hub's id and epoch, the directory seed;
and the hub's backups (issue 10).

Backups and restores:
- SQLite: `backup(target, dest)` copies the live database with SQLite's online backup API (a consistent snapshot
  while the hub keeps serving; the same as `sqlite3 hub.db ".backup DEST"`). `restore(backup, target)` (the hub
  stopped) copies a backup over the hub's database, migrates it and gives it a **new epoch**
  (`field_app.hub.trust`): every device notices at its next sync and reconciles — it asks which of its op ids
  the hub lacks, sends them again, and pulls from 0.
- PostgreSQL: `pg_dump --format=custom` / `pg_restore --clean` (`pg_dump_command`, `pg_restore_command`), then
  `field-app hub new-epoch` on the restored database (`new_epoch(target)`).
A restore done by other means (a file copied back, a snapshot of the disk) keeps the old epoch: devices still
notice it, by a change-log head below their cursor or by their latest sent op missing from the hub, and reconcile
the same way; `hub new-epoch` after such a restore makes it certain.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from field_app.errors import StorageError
from field_app.hub import directory, trust
from field_app.hub.db import HubDB, is_postgres, open_hub_db
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
        trust.epoch(tx)  # a new database gets its epoch now (one from before issue 10 too)
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


# --- backups and restores ---------------------------------------------------------------------------------------


class BackupError(StorageError):
    """A backup or restore could not be made (the reason says why)."""


def _sqlite_path(target: str | Path) -> Path:
    if is_postgres(str(target)):
        raise BackupError("this is a PostgreSQL database: use pg_dump / pg_restore (see `field-app hub backup`)")
    return Path(target).expanduser()


def _read_only(path: Path) -> str:
    return path.resolve().as_uri() + "?mode=ro"  # as a URI: a name with ? or # in it stays a name


def _copy(source: Path, dest: Path) -> None:
    """SQLite's online backup API, page by page (consistent even while the hub writes)."""
    src = sqlite3.connect(_read_only(source), uri=True, timeout=30)
    try:
        out = sqlite3.connect(str(dest), timeout=30)
        try:
            src.backup(out)
        finally:
            out.close()
    finally:
        src.close()


def _check_hub_file(path: Path) -> None:
    try:
        conn = sqlite3.connect(_read_only(path), uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'hub_id'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path.name} is not a hub database ({exc})") from exc
    if row is None:
        raise BackupError(f"{path.name} is not a hub database (no hub id)")


def backup(target: str | Path, dest: Path) -> Path:
    """Copy the SQLite hub database `target` to `dest` (a new file; the hub may keep running)."""
    source = _sqlite_path(target)
    if not source.is_file():
        raise BackupError(f"no hub database at {source}")
    if dest.exists():
        raise BackupError(f"{dest} exists already: give a new file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        _copy(source, dest)
    except sqlite3.Error as exc:
        dest.unlink(missing_ok=True)
        raise BackupError(f"the backup failed: {exc}") from exc
    return dest


@dataclass(frozen=True)
class Restored:
    hub_id: str
    epoch: str


def restore(backup_file: Path, target: str | Path) -> Restored:
    """Replace the SQLite hub database `target` (the hub stopped) by `backup_file`, migrate it and give it a new
    epoch. The database it replaces is kept next to it as `<name>.before-restore-<time>`."""
    path = _sqlite_path(target)
    if not backup_file.is_file():
        raise BackupError(f"no backup at {backup_file}")
    _check_hub_file(backup_file)
    if path.exists():
        kept = path.with_name(f"{path.name}.before-restore-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}")
        _copy(path, kept)
    incoming = path.with_name(path.name + ".restoring")
    incoming.unlink(missing_ok=True)
    shutil.copyfile(backup_file, incoming)
    for suffix in ("-wal", "-shm"):  # a replaced database's journal must not be applied to the backup
        Path(str(path) + suffix).unlink(missing_ok=True)
    os.replace(incoming, path)
    return new_epoch(path)


def new_epoch(target: str | Path) -> Restored:
    """Give the hub database at `target` (SQLite or PostgreSQL, e.g. after `pg_restore`) a new epoch."""
    db = open_hub_db(target)
    try:
        hub_id = ensure_hub_id(db)
        with db.transaction() as tx:
            value = trust.new_epoch(tx)
        return Restored(hub_id, value)
    finally:
        db.close()


def pg_dump_command(url: str, dest: Path) -> list[str]:
    """The pg_dump command line for a custom-format dump of the hub's PostgreSQL database (the URL's password
    is passed in the environment, not on the command line: see `pg_environment`)."""
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={dest}", f"--dbname={_url_without_password(url)}"]


def pg_restore_command(url: str, dump: Path) -> list[str]:
    return ["pg_restore", "--clean", "--if-exists", "--no-owner", f"--dbname={_url_without_password(url)}", str(dump)]


def pg_environment(url: str) -> dict[str, str]:
    from urllib.parse import unquote, urlsplit

    password = urlsplit(url).password
    return {**os.environ, **({"PGPASSWORD": unquote(password)} if password else {})}


def _url_without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    netloc = f"{user}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
