"""Shared fixtures: a fresh migrated database file, the bundled dataset, and a store built from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlite_utils

from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset, default_db_dir, load_dataset
from field_app.storage.database import open_db

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO / "db" / "sources"  # the report text, vendored (db/sources/README.md)


@pytest.fixture
def fresh_db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    db = open_db(tmp_path / "field_app.db")
    yield db
    db.close()


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return load_dataset(default_db_dir())


@pytest.fixture(scope="session")
def built_db(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset) -> sqlite_utils.Database:
    db = open_db(tmp_path_factory.mktemp("built") / "field_app.db")
    build_directory(db, dataset=dataset)
    return db


@pytest.fixture
def dataset_copy(tmp_path: Path) -> Path:
    """A writable copy of db/ for tests that edit data files."""
    import shutil

    target = tmp_path / "db"
    shutil.copytree(default_db_dir(), target)
    return target
