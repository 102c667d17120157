"""People search and the duplicate check at scale: indexed look-ups against the naive full scan, in the same run.

Usage: .venv/bin/python bench/people.py [--sizes 1000 10000] [--runs 200]

A device holding N people (registered through the real storage, so every index and key is as the app keeps
it), with the spellings that vary in Malian names (Coulibaly / Koulibaly / Kulibali, Diarra / Jara…), a few
typos, middle names, swapped orders, shared family phones and ~2 referrals each. For each size it prints p50 and
p95 in milliseconds of:

- people search (`field_app.returnees.service.search_people`): a family name, a name start, one letter (a fifth
  of everyone matches), two words, the end of a phone, a slip code, and no text (the newest first) — against
  `naive_search_people` (read every person, fold every name in Python, filter, sort, page);
- the duplicate check (`field_app.returnees.service.find_duplicates`) for a new person who is someone already
  registered spelt another way, and for a stranger — against `naive_find_duplicates` (score every person with
  the same rules: what the check did before the pre-filter).

Each line says whether both ways gave the same answer. Figures, not asserts. helper functions `seed_people`,
`naive_search_people` and `naive_find_duplicates` are shared with the equivalence tests
(tests/storage/test_people_duplicates.py, tests/storage/test_people_search.py) and bench/device.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import sqlite_utils

from field_app.domain.duplicates import likely_duplicates
from field_app.domain.geo import fold
from field_app.domain.returnees import Returnee
from field_app.returnees.service import (
    Duplicate,
    PeoplePage,
    candidate_of,
    find_duplicates,
    people_query,
    search_people,
)
from field_app.storage.database import open_db
from field_app.storage.returnees import every_candidate, get_returnee, insert_returnee

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)

# Each name with the spellings agents write for it (the first is the usual one).
FAMILIES = [
    ["Traoré", "Traore", "Trahoré"], ["Coulibaly", "Koulibaly", "Kulibali", "Couliably"], ["Diarra", "Jara", "Dyarra"],
    ["Keïta", "Keita", "Kéita"], ["Konaté", "Konate"], ["Sissoko", "Cissoko", "Sisoko"], ["Touré", "Toure"],
    ["Diallo", "Jallo", "Dialo"], ["Camara", "Kamara"], ["Cissé", "Sissé"], ["Sangaré", "Sangare"],
    ["Dembélé", "Dembele"], ["Doumbia", "Doumbiya", "Dumbia"], ["Ouattara", "Watara"], ["Sidibé", "Sidibe"],
    ["Samaké", "Samake"], ["Fofana"], ["Kanté", "Kante"], ["Maïga", "Maiga"], ["Sow"], ["Sy"], ["Bagayoko"],
    ["Dicko", "Diko"], ["Guindo", "Gindo"], ["Kouyaté", "Kuyate"], ["Tounkara", "Tunkara"], ["N'Diaye", "Ndiaye"],
    ["Tangara"], ["Dao"], ["Bamba"], ["Sacko", "Sako"], ["Niaré", "Niare"], ["Haïdara", "Haidara"], ["Cissoko"],
]  # fmt: skip
WOMEN = [
    ["Fatoumata", "Fatumata", "Fatoumta"], ["Aminata", "Aminatta"], ["Awa", "Hawa"], ["Mariam", "Mariame"],
    ["Kadiatou", "Kadiatu"], ["Djénéba", "Jeneba", "Dieneba"], ["Oumou", "Umu"], ["Assétou", "Assetou"],
    ["Rokia", "Rokiya"], ["Salimata"], ["Aïssata", "Aissata"], ["Bintou", "Bintu"], ["Coumba", "Kumba"],
]  # fmt: skip
MEN = [
    ["Moussa", "Mousa"], ["Mamadou", "Mamadu"], ["Seydou", "Seidou"], ["Bakary", "Bakari"], ["Oumar", "Umar"],
    ["Ibrahim", "Ibrahima"], ["Ousmane", "Usman"], ["Modibo"], ["Souleymane", "Sulemane"], ["Adama"],
    ["Boubacar", "Bubakar"], ["Cheick", "Cheikh"], ["Abdoulaye", "Abdulaye"], ["Lassana", "Lasana"], ["Drissa"],
    ["Mamady", "Mamadi"], ["Sékou", "Sekou"], ["Yacouba", "Yakuba"],
]  # fmt: skip
MIDDLE = ["Lamine", "Baba", "Karim", "Sidi"]
REGIONS = ["kayes", "koulikoro", "sikasso", "segou", "mopti", "tombouctou", "gao", "bamako"]
REGION_WEIGHTS = [4, 3, 2, 3, 2, 1, 1, 3]


def rid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _spelling(rng: random.Random, variants: list[str]) -> str:
    return variants[0] if rng.random() < 0.7 else rng.choice(variants)


def make_person(rng: random.Random, k: int, phones: list[str]) -> Returnee:
    """One plausible returnee (a spelling variant now and then, a middle name, a family phone)."""
    sex = rng.choice("FM")
    given = _spelling(rng, rng.choice(WOMEN if sex == "F" else MEN))
    if sex == "M" and rng.random() < 0.08:
        given += " " + rng.choice(MIDDLE)
    family = _spelling(rng, rng.choice(FAMILIES))
    if rng.random() < 0.03:
        given, family = family, given  # written the other way round
    if rng.random() < 0.2:
        phone = None
    elif phones and rng.random() < 0.1:
        phone = rng.choice(phones)  # a family's phone
    else:
        phone = f"+223{rng.choice('6789')}{rng.randint(0, 9_999_999):07d}"
        phones.append(phone)
    created = NOW - dt.timedelta(days=rng.uniform(0, 900), seconds=k)
    age = rng.randint(16, 55)
    return Returnee.model_validate(
        {
            "id": rid(rng),
            "given_name": given,
            "family_name": family,
            "sex": sex,
            "age": age,
            "age_recorded_on": created.date().isoformat(),
            "phone": phone,
            "region": rng.choices(REGIONS, REGION_WEIGHTS)[0],
            "consent_keep_on": created.date().isoformat(),
            "created_at": created.isoformat(),
            "updated_at": created.isoformat(),
        }
    )


def seed_people(db: sqlite_utils.Database, n: int, *, seed: int = 0, referrals: float = 2.0) -> list[Returnee]:
    """`n` people registered through the real storage (their keys, phone tails and outbox entries included),
    and about `referrals` referrals each (rows with their slip codes, for the code search)."""
    rng = random.Random(seed)
    phones: list[str] = []
    people = [make_person(rng, k, phones) for k in range(n)]
    services = [r[0] for r in db.execute("SELECT id FROM services ORDER BY id LIMIT 50")] or ["x/y"]
    rows = []
    for person in people:
        for _ in range(int(referrals) + (rng.random() < referrals % 1)):
            ref = rid(rng)
            at = person.created_at.isoformat()
            doc = {"id": ref, "returnee_id": person.id, "service_id": rng.choice(services)}
            rows.append((ref, person.id, doc["service_id"], "org", person.region.value, "queued", json.dumps(doc),
                         at, at, at, ref[:8].upper()))  # fmt: skip
    with db.atomic():
        for person in people:
            insert_returnee(db, person, person.created_at)
        db.conn.executemany(
            "INSERT INTO referrals (id, returnee_id, service_id, organization_id, region, status, document, "
            "created_at, updated_at, last_event_at, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.execute("ANALYZE")
    return people


# --- the naive ways ----------------------------------------------------------------------------------------------


def naive_search_people(db: sqlite_utils.Database, text: str = "", *, limit: int = 50, offset: int = 0) -> PeoplePage:
    """`search_people` the obvious way: read every person, fold every name in Python, match, sort, page."""
    text = " ".join(text.split())
    q = people_query(text)
    words = fold(text).split()
    codes: dict[str, list[str]] = {}
    if q.code:
        for returnee_id, code in db.execute("SELECT returnee_id, code FROM referrals"):
            codes.setdefault(returnee_id, []).append(code)
    kept = []
    for (document,) in db.execute("SELECT document FROM returnees"):
        r = Returnee.model_validate_json(document)
        tokens = fold(r.full_name).split()
        digits = "".join(ch for ch in r.phone or "" if ch.isdigit())
        ok = not text
        ok = ok or bool(q.names and all(any(t.startswith(w) for t in tokens) for w in words))
        ok = ok or bool(q.tail and digits.endswith(q.tail[::-1]))
        ok = ok or bool(q.code and any(c.startswith(q.code) for c in codes.get(r.id, [])))
        if ok:
            kept.append(r)
    kept.sort(key=lambda r: r.id)
    kept.sort(key=lambda r: r.created_at.isoformat(), reverse=True)
    return PeoplePage(kept[offset : offset + limit], len(kept), offset, limit, text)


def naive_find_duplicates(db: sqlite_utils.Database, candidate: Returnee, limit: int = 5) -> list[Duplicate]:
    """`find_duplicates` the obvious way: score every person registered here (the same rules, no index)."""
    matches = likely_duplicates(candidate_of(candidate), every_candidate(db), limit=limit)
    return [Duplicate(get_returnee(db, m.id), m) for m in matches]


# --- timing ------------------------------------------------------------------------------------------------------


def timed(fn: Callable[[], object], runs: int, warmup: int = 3) -> tuple[float, float]:
    """p50 and p95 of `runs` calls, in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def variant_of(rng: random.Random, person: Returnee, *, new_id: str) -> Returnee:
    """Someone already registered, registered again: another spelling of the family name, the names swapped, an
    age given 4 years off, in the same region."""
    family = next((v for v in FAMILIES if person.family_name in v), [person.family_name])
    spelt = rng.choice([v for v in family if v != person.family_name] or family)
    assert person.age is not None
    return person.model_copy(
        update={"id": new_id, "given_name": spelt, "family_name": person.given_name, "age": person.age + 4}
    )


def stranger(rng: random.Random, *, new_id: str) -> Returnee:
    return make_person(rng, 0, []).model_copy(update={"id": new_id, "given_name": "Zeinabou", "phone": None})


def bench(size: int, runs: int, tmp: Path) -> list[str]:
    db = open_db(tmp / f"people-{size}.db")
    start = time.perf_counter()
    people = seed_people(db, size, seed=size)
    seeded = time.perf_counter() - start
    rng = random.Random(1)
    sample = people[len(people) // 3]
    code = db.execute("SELECT code FROM referrals WHERE returnee_id = ?", [sample.id]).fetchone()[0]
    phone = next(p.phone for p in people if p.phone)
    assert phone is not None
    keys = db.execute("SELECT count(*) FROM returnee_keys").fetchone()[0]
    lines = [f"{size:,} people, {keys:,} name keys (seeded in {seeded:.1f} s); ms p50 / p95, naive p50 / p95"]
    naive_runs = max(5, min(runs, 200_000 // size))
    searches = {
        "search 'traore'": "traore",
        "search 'fat'": "fat",
        "search 'a' (many match)": "a",
        "search 'coul mou'": "coul mou",
        f"search phone end '{phone[-4:]}'": phone[-4:],
        "search slip code": code[:6].lower(),
        "no text (newest 50)": "",
    }
    for name, text in searches.items():
        page = search_people(db, text)
        naive = naive_search_people(db, text)
        same = [r.id for r in page.people] == [r.id for r in naive.people] and page.total == naive.total
        fast = timed(lambda t=text: search_people(db, t), runs)
        slow = timed(lambda t=text: naive_search_people(db, t), naive_runs, warmup=1)
        lines.append(f"  {name:<28} {page.total:>6} found  {fast[0]:7.2f} / {fast[1]:7.2f}   "
                     f"{slow[0]:8.1f} / {slow[1]:8.1f}   same: {same}")  # fmt: skip
    checks = {
        "duplicate check: a variant": variant_of(rng, sample, new_id=rid(rng)),
        "duplicate check: a stranger": stranger(rng, new_id=rid(rng)),
    }
    for name, person in checks.items():
        found = find_duplicates(db, person)
        naive_found = naive_find_duplicates(db, person)
        same = [(d.returnee.id, d.match) for d in found] == [(d.returnee.id, d.match) for d in naive_found]
        fast = timed(lambda p=person: find_duplicates(db, p), runs)
        slow = timed(lambda p=person: naive_find_duplicates(db, p), naive_runs, warmup=1)
        lines.append(f"  {name:<28} {len(found):>6} found  {fast[0]:7.2f} / {fast[1]:7.2f}   "
                     f"{slow[0]:8.1f} / {slow[1]:8.1f}   same: {same}")  # fmt: skip
    db.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            for line in bench(size, args.runs, Path(tmp)):
                print(line, flush=True)


if __name__ == "__main__":
    main()
