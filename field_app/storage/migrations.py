"""Versioned schema migrations. Each runs once, in order, inside a transaction; applied ones are recorded.

Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlite_utils


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[sqlite_utils.Database], None]


def _statements(script: str) -> list[str]:
    """The script's statements, split where SQLite says one is complete (a trigger's body holds semicolons)."""
    statements: list[str] = []
    current = ""
    for piece in script.split(";\n"):
        current += piece + ";\n"
        if sqlite3.complete_statement(current):
            if current.strip(" ;\n"):
                statements.append(current.strip().rstrip(";"))
            current = ""
    if current.strip(" ;\n"):
        statements.append(current.strip().rstrip(";"))
    return statements


def _sql(script: str) -> Callable[[sqlite_utils.Database], None]:
    statements = _statements(script)

    def run(db: sqlite_utils.Database) -> None:
        for statement in statements:
            db.execute(statement)

    return run


DIRECTORY_V1 = """
CREATE TABLE localities (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, region TEXT NOT NULL, cercle TEXT,
    latitude REAL NOT NULL, longitude REAL NOT NULL, precision TEXT NOT NULL, source TEXT NOT NULL,
    alternate_names TEXT NOT NULL DEFAULT '[]', content_hash TEXT NOT NULL
);
CREATE TABLE organizations (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, short_name TEXT, kind TEXT NOT NULL, description TEXT,
    structure_type TEXT, website TEXT, emails TEXT NOT NULL DEFAULT '[]', service_area TEXT,
    source_document TEXT NOT NULL, source_fiche TEXT NOT NULL, assured_date TEXT NOT NULL,
    document TEXT NOT NULL, content_hash TEXT NOT NULL
);
CREATE TABLE locations (
    id TEXT PRIMARY KEY, organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT, locality_id TEXT NOT NULL REFERENCES localities(id), region TEXT NOT NULL, address TEXT,
    latitude REAL NOT NULL, longitude REAL NOT NULL, precision TEXT NOT NULL
);
CREATE TABLE services (
    id TEXT PRIMARY KEY, organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT NOT NULL, pathway TEXT NOT NULL, category TEXT NOT NULL, status TEXT NOT NULL,
    description TEXT, duration_text TEXT, service_area TEXT, eligibility TEXT NOT NULL, costs TEXT NOT NULL
);
CREATE TABLE service_locations (
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE,
    location_id TEXT NOT NULL REFERENCES locations(id) ON DELETE CASCADE,
    PRIMARY KEY (service_id, location_id)
);
CREATE TABLE contacts (
    id TEXT PRIMARY KEY, organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name TEXT, title TEXT, emails TEXT NOT NULL DEFAULT '[]', note TEXT
);
CREATE TABLE phones (
    id TEXT PRIMARY KEY, organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    contact_id TEXT REFERENCES contacts(id) ON DELETE CASCADE, as_written TEXT NOT NULL, e164 TEXT NOT NULL
);
CREATE INDEX services_organization ON services(organization_id);
CREATE INDEX locations_organization ON locations(organization_id);
CREATE INDEX phones_organization ON phones(organization_id);
CREATE INDEX contacts_organization ON contacts(organization_id);
CREATE VIRTUAL TABLE services_fts USING fts5(
    service_id UNINDEXED, service, organization, places, details,
    tokenize = 'unicode61 remove_diacritics 2'
)
"""

CASEWORK_V2 = """
CREATE TABLE returnees (
    id TEXT PRIMARY KEY, given_name TEXT NOT NULL, family_name TEXT NOT NULL, sex TEXT NOT NULL,
    birth_year INTEGER NOT NULL, phone TEXT, region TEXT NOT NULL, document TEXT NOT NULL,
    version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX returnees_phone ON returnees(phone);
CREATE TABLE referrals (
    id TEXT PRIMARY KEY, returnee_id TEXT NOT NULL REFERENCES returnees(id),
    service_id TEXT NOT NULL, organization_id TEXT NOT NULL, region TEXT NOT NULL,
    status TEXT NOT NULL, flagged TEXT NOT NULL DEFAULT '[]', document TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX referrals_returnee ON referrals(returnee_id);
CREATE INDEX referrals_status ON referrals(status);
CREATE TABLE referral_events (
    id TEXT PRIMARY KEY, referral_id TEXT NOT NULL REFERENCES referrals(id),
    kind TEXT NOT NULL, at TEXT NOT NULL, document TEXT NOT NULL
);
CREATE INDEX referral_events_referral ON referral_events(referral_id);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL UNIQUE, entity TEXT NOT NULL,
    entity_id TEXT NOT NULL, op TEXT NOT NULL, payload TEXT NOT NULL, base_version INTEGER,
    created_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX outbox_state ON outbox(state, seq);
CREATE INDEX locations_position ON locations(latitude, longitude)
"""

# The eligible-nearby query's own indexes, kept in step by `build_directory` (and filled here for stores built
# before): `service_offices`, one row per service and office, found by the office's position in name order
# (the order of results at one distance), or by name alone when no position is given; `service_coverage`, the
# services without an office by the region they cover ('national' or a region code), in name order. `doc` is
# the service's rowid in services_fts, so a text filter selects rows straight from the full-text index. So the
# query reads the services it returns (and about as many more), not every service.
NEARBY_V3 = """
CREATE TABLE service_offices (
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE, location_id TEXT NOT NULL,
    doc INTEGER NOT NULL, listed INTEGER NOT NULL, latitude REAL NOT NULL, longitude REAL NOT NULL,
    organization TEXT NOT NULL, service TEXT NOT NULL, pathway TEXT NOT NULL,
    PRIMARY KEY (service_id, location_id)
) WITHOUT ROWID;
CREATE INDEX service_offices_position
    ON service_offices(latitude, longitude, organization, service, service_id, listed, pathway, doc);
CREATE INDEX service_offices_doc ON service_offices(doc);
CREATE INDEX service_offices_name ON service_offices(organization, service, service_id, listed, pathway);
CREATE TABLE service_coverage (
    region TEXT NOT NULL, organization TEXT NOT NULL, service TEXT NOT NULL,
    service_id TEXT NOT NULL REFERENCES services(id) ON DELETE CASCADE, doc INTEGER NOT NULL, pathway TEXT NOT NULL,
    PRIMARY KEY (region, organization, service, service_id)
) WITHOUT ROWID;
CREATE INDEX service_coverage_service ON service_coverage(service_id);
CREATE INDEX service_coverage_doc ON service_coverage(doc);
CREATE TEMP TABLE nearby_docs AS SELECT rowid AS doc, service_id FROM services_fts;
CREATE INDEX temp.nearby_docs_service ON nearby_docs(service_id);
INSERT INTO service_offices
    (service_id, location_id, doc, listed, latitude, longitude, organization, service, pathway)
SELECT sl.service_id, sl.location_id, d.doc, row_number() OVER (PARTITION BY sl.service_id ORDER BY sl.rowid) - 1,
    l.latitude, l.longitude, o.name, s.name, s.pathway
FROM service_locations sl JOIN locations l ON l.id = sl.location_id JOIN services s ON s.id = sl.service_id
JOIN organizations o ON o.id = s.organization_id JOIN nearby_docs d ON d.service_id = s.id;
INSERT INTO service_coverage (region, organization, service, service_id, doc, pathway)
SELECT 'national', o.name, s.name, s.id, d.doc, s.pathway
FROM services s JOIN organizations o ON o.id = s.organization_id JOIN nearby_docs d ON d.service_id = s.id
WHERE json_extract(s.service_area, '$.scope') = 'national'
AND NOT EXISTS (SELECT 1 FROM service_locations x WHERE x.service_id = s.id);
INSERT OR IGNORE INTO service_coverage (region, organization, service, service_id, doc, pathway)
SELECT r.value, o.name, s.name, s.id, d.doc, s.pathway
FROM services s JOIN organizations o ON o.id = s.organization_id JOIN nearby_docs d ON d.service_id = s.id,
    json_each(s.service_area, '$.regions') r
WHERE json_extract(s.service_area, '$.scope') = 'regions'
AND NOT EXISTS (SELECT 1 FROM service_locations x WHERE x.service_id = s.id);
DROP TABLE temp.nearby_docs
"""

# The device's side of sync (issue 4): one row saying which hub this device is enrolled with (its id and bearer
# token), how far it has pulled (the hub's change sequence, never a clock), and how the last attempts went
# (consecutive failures and when to try next, for the backoff). The outbox gains what a quarantined entry needs:
# the hub's stable code and when it was set aside.
SYNC_V4 = """
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    hub_url TEXT NOT NULL, hub_id TEXT NOT NULL, device_id TEXT NOT NULL, token TEXT NOT NULL,
    role TEXT NOT NULL, region TEXT, enrolled_at TEXT NOT NULL,
    cursor INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TEXT, last_success_at TEXT, last_result TEXT, last_error TEXT, last_report TEXT,
    failures INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT
);
ALTER TABLE outbox ADD COLUMN error_code TEXT;
ALTER TABLE outbox ADD COLUMN quarantined_at TEXT
"""

# Issue 8: offices and supervisors on the same app. An office device holds its region's referrals, most made on
# other phones, so `referrals` is rebuilt without the foreign key to `returnees`: the person behind a referral
# made elsewhere is in `shared_persons` (only what the office needs, only with consent to share). New columns:
# `origin_device` (the device that made it; NULL = this one), `last_event_at` (overdue, inbox order), `follow_up`,
# `reason`, `outcome` (from the latest event that set them) and `code` (the slip's code, searchable). A
# supervisor's copy of the devices, the access log of personal-data reads and the directory audit log are rows
# too (documents as the hub sends them); `settings` holds per-device choices such as the overdue delay.
# The foreign keys from referral_events are checked at commit (deferred), once the rebuilt table is in place.
ROLES_V5 = """
PRAGMA defer_foreign_keys = ON;
CREATE TABLE referrals_v5 (
    id TEXT PRIMARY KEY, returnee_id TEXT NOT NULL,
    service_id TEXT NOT NULL, organization_id TEXT NOT NULL, region TEXT NOT NULL,
    status TEXT NOT NULL, flagged TEXT NOT NULL DEFAULT '[]', document TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    origin_device TEXT, last_event_at TEXT NOT NULL, follow_up TEXT, reason TEXT, outcome TEXT,
    code TEXT NOT NULL
);
INSERT INTO referrals_v5 (id, returnee_id, service_id, organization_id, region, status, flagged, document,
    created_at, updated_at, origin_device, last_event_at, code)
SELECT r.id, r.returnee_id, r.service_id, r.organization_id, r.region, r.status, r.flagged, r.document,
    r.created_at, r.updated_at, NULL,
    coalesce((SELECT max(e.at) FROM referral_events e WHERE e.referral_id = r.id), r.updated_at),
    upper(substr(r.id, 1, 8))
FROM referrals r;
DROP TABLE referrals;
ALTER TABLE referrals_v5 RENAME TO referrals;
CREATE INDEX referrals_returnee ON referrals(returnee_id);
CREATE INDEX referrals_status ON referrals(status);
CREATE INDEX referrals_inbox ON referrals(region, status, last_event_at);
CREATE INDEX referrals_region_created ON referrals(region, created_at);
CREATE INDEX referrals_code ON referrals(code);
CREATE TABLE shared_persons (
    returnee_id TEXT PRIMARY KEY, given_name TEXT NOT NULL, family_name TEXT NOT NULL, phone TEXT,
    folded_name TEXT NOT NULL, document TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX shared_persons_folded ON shared_persons(folded_name);
CREATE TABLE devices (
    id TEXT PRIMARY KEY, role TEXT NOT NULL, region TEXT, name TEXT, revoked_at TEXT, last_sync_at TEXT,
    document TEXT NOT NULL
);
CREATE TABLE access_log (
    id TEXT PRIMARY KEY, returnee_id TEXT NOT NULL, referral_id TEXT, device_id TEXT, via TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX access_log_at ON access_log(at);
CREATE TABLE directory_audit (
    id TEXT PRIMARY KEY, edit_id TEXT NOT NULL, organization_id TEXT NOT NULL, field TEXT NOT NULL,
    at TEXT NOT NULL, reverted_by TEXT, document TEXT NOT NULL
);
CREATE INDEX directory_audit_org ON directory_audit(organization_id, at);
CREATE INDEX directory_audit_at ON directory_audit(at);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"""

# The office inbox (casework.office): its two parts (overdue, then the rest) are walked newest first, so these
# indexes hold created_at and id in order and, after them, what decides which part a row is in (status,
# last_event_at): a page reads about its own rows from the index, not the region's 100,000 (bench/office.py).
# A shared person's place of return gets its own column, for the inbox's place filter.
INBOX_V6 = """
CREATE INDEX referrals_region_newest ON referrals(region, created_at, id, status, last_event_at);
CREATE INDEX referrals_region_status_newest ON referrals(region, status, created_at, id, last_event_at);
CREATE INDEX referrals_newest ON referrals(created_at, id, status, last_event_at);
ALTER TABLE shared_persons ADD COLUMN locality TEXT;
UPDATE shared_persons SET locality = json_extract(document, '$.locality');
CREATE INDEX shared_persons_locality ON shared_persons(locality)
"""

# The inbox's name search: a full-text index of the names of everyone a referral on this device is about (the
# people registered here and the people an office received), accent- and case-blind, matched by word prefixes
# ("trao" finds Traoré, in either order of names), so a search reads the few matching people instead of folding
# every name (bench/office.py: p95 152 ms with LIKE at 100,000 referrals). Triggers keep it in step with both
# tables; rowids are the source row's rowid times two, plus one for registered people, so each row is found by
# rowid when it changes.
PEOPLE_FTS_V7 = """
CREATE VIRTUAL TABLE person_names USING fts5(
    returnee_id UNINDEXED, name, tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO person_names (rowid, returnee_id, name)
    SELECT rowid * 2, returnee_id, given_name || ' ' || family_name FROM shared_persons;
INSERT INTO person_names (rowid, returnee_id, name)
    SELECT rowid * 2 + 1, id, given_name || ' ' || family_name FROM returnees;
CREATE TRIGGER shared_persons_names_insert AFTER INSERT ON shared_persons BEGIN
    INSERT INTO person_names (rowid, returnee_id, name)
    VALUES (new.rowid * 2, new.returnee_id, new.given_name || ' ' || new.family_name);
END;
CREATE TRIGGER shared_persons_names_update AFTER UPDATE ON shared_persons BEGIN
    DELETE FROM person_names WHERE rowid = old.rowid * 2;
    INSERT INTO person_names (rowid, returnee_id, name)
    VALUES (new.rowid * 2, new.returnee_id, new.given_name || ' ' || new.family_name);
END;
CREATE TRIGGER shared_persons_names_delete AFTER DELETE ON shared_persons BEGIN
    DELETE FROM person_names WHERE rowid = old.rowid * 2;
END;
CREATE TRIGGER returnees_names_insert AFTER INSERT ON returnees BEGIN
    INSERT INTO person_names (rowid, returnee_id, name)
    VALUES (new.rowid * 2 + 1, new.id, new.given_name || ' ' || new.family_name);
END;
CREATE TRIGGER returnees_names_update AFTER UPDATE ON returnees BEGIN
    DELETE FROM person_names WHERE rowid = old.rowid * 2 + 1;
    INSERT INTO person_names (rowid, returnee_id, name)
    VALUES (new.rowid * 2 + 1, new.id, new.given_name || ' ' || new.family_name);
END;
CREATE TRIGGER returnees_names_delete AFTER DELETE ON returnees BEGIN
    DELETE FROM person_names WHERE rowid = old.rowid * 2 + 1;
END
"""

# A service's stated period (issue 9): a service past its end date is ended on the day it is asked about
# (domain.directory.status_on), so queries need the dates beside the status. Filled by build_directory; rows
# already in the store take them from their organisation's document (none had dates before this version).
DIRECTORY_DATES_V10 = """
ALTER TABLE services ADD COLUMN start_date TEXT;
ALTER TABLE services ADD COLUMN end_date TEXT;
UPDATE services SET
    start_date = (SELECT json_extract(j.value, '$.start_date')
                  FROM organizations o, json_each(o.document, '$.services') j
                  WHERE o.id = services.organization_id AND o.id || '/' || json_extract(j.value, '$.id') = services.id),
    end_date = (SELECT json_extract(j.value, '$.end_date')
                FROM organizations o, json_each(o.document, '$.services') j
                WHERE o.id = services.organization_id AND o.id || '/' || json_extract(j.value, '$.id') = services.id);
CREATE INDEX services_end_date ON services(end_date)
"""

# Issue 9: before a referral is queued, the open referrals of that person to that service are looked up (a second
# one is confirmed first); "My referrals" of one person pages newest first. Both straight from an index.
REFERRALS_V9 = """
CREATE INDEX referrals_returnee_service ON referrals(returnee_id, service_id, status);
CREATE INDEX referrals_returnee_newest ON referrals(returnee_id, created_at, id)
"""

# Issue 9, people and duplicates: the duplicate check and the people list read indexes, not every person. Each
# registered person's name keys (field_app.domain.duplicates.index_keys: the name's sounds, each variant with one
# letter dropped, one word less, two words run together) are rows of `returnee_keys`, so the check reads the few people
# holding a key a similar name holds; `phone_tail` (the phone's digits, last first) makes "the phone ends in 3456"
# one index range; `returnees_newest` pages the list newest first. The storage keeps them in step on every write
# (the keys are computed in Python, so no trigger can); existing rows are filled here.
PEOPLE_V8 = """
ALTER TABLE returnees ADD COLUMN phone_tail TEXT;
CREATE INDEX returnees_phone_tail ON returnees(phone_tail);
CREATE INDEX returnees_newest ON returnees(created_at DESC, id);
CREATE TABLE returnee_keys (
    key TEXT NOT NULL, returnee_id TEXT NOT NULL REFERENCES returnees(id) ON DELETE CASCADE,
    PRIMARY KEY (key, returnee_id)
) WITHOUT ROWID;
CREATE INDEX returnee_keys_returnee ON returnee_keys(returnee_id)
"""


def _people_v8(db: sqlite_utils.Database) -> None:
    from field_app.storage.returnees import backfill_keys  # the keys are the domain's: computed in Python

    _sql(PEOPLE_V8)(db)
    backfill_keys(db)


# Issue 9, nearby grouped and ranked: the eligible-nearby query keeps the directory's shape in memory (where each
# office is, who is where in name order, each service's sectors; field_app.directory.nearby) and must know when
# the directory changed, on this connection or another. Every write to the tables that shape reads sets a new
# random token (random, not a count: two copies of one file edited apart never share one), so a query reads one
# row to know its copy is current.
NEARBY_TOKEN_V12 = """
CREATE TABLE nearby_token (id INTEGER PRIMARY KEY CHECK (id = 1), token INTEGER NOT NULL);
INSERT INTO nearby_token (id, token) VALUES (1, random());
CREATE TRIGGER nearby_token_organizations_insert AFTER INSERT ON organizations BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_organizations_update AFTER UPDATE ON organizations BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_organizations_delete AFTER DELETE ON organizations BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_services_insert AFTER INSERT ON services BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_services_update AFTER UPDATE ON services BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_services_delete AFTER DELETE ON services BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_service_offices_insert AFTER INSERT ON service_offices BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_service_offices_update AFTER UPDATE ON service_offices BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_service_offices_delete AFTER DELETE ON service_offices BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_service_coverage_insert AFTER INSERT ON service_coverage BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_service_coverage_update AFTER UPDATE ON service_coverage BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_service_coverage_delete AFTER DELETE ON service_coverage BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_locations_insert AFTER INSERT ON locations BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_locations_update AFTER UPDATE ON locations BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_locations_delete AFTER DELETE ON locations BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_localities_insert AFTER INSERT ON localities BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_localities_update AFTER UPDATE ON localities BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END;
CREATE TRIGGER nearby_token_localities_delete AFTER DELETE ON localities BEGIN
    UPDATE nearby_token SET token = random() WHERE id = 1;
END
"""


# Issue 9, directory search at scale (field_app.directory.search): the full-text index gains prefix indexes for
# one to three letters (the search screen asks on every key, and a first letter matched every service by merging
# the lists of all its words), the same rows under the same rowids (`service_offices.doc` points at them); the
# organisations get their search order ("joinable first": not donor programmes, then by name) as an index, so
# the first page of the directory reads a few organisations instead of every organisation's document.
SEARCH_V13 = """
ALTER TABLE services_fts RENAME TO services_fts_v1;
CREATE VIRTUAL TABLE services_fts USING fts5(
    service_id UNINDEXED, service, organization, places, details,
    tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3'
);
INSERT INTO services_fts (rowid, service_id, service, organization, places, details)
    SELECT rowid, service_id, service, organization, places, details FROM services_fts_v1;
DROP TABLE services_fts_v1;
CREATE INDEX organizations_search_order ON organizations(kind = 'donor_programme', name, id)
"""

# Issue 10, sync you can trust: the hub database's epoch as last seen (another epoch = a restored or replaced hub:
# reconcile); each event's place in the hub's receipt order (`hub_order`, NULL until the hub has it): the fold
# follows the hub's order, not device clocks; the enrolment request in flight (made before the first attempt, so
# that a retry after a lost answer is recognised by the hub).
SYNC_TRUST_V14 = """
ALTER TABLE sync_state ADD COLUMN epoch TEXT;
ALTER TABLE referral_events ADD COLUMN hub_order INTEGER;
CREATE TABLE enrol_attempts (
    code_hash TEXT PRIMARY KEY, hub_url TEXT NOT NULL, request_id TEXT NOT NULL, created_at TEXT NOT NULL
)
"""

MIGRATIONS: Sequence[Migration] = (
    Migration(1, "directory", _sql(DIRECTORY_V1)),
    Migration(2, "casework", _sql(CASEWORK_V2)),
    Migration(3, "nearby", _sql(NEARBY_V3)),
    Migration(4, "sync", _sql(SYNC_V4)),
    Migration(5, "roles", _sql(ROLES_V5)),
    Migration(6, "inbox", _sql(INBOX_V6)),
    Migration(7, "people_fts", _sql(PEOPLE_FTS_V7)),
    Migration(8, "people", _people_v8),
    Migration(9, "referrals_open", _sql(REFERRALS_V9)),
    Migration(10, "directory_dates", _sql(DIRECTORY_DATES_V10)),
    Migration(12, "nearby_token", _sql(NEARBY_TOKEN_V12)),
    Migration(13, "search", _sql(SEARCH_V13)),
    Migration(14, "sync_trust", _sql(SYNC_TRUST_V14)),
)


def applied_versions(db: sqlite_utils.Database) -> set[int]:
    if "_migrations" not in db.table_names():
        return set()
    return {row["version"] for row in db["_migrations"].rows}


def apply_migrations(db: sqlite_utils.Database, migrations: Sequence[Migration]) -> list[int]:
    """Apply the migrations not yet recorded; return the versions applied now.

    Foreign keys are switched off while a migration runs and checked before it commits (SQLite's own procedure
    for rebuilding a table, https://sqlite.org/lang_altertable.html#otheralter): with them on, dropping a parent
    table that child rows refer to — as migration 5 does with `referrals` — counts a violation for every child
    row that no later rename can take back, and the upgrade of any device holding referrals would fail."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at TEXT)")
    done = applied_versions(db)
    todo = [m for m in sorted(migrations, key=lambda m: m.version) if m.version not in done]
    if not todo:
        return []
    if db.conn.in_transaction:
        db.conn.commit()
    keys_on = bool(db.execute("PRAGMA foreign_keys").fetchone()[0])
    db.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: hence the commit above
    applied: list[int] = []
    try:
        for migration in todo:
            with db.atomic():  # one transaction per migration: all of it or none
                migration.apply(db)
                broken = db.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise sqlite3.IntegrityError(
                        f"migration {migration.version} ({migration.name}) breaks {len(broken)} foreign keys, "
                        f"e.g. {broken[0][0]} row {broken[0][1]} → {broken[0][2]}"
                    )
                db.execute(
                    "INSERT INTO _migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    [migration.version, migration.name, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")],
                )
            applied.append(migration.version)
    finally:
        if keys_on:
            db.execute("PRAGMA foreign_keys = ON")
    return applied
