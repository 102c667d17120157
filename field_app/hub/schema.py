"""The hub's schema migrations, written for SQLite and for PostgreSQL side by side (same tables, same columns).

Never edit a migration that has shipped: add a new one. Times are fixed-width UTC text (`db.stamp`), JSON
documents are text, so that the same SQL reads both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sqlite: str
    postgres: str
    after: Callable[[Any], None] | None = None  # Python run in the same transaction, once the SQL has run


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

# Issue 8: what devices report at each sync (so supervisors see every device's queue), the access log of
# personal-data reads, and the directory audit log (one row per field changed by an office's or supervisor's edit).
# The `referral` changes that carry a referral to its region's office are backfilled for referrals already stored
# (by hub/roles.py after the migration: see HubDB.migrate's `after` hooks), since SQL alone cannot build them.
_COMMON_V2 = """
ALTER TABLE devices ADD COLUMN last_sync_at TEXT;
ALTER TABLE devices ADD COLUMN pending INTEGER;
ALTER TABLE devices ADD COLUMN quarantined INTEGER;
ALTER TABLE devices ADD COLUMN app_version TEXT;
ALTER TABLE devices ADD COLUMN cursor_at INTEGER;
CREATE TABLE access_log (
    id TEXT PRIMARY KEY, device_id TEXT NOT NULL, returnee_id TEXT NOT NULL, referral_id TEXT, via TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX access_log_returnee ON access_log(returnee_id);
CREATE INDEX access_log_at ON access_log(at);
CREATE TABLE directory_audit (
    id TEXT PRIMARY KEY, edit_id TEXT NOT NULL, organization_id TEXT NOT NULL, field TEXT NOT NULL,
    before TEXT, after TEXT, device_id TEXT NOT NULL, role TEXT NOT NULL, at TEXT NOT NULL, note TEXT,
    revert_of TEXT, reverted_by TEXT
);
CREATE INDEX directory_audit_org ON directory_audit(organization_id, at);
CREATE INDEX referrals_returnee ON referrals(returnee_id);
CREATE INDEX changes_entity ON changes(entity, seq)
"""


def _backfill_referral_changes(tx: Any) -> None:
    from field_app.hub.people import backfill_referral_changes

    backfill_referral_changes(tx)


# Issue 10: the enrolment request id (a retried enrolment whose answer was lost gets the same device), and each
# change row's `origin` (the device whose request made it): a device is not sent back, by pull, the referral
# changes its own push answer already carried. The database's epoch lives in `meta` (key `epoch`).
_COMMON_V3 = """
ALTER TABLE enrol_codes ADD COLUMN request_id TEXT;
ALTER TABLE changes ADD COLUMN origin TEXT
"""

# Issue 10, throughput and order: the change log's position (`pos`), given by the sequencer after commit (see
# hub/db.py: pullers read by position, never by the insertion id `seq`), indexes for the scoped pulls by position,
# and each referral event's receipt rank (`received`: the hub's order, which the fold follows; device clocks only
# order what the hub has not received yet). Old rows: pos = seq (their order so far; device cursors stay valid),
# and ranks in the order the fold used until now (time, then id), so no stored status changes. The scope indexes
# by `seq` give way to the same by `pos` (each index costs every insert and every sequencer update).
_COMMON_V4 = """
ALTER TABLE changes ADD COLUMN pos BIGINT;
UPDATE changes SET pos = seq;
CREATE UNIQUE INDEX changes_pos ON changes(pos);
CREATE INDEX changes_unnumbered ON changes(seq) WHERE pos IS NULL;
CREATE INDEX changes_device_pos ON changes(device_id, pos);
CREATE INDEX changes_region_pos ON changes(region, pos);
CREATE INDEX changes_entity_pos ON changes(entity, pos);
DROP INDEX changes_device;
DROP INDEX changes_region;
DROP INDEX changes_entity;
ALTER TABLE referral_events ADD COLUMN received BIGINT;
UPDATE referral_events SET received = ranked.k FROM (
    SELECT id, row_number() OVER (ORDER BY at, id) AS k FROM referral_events
) AS ranked WHERE referral_events.id = ranked.id;
CREATE INDEX referral_events_received ON referral_events(received)
"""
POSTGRES_V4 = (
    _COMMON_V4
    + """;
CREATE SEQUENCE referral_events_rank;
SELECT setval('referral_events_rank', (SELECT coalesce(max(received), 0) + 1 FROM referral_events), false)
"""
)

MIGRATIONS = [
    Migration(1, "hub", SQLITE_V1, POSTGRES_V1),
    Migration(2, "roles", _COMMON_V2, _COMMON_V2, after=_backfill_referral_changes),
    Migration(3, "sync_trust", _COMMON_V3, _COMMON_V3),
    Migration(4, "order", _COMMON_V4, POSTGRES_V4),
]
