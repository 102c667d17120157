"""This device's settings: small named values in the device database's `settings` table (migration 5), such as
the language chosen in the app, so they survive a restart and an app update (the database lives in the app's data
directory). Per device, never synced: another phone keeps its own choice.

One row per key; a value is text (callers parse their own). A write replaces the row in one transaction.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

from field_app.errors import StorageError
from field_app.i18n import _

LANGUAGE = "language"  # the language chosen in the app ("fr", "en", "bm")


def get(db: sqlite_utils.Database, key: str) -> str | None:
    """The value stored under `key`, or None when nothing was ever stored."""
    try:
        row = db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
    except sqlite3.Error as exc:
        raise StorageError(_("could not read the settings: {reason}").format(reason=exc)) from exc
    return None if row is None else str(row[0])


def put(db: sqlite_utils.Database, key: str, value: str) -> None:
    """Store `value` under `key` (replacing the one before), committed."""
    try:
        with db.atomic():
            db.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
    except sqlite3.Error as exc:
        raise StorageError(_("could not save: {reason}").format(reason=exc)) from exc
