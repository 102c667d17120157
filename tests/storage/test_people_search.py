"""Everyone on the device, searched on a real SQLite file: by name (accent-blind, word starts, either order), by
the end of the phone, by a slip code; newest first, a page at a time with the total; the same answers as the
naive full scan on a generated population; the indexes the queries rely on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from bench.people import naive_search_people, seed_people
from field_app.referrals.service import refer
from field_app.returnees.service import edit, people_query, register, search_people
from field_app.storage import returnees as storage
from field_app.storage.database import open_db
from field_app.storage.returnees import phone_tail

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


def form(given: str, family: str, **more: Any) -> dict[str, Any]:
    return {"given_name": given, "family_name": family, "sex": "F", "age": 30, "region": "kayes", "consent": True,
            **more}  # fmt: skip


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "people.db")
    yield database
    database.close()


@pytest.fixture
def fifteen(db: sqlite_utils.Database) -> list[str]:
    """15 people registered a minute apart (the first is the oldest); returns their ids in that order."""
    names = [("Fatoumata", "Traoré"), ("Moussa", "Keïta"), ("Awa", "Diarra"), ("Aminata", "Coulibaly"),
             ("Seydou", "Traore"), ("Mariam", "Sissoko"), ("Oumar", "Camara"), ("Kadiatou", "Konaté"),
             ("Bakary", "Dembélé"), ("Ibrahim", "Touré"), ("Assétou", "Sangaré"), ("Djénéba", "N'Diaye"),
             ("Modibo", "Fofana"), ("Rokia", "Kanté"), ("Adama", "Maïga")]  # fmt: skip
    ids = []
    for k, (given, family) in enumerate(names):
        phone = f"76 00 00 {k:02d}" if k % 3 == 0 else None
        ids.append(register(db, form(given, family, phone=phone), now=NOW + dt.timedelta(minutes=k)).id)
    return ids


def found(page: Any) -> list[str]:
    return [f"{r.given_name} {r.family_name}" for r in page.people]


def test_everyone_newest_first_a_page_at_a_time(db: sqlite_utils.Database, fifteen: list[str]) -> None:
    first = search_people(db, limit=10)
    assert first.total == 15 and len(first.people) == 10 and first.has_more and first.next_offset == 10
    assert [r.id for r in first.people] == fifteen[::-1][:10]
    rest = search_people(db, limit=10, offset=first.next_offset)
    assert [r.id for r in rest.people] == fifteen[::-1][10:] and not rest.has_more
    assert rest.people[-1].given_name == "Fatoumata"  # the first registered: not lost past the 10 most recent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fatoumata", ["Fatoumata Traoré"]),
        ("TRAORE", ["Seydou Traore", "Fatoumata Traoré"]),  # accent- and case-blind, newest first
        ("trao", ["Seydou Traore", "Fatoumata Traoré"]),  # the start of a word
        ("traoré fat", ["Fatoumata Traoré"]),  # every word, either order
        ("keita", ["Moussa Keïta"]),
        ("diaye", ["Djénéba N'Diaye"]),
        ("djeneba", ["Djénéba N'Diaye"]),
        ("aoré", []),  # inside a word is not a start
        ("aminata traoré", []),  # every word must match
        ("76 00 00 03", ["Aminata Coulibaly"]),  # the phone as written
        ("+223 76000003", ["Aminata Coulibaly"]),
        ("0003", ["Aminata Coulibaly"]),  # its last digits
        ("000", ["Fatoumata Traoré"]),  # the end of the number, not anywhere in it (76 00 00 03 is not found)
        ("  ", None),  # blanks: everyone
    ],
)
def test_search(db: sqlite_utils.Database, fifteen: list[str], text: str, expected: list[str] | None) -> None:
    page = search_people(db, text)
    if expected is None:
        assert page.total == 15
        return
    assert found(page) == expected and page.total == len(expected)
    naive = naive_search_people(db, text)
    assert found(naive) == expected and naive.total == page.total


def test_search_by_slip_code(tmp_path: Path, built_db: sqlite_utils.Database) -> None:
    path = tmp_path / "codes.db"
    import sqlite3

    target = sqlite3.connect(path)
    built_db.conn.backup(target)
    target.close()
    db = open_db(path)
    person = register(db, form("Hawa", "Sow"), now=NOW)
    register(db, form("Awa", "Sy"), now=NOW)
    referral = refer(db, returnee_id=person.id, service_id="cfp-senou/menuiserie-bois", consent_share=True, now=NOW)
    code = referral.id[:8].upper()
    for text in (code, code.lower(), f"{code[:4]}-{code[4:]}", code[:5]):
        assert found(search_people(db, text)) == ["Hawa Sow"], text
        assert found(naive_search_people(db, text)) == ["Hawa Sow"], text
    db.close()


def test_an_edit_is_found_by_its_new_name_and_phone(db: sqlite_utils.Database) -> None:
    person = register(db, form("Fatoumata", "Traoré", phone="76 12 34 56"), now=NOW)
    edit(db, person.id, form("Fatoumata", "Coulibaly", phone="66 99 88 77"), now=NOW)
    assert found(search_people(db, "coulibaly")) == ["Fatoumata Coulibaly"]
    assert search_people(db, "traore").total == 0
    assert found(search_people(db, "8877")) == ["Fatoumata Coulibaly"] and search_people(db, "3456").total == 0


def test_reading_a_search_text() -> None:
    q = people_query("Traoré  fat")
    assert (q.names, q.tail, q.code) == ('"traore"* "fat"*', None, None)
    assert people_query("+223 76 12 34 56").tail == "65432167322" == phone_tail("+22376123456")  # last digit first
    assert people_query("0022376123456").tail == "65432167322"  # 00223… as +223…
    assert people_query("3f2a-9c01").code == "3F2A9C01"
    assert people_query("ab").code is None and people_query("Aminata").code is None  # not hex / too short
    assert people_query("12").tail is None  # too few digits for a phone


@pytest.mark.parametrize("many", [storage.MANY, 5], ids=["few: rows sorted", "many: along the index"])
def test_the_same_answers_as_the_naive_scan_on_a_generated_population(
    db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch, many: int
) -> None:
    monkeypatch.setattr(storage, "MANY", many)  # both ways of reading a page of matches
    people = seed_people(db, 600, seed=7)
    codes = [r[0] for r in db.execute("SELECT code FROM referrals ORDER BY id LIMIT 5")]
    phones = [p.phone for p in people if p.phone][:5]
    texts = ["", "a", "m", "traore", "fat", "kouli", "diarra m", "mamadou lamine", "ndiaye", "n diaye", "sy", "Keïta",
             "zzz", *(c[:5] for c in codes), *(p[-4:] for p in phones if p), *(p for p in phones if p)]  # fmt: skip
    for text in texts:
        for offset in (0, 20):
            page = search_people(db, text, limit=20, offset=offset)
            naive = naive_search_people(db, text, limit=20, offset=offset)
            assert [r.id for r in page.people] == [r.id for r in naive.people], text
            assert page.total == naive.total, text
    assert search_people(db, "traore").total > 10  # the population has what the searches look for


def plan(db: sqlite_utils.Database, sql: str, params: list[Any]) -> str:
    return " | ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())


def test_the_queries_read_indexes(db: sqlite_utils.Database) -> None:
    seed_people(db, 200, seed=1)
    listing = plan(db, "SELECT document FROM returnees ORDER BY created_at DESC, id LIMIT 50 OFFSET 0", [])
    assert "returnees_newest" in listing and "TEMP B-TREE" not in listing
    tail = plan(db, "SELECT rowid FROM returnees WHERE phone_tail >= ? AND phone_tail < ?", ["65", "65\uffff"])
    assert "returnees_phone_tail" in tail
    keys = plan(
        db,
        "SELECT r.rowid FROM returnee_keys k CROSS JOIN returnees r ON r.id = k.returnee_id "
        "WHERE k.key IN (SELECT value FROM json_each(?))",
        ['["s:fatumata traor"]'],
    )
    assert "SEARCH k USING PRIMARY KEY" in keys and "SCAN r" not in keys
