"""The hub's schema migrations, written for SQLite and for PostgreSQL side by side (same tables, same columns).

Never edit a migration that has shipped: add a new one. Times are fixed-width UTC text (`db.stamp`), JSON
documents are text, so that the same SQL reads both engines.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: str
    postgres: str


_COMMON_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE enrol_codes (
    code_hash TEXT PRIMARY KEY, role TEXT NOT NULL, region TEXT, created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, used_at TEXT, device_id TEXT
);
CREATE TABLE devices (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, role TEXT NOT NULL, region TEXT, name TEXT,
    token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT
);
CREATE TABLE ops (
    op_id TEXT PRIMARY KEY, payload_hash TEXT NOT NULL, device_id TEXT NOT NULL, entity TEXT NOT NULL,
    entity_id TEXT NOT NULL, result TEXT NOT NULL, received_at TEXT NOT NULL
);
CREATE TABLE returnees (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, region TEXT NOT NULL, version INTEGER NOT NULL,
    document TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE referral_events (
    id TEXT PRIMARY KEY, referral_id TEXT NOT NULL REFERENCES referrals(id), kind TEXT NOT NULL, at TEXT NOT NULL,
    source TEXT NOT NULL, document TEXT NOT NULL, received_at TEXT NOT NULL
);
CREATE INDEX referral_events_referral ON referral_events(referral_id);
CREATE TABLE organizations (id TEXT PRIMARY KEY, document TEXT NOT NULL, content_hash TEXT NOT NULL,
    updated_at TEXT NOT NULL);
CREATE TABLE localities (id TEXT PRIMARY KEY, document TEXT NOT NULL, content_hash TEXT NOT NULL);
CREATE INDEX changes_device ON changes(device_id, seq);
CREATE INDEX changes_region ON changes(region, seq);
CREATE INDEX referrals_region ON referrals(region);
CREATE INDEX referrals_status ON referrals(status);
CREATE INDEX referrals_device ON referrals(device_id)
"""

_REFERRALS = """
    id TEXT {id_constraint}, returnee_id TEXT NOT NULL, service_id TEXT NOT NULL,
    organization_id TEXT NOT NULL, region TEXT NOT NULL, device_id TEXT NOT NULL, document TEXT NOT NULL,
    status TEXT NOT NULL, flagged TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
"""

_CHANGES = """
    entity TEXT NOT NULL, entity_id TEXT NOT NULL, op TEXT NOT NULL, data TEXT,
    region TEXT, device_id TEXT, at TEXT NOT NULL
"""

SQLITE_V1 = (
    "CREATE TABLE referrals (n INTEGER PRIMARY KEY AUTOINCREMENT, "
    f"{_REFERRALS.format(id_constraint='UNIQUE NOT NULL')});\n"
    f"CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, {_CHANGES});\n{_COMMON_V1}"
)
POSTGRES_V1 = (
    "CREATE TABLE referrals (n BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE, "
    f"{_REFERRALS.format(id_constraint='PRIMARY KEY')});\n"
    f"CREATE TABLE changes (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, {_CHANGES});\n{_COMMON_V1}"
)

MIGRATIONS = [Migration(1, "hub", SQLITE_V1, POSTGRES_V1)]
