"""The duplicate check on a real SQLite file: its indexed pre-filter finds everything the naive full scan and the
same scoring find (on a generated population with the spellings, typos, swapped orders and shared phones of real
registrations); the keys are kept in step with every write, in the same transaction; migration 8 fills them in
for people registered before it."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from bench.people import make_person, naive_find_duplicates, rid, seed_people, stranger, variant_of
from field_app.domain.duplicates import DuplicateReason, index_keys, name_keys
from field_app.errors import StorageError
from field_app.returnees.service import candidate_of, edit, find_duplicates, register
from field_app.storage import outbox
from field_app.storage import returnees as storage
from field_app.storage.database import open_db
from field_app.storage.migrations import MIGRATIONS, apply_migrations

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "people.db")
    yield database
    database.close()


def keys_of(db: sqlite_utils.Database, returnee_id: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT key FROM returnee_keys WHERE returnee_id = ?", [returnee_id])}


def answer(found: list[Any]) -> list[tuple[str, float, tuple[DuplicateReason, ...]]]:
    return [(d.returnee.id, d.match.score, d.match.reasons) for d in found]


def test_the_pre_filter_finds_what_the_full_scan_finds(db: sqlite_utils.Database) -> None:
    people = seed_people(db, 1500, seed=11, referrals=0)
    rng = random.Random(5)
    probes = [variant_of(rng, p, new_id=rid(rng)) for p in rng.sample(people, 60)]
    probes += [make_person(rng, 0, [p.phone for p in people if p.phone]) for _ in range(60)]  # some share a phone
    probes += [p.model_copy(update={"id": rid(rng)}) for p in rng.sample(people, 30)]  # registered twice
    probes += [stranger(rng, new_id=rid(rng)) for _ in range(10)]
    found_any = 0
    for probe in probes:
        fast = find_duplicates(db, probe, limit=50)
        slow = naive_find_duplicates(db, probe, limit=50)
        assert answer(fast) == answer(slow), (probe.given_name, probe.family_name)
        found_any += bool(fast)
    assert found_any >= 100  # the probes do find people: the comparison is not between two empty lists
    reasons = {r for p in probes for d in find_duplicates(db, p, limit=50) for r in d.match.reasons}
    assert reasons == set(DuplicateReason)  # every rule was exercised


def test_the_pre_filter_reads_a_few_candidates(db: sqlite_utils.Database) -> None:
    people = seed_people(db, 1500, seed=2, referrals=0)
    probe = variant_of(random.Random(0), people[100], new_id=rid(random.Random(1)))
    offered = storage.duplicate_candidates(db, candidate_of(probe))
    assert people[100].id in {c.id for c in offered}
    assert len(offered) < 100  # not the 1,500


def test_the_same_name_in_the_same_region_is_found_whatever_the_ages(db: sqlite_utils.Database) -> None:
    base = {"sex": "M", "region": "kayes", "consent": True}
    first = register(db, {**base, "given_name": "Moussa", "family_name": "Keïta", "age": 20}, now=NOW)
    register(db, {**base, "given_name": "Moussa", "family_name": "Keïta", "region": "gao", "age": 40}, now=NOW)
    again = storage.get_returnee(db, first.id).model_copy(update={"id": rid(random.Random(3)), "age": 31})
    [dup] = find_duplicates(db, again)
    assert dup.returnee.id == first.id and dup.reasons == (DuplicateReason.SAME_NAME_SAME_REGION,)


def test_a_duplicate_says_enough_to_ask_the_person(db: sqlite_utils.Database) -> None:
    person = register(db, {"given_name": "Seydou", "family_name": "Coulibaly", "sex": "M", "age": 30,
                           "region": "segou", "phone": "76 12 34 56", "consent": True}, now=NOW)  # fmt: skip
    probe = person.model_copy(update={"id": rid(random.Random(9)), "given_name": "Koulibaly", "family_name": "Seydou",
                                      "phone": None})  # fmt: skip
    [dup] = find_duplicates(db, probe)
    assert dup.reasons == (DuplicateReason.SIMILAR_NAME, DuplicateReason.SAME_REGION, DuplicateReason.SAME_BIRTH_YEAR)
    assert dup.returnee.full_name == "Seydou Coulibaly" and dup.returnee.region.value == "segou"
    assert dup.phone_end == "3456"


def test_keys_follow_every_write(db: sqlite_utils.Database) -> None:
    person = register(db, {"given_name": "Fatoumata", "family_name": "Traoré", "sex": "F", "age": 22,
                           "region": "kayes", "phone": "76 12 34 56", "consent": True}, now=NOW)  # fmt: skip
    assert keys_of(db, person.id) == index_keys(name_keys("Fatoumata", "Traoré"))
    assert db.execute("SELECT phone_tail FROM returnees").fetchone()[0] == "65432167322"
    edit(db, person.id, {"given_name": "Fatoumata", "family_name": "Diarra", "sex": "F", "age": 22,
                         "region": "kayes", "consent": True}, now=NOW)  # fmt: skip
    assert keys_of(db, person.id) == index_keys(name_keys("Fatoumata", "Diarra"))
    assert db.execute("SELECT phone_tail FROM returnees").fetchone()[0] is None


def test_a_failed_write_leaves_no_keys(db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> str:
        raise sqlite3.OperationalError("disk I/O error (injected)")

    monkeypatch.setattr(outbox, "enqueue", fail)
    with pytest.raises(StorageError):
        register(db, {"given_name": "Awa", "family_name": "Sow", "sex": "F", "age": 22, "region": "kayes",
                      "consent": True}, now=NOW)  # fmt: skip
    assert db.execute("SELECT count(*) FROM returnee_keys").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM returnees").fetchone()[0] == 0


def test_migration_8_fills_the_keys_of_people_registered_before(tmp_path: Path) -> None:
    db = open_db(tmp_path / "old.db", migrate=False)
    apply_migrations(db, [m for m in MIGRATIONS if m.version < 8])
    rng = random.Random(4)
    people = [make_person(rng, k, []) for k in range(30)]
    people[0] = people[0].model_copy(update={"phone": "+22376123456"})
    with db.atomic():
        for r in people:  # rows as the storage wrote them before migration 8
            db.execute(
                "INSERT INTO returnees (id, given_name, family_name, sex, birth_year, phone, region, document, "
                "version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [r.id, r.given_name, r.family_name, r.sex.value, r.birth_year(), r.phone, r.region.value,
                 r.model_dump_json(), r.version, r.created_at.isoformat(), r.updated_at.isoformat()],
            )  # fmt: skip
    assert 8 in apply_migrations(db, MIGRATIONS)
    for r in people:
        assert keys_of(db, r.id) == index_keys(name_keys(r.given_name, r.family_name))
    assert db.execute("SELECT phone_tail FROM returnees WHERE id = ?", [people[0].id]).fetchone()[0] == "65432167322"
    again = people[5].model_copy(update={"id": rid(rng)})
    assert people[5].id in [d.returnee.id for d in find_duplicates(db, again)]
    db.close()
