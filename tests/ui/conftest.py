"""Fixtures for the screens: a writable directory database, a fixed clock, English words, a registered person."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from field_app import i18n
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.returnees import Returnee
from field_app.returnees.service import register
from field_app.storage.database import open_db
from tests.ui.helpers import NavRecorder

NOW = dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def english() -> Iterator[None]:
    """Screens read in English (the msgids), whatever the catalogs hold; French again afterwards."""
    i18n.set_language("en")
    yield
    i18n.set_language("fr")


@pytest.fixture
def db(tmp_path: Path, dataset: Dataset) -> Iterator[sqlite_utils.Database]:
    """The bundled directory in a fresh database file that tests may write returnees and referrals into."""
    database = open_db(tmp_path / "field_app.db")
    build_directory(database, dataset=dataset)
    yield database
    database.close()


@pytest.fixture
def clock() -> Callable[[], dt.datetime]:
    return lambda: NOW


@pytest.fixture
def recorder() -> NavRecorder:
    return NavRecorder()


FATOUMATA: dict[str, Any] = {
    "given_name": "Fatoumata",
    "family_name": "Traoré",
    "sex": "F",
    "age": 22,
    "region": "kayes",
    "locality": "kayes",
    "documents": ["id_card"],
    "consent": True,
}


@pytest.fixture
def fatoumata(db: sqlite_utils.Database) -> Returnee:
    return register(db, FATOUMATA, now=NOW)
