"""The hub's app as uvicorn builds it in each worker process (`field-app hub --workers N`).

uvicorn starts N worker processes and each calls `app()` (a factory): its own database handle and, on
PostgreSQL, its own connection pool of `--pool-size` connections (default `db.pool_size_for(workers)`). The hub
keeps no state in the process, so workers (and hub processes on other machines behind a load balancer, all on one
PostgreSQL) need nothing from each other: change-log order comes from the database (hub/db.py, the sequencer).
`field-app hub` has already migrated the database and seeded the directory before the workers start; the
settings travel in the environment (`SERVE_DB`, `SERVE_POOL`), as uvicorn passes nothing else to a factory.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

SERVE_DB = "FIELD_APP_HUB_SERVE_DB"  # the database the workers open (a SQLite path or a postgresql:// URL)
SERVE_POOL = "FIELD_APP_HUB_SERVE_POOL"  # PostgreSQL connections per worker


def app() -> FastAPI:
    from field_app.hub.app import create_app
    from field_app.hub.db import DEFAULT_POOL_SIZE, open_hub_db
    from field_app.hub.setup import ensure_hub_id

    db = open_hub_db(os.environ[SERVE_DB], pool_size=int(os.environ.get(SERVE_POOL, DEFAULT_POOL_SIZE)))
    return create_app(db, hub_id=ensure_hub_id(db))
