"""The directory as kept in the local database: open it (building from `db/` when empty), read it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from field_app.storage.database import open_db
from field_app.storage.paths import database_path

if TYPE_CHECKING:
    from field_app.directory.dataset import Dataset


def open_directory(data_dir: Path, *, build_if_empty: bool = True) -> sqlite_utils.Database:
    """The local database in `data_dir`, with the bundled directory loaded if it holds none yet."""
    db = open_db(database_path(data_dir))
    if build_if_empty and db.execute("SELECT count(*) FROM organizations").fetchone()[0] == 0:
        from field_app.directory.build import build_directory  # a first launch only: YAML, models, phones

        build_directory(db)
    return db


def dataset_from_store(db: sqlite_utils.Database) -> Dataset:
    """Rebuild the validated models from the store (what export writes and a device can re-share)."""
    from field_app.directory.dataset import Dataset
    from field_app.domain.directory import Locality, Organization

    orgs = [
        Organization.model_validate_json(r["document"])
        for r in db.query("SELECT document FROM organizations ORDER BY id")
    ]
    localities = {}
    for row in db.query("SELECT * FROM localities"):
        row = dict(row)
        row.pop("content_hash")
        row["alternate_names"] = json.loads(row["alternate_names"])
        row = {k: v for k, v in row.items() if v is not None}
        localities[row["id"]] = Locality.model_validate(row)
    return Dataset(orgs, localities)
