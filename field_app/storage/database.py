"""Open the local database: WAL journal, foreign keys on, migrations applied. Errors become StorageError."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from field_app.errors import StorageError
from field_app.i18n import _
from field_app.storage.migrations import MIGRATIONS, apply_migrations


def open_db(path: Path | str, *, migrate: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the SQLite file at `path`, or ":memory:"."""
    try:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
        else:
            conn = sqlite3.connect(":memory:", check_same_thread=False)
        db = sqlite_utils.Database(conn, execute_plugins=False)  # no sqlite-utils plugins: no entry-point scan
        db.execute("PRAGMA foreign_keys = ON")
        if str(path) != ":memory:":
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
        if migrate:
            apply_migrations(db, MIGRATIONS)
    except (sqlite3.Error, OSError) as exc:
        raise StorageError(_("cannot open database {path}: {reason}").format(path=path, reason=exc)) from exc
    return db
