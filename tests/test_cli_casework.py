"""The field agent's commands (`returnee`, `eligible`, `referral`) as scripts use them: real processes, real files."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import sqlite3
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date

from field_app.domain.vocabulary import Document, Education, Language, Region, Sector, Sex, Vulnerability
from tests.test_cli import REPO, run

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
VERDICT_ORDER = {"eligible": 0, "eligible_if": 1, "not_eligible": 2}

MOUSSA = {
    "given_name": "Moussa",
    "family_name": "Diarra",
    "sex": "M",
    "age": 24,
    "phone": "76 12 34 56",
    "region": "kayes",
    "locality": "kayes",
    "documents": ["birth_certificate", "id_card"],
    "education": "def",
    "reads_french": True,
    "consent": True,
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the directory loaded, built once; tests copy it (they write returnees)."""
    path = tmp_path_factory.mktemp("built")
    result = run("directory", "build", "--data-dir", str(path))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def data_dir(built: Path, tmp_path: Path) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    for file in built.glob("field_app.db*"):
        shutil.copy(file, target / file.name)
    return target


def cli(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    return run(*args, "--data-dir", str(data_dir), env=env)


def write_json(path: Path, value: object) -> str:
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


def rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(data_dir / "field_app.db") as conn:
        return conn.execute(sql).fetchall()


def count(data_dir: Path, table: str) -> int:
    return int(rows(data_dir, f"SELECT count(*) FROM {table}")[0][0])


def add_returnee(data_dir: Path, tmp_path: Path, person: dict[str, object] = MOUSSA) -> str:
    result = cli(data_dir, "returnee", "add", "--json", write_json(tmp_path / "person.json", person))
    assert result.returncode == 0, result.stderr
    return str(result.stdout.strip())


# --- returnee add / list / show --------------------------------------------------------------------------------


def test_add_prints_the_id_and_stores_the_returnee_with_its_outbox_entry(data_dir: Path, tmp_path: Path) -> None:
    new_id = add_returnee(data_dir, tmp_path)
    assert UUID.match(new_id)
    assert rows(data_dir, "SELECT id, given_name, family_name, region FROM returnees") == [
        (new_id, "Moussa", "Diarra", "kayes")
    ]
    assert rows(data_dir, "SELECT entity, entity_id, op FROM outbox") == [("returnee", new_id, "upsert")]
    shown = json.loads(cli(data_dir, "returnee", "show", new_id, "--json").stdout)
    assert shown["phone"] == "+22376123456" and shown["documents"] == ["birth_certificate", "id_card"]
    listed = json.loads(cli(data_dir, "returnee", "list", "--json").stdout)
    assert [r["id"] for r in listed] == [new_id]
    readable = cli(data_dir, "returnee", "show", new_id)
    assert readable.returncode == 0 and "Family name: Diarra" in readable.stdout
    assert "Documents held: birth certificate, identity card" in readable.stdout
    unknown = cli(data_dir, "returnee", "show", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr


def test_bad_input_names_every_bad_field_and_stores_nothing(data_dir: Path, tmp_path: Path) -> None:
    bad = {"given_name": " ", "sex": "X", "age": "old", "region": "paris", "consent": False, "nickname": "Mouss"}
    result = cli(data_dir, "returnee", "add", "--json", write_json(tmp_path / "bad.json", bad))
    assert result.returncode == 1 and result.stdout == ""
    fields = {line.split(": ", 1)[0] for line in result.stderr.splitlines()}
    assert {"given_name", "family_name", "sex", "age", "region", "consent", "nickname"} <= fields
    (sex,) = [line for line in result.stderr.splitlines() if line.startswith("sex: ")]
    assert "“X”" in sex and "F, M" in sex  # the value given and the valid codes
    assert count(data_dir, "returnees") == 0 and count(data_dir, "outbox") == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [('{"given_name": "Moussa",', "is not valid JSON (line 1, column 25)"), ('["Moussa"]', "one JSON object")],
)
def test_a_file_that_is_not_a_json_object_is_refused(
    data_dir: Path, tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "person.json"
    path.write_text(content, encoding="utf-8")
    result = cli(data_dir, "returnee", "add", "--json", str(path))
    assert result.returncode == 1
    assert result.stderr.startswith("--json: ") and expected in result.stderr
    missing = cli(data_dir, "returnee", "add", "--json", str(tmp_path / "absent.json"))
    assert missing.returncode == 1 and "absent.json" in missing.stderr
    assert count(data_dir, "returnees") == 0 and count(data_dir, "outbox") == 0


def test_a_likely_duplicate_is_refused_unless_forced(data_dir: Path, tmp_path: Path) -> None:
    first = add_returnee(data_dir, tmp_path)
    again = {**MOUSSA, "given_name": "DIARRA", "family_name": "moussa", "age": 25}  # swapped, same phone
    path = write_json(tmp_path / "again.json", again)
    refused = cli(data_dir, "returnee", "add", "--json", path)
    assert refused.returncode == 1 and refused.stdout == ""
    assert first in refused.stderr and "Moussa Diarra" in refused.stderr
    assert "same phone number" in refused.stderr and "--force" in refused.stderr
    assert count(data_dir, "returnees") == 1
    forced = cli(data_dir, "returnee", "add", "--json", path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert UUID.match(forced.stdout.strip()) and forced.stdout.strip() != first
    assert count(data_dir, "returnees") == 2 and count(data_dir, "outbox") == 2
    someone_else = {**MOUSSA, "given_name": "Awa", "family_name": "Traoré", "sex": "F", "phone": "66 00 11 22"}
    assert cli(data_dir, "returnee", "add", "--json", write_json(tmp_path / "awa.json", someone_else)).returncode == 0


# --- eligible ----------------------------------------------------------------------------------------------------

MATCH_ORDER = {"sector_of_interest": 0, "trade": 1, "none": 2}


def eligible_json(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    result = cli(data_dir, "eligible", *args, "--json")
    assert result.returncode == 0, result.stderr
    value = json.loads(result.stdout)
    assert isinstance(value, list)
    return value


def service_order(h: dict[str, Any]) -> tuple[int, int, bool, float]:
    return (
        VERDICT_ORDER[h["status"]],
        MATCH_ORDER[h["match"]["code"]],
        h["distance_km"] is None,
        h["distance_km"] or 0,
    )


def assert_ranked(hits: list[dict[str, Any]]) -> list[str]:
    """The items come one partner after another (partner_rank 1, 2, …), each partner's services best first, and
    the partners in the order the issue asks for, recomputed here from the items: best verdict, then the best
    match among what the person can join, then that service's distance. Returns the partners in order."""
    partners: list[str] = []
    for h in hits:
        if not partners or partners[-1] != h["organization_id"]:
            assert h["organization_id"] not in partners, "a partner's services come together"
            partners.append(h["organization_id"])
        assert h["partner_rank"] == len(partners) and h["service_id"].startswith(h["organization_id"] + "/")
    groups = [[h for h in hits if h["organization_id"] == o] for o in partners]
    keys = []
    for services in groups:
        assert [service_order(h) for h in services] == sorted(service_order(h) for h in services)
        joinable = [h for h in services if h["status"] != "not_eligible"] or services
        best = min(service_order(h) for h in joinable)[1:]
        keys.append((min(VERDICT_ORDER[h["status"]] for h in services), *best))
    assert keys == sorted(keys)
    return partners


def test_eligible_near_kayes_json(data_dir: Path, tmp_path: Path) -> None:
    profile = {"age": 25, "sex": "M", "region": "kayes", "documents": ["birth_certificate"]}
    path = write_json(tmp_path / "profile.json", profile)
    hits = eligible_json(data_dir, "--profile", path, "--near-place", "Kayes", "--limit", "0")
    assert len(hits) > 50  # --limit 0: all of them
    keys = {"service_id", "organization_id", "organization", "service", "pathway", "status", "reasons", "match"}
    assert all(keys | {"distance_km", "partner_rank"} <= set(h) for h in hits)
    assert {h["status"] for h in hits} == set(VERDICT_ORDER)
    partners = assert_ranked(hits)
    assert len(partners) > 10 and len(partners) < len(hits)  # grouped: several services per partner
    assert all(h["match"] == {"code": "none", "sector": None, "term": None, "trade": None,
                              "message": "no interest matched"} for h in hits)  # fmt: skip
    assert all(h["distance_km"] is None or h["distance_km"] <= 150 for h in hits)
    assert all(h["distance_km"] is not None or h["coverage"] for h in hits)
    reasons = [r for h in hits for r in h["reasons"]]
    assert reasons and all(isinstance(r["code"], str) and r["message"] and r["message"] != r["code"] for r in reasons)
    assert all(h["reasons"] == [] for h in hits if h["status"] == "eligible")
    assert all(h["reasons"] for h in hits if h["status"] != "eligible")
    # without a place, the point is the capital of the profile's region: the same answer
    assert eligible_json(data_dir, "--profile", path, "--limit", "0") == hits


def test_a_man_interested_in_mechanics_sees_the_mechanics_trainings_first(data_dir: Path, tmp_path: Path) -> None:
    """Kayes, 25, no papers, interested in mechanics: the Atelier-École (mechanics courses he can join) and IFPI
    (Mécanique auto if he brings a diploma) come before every partner with nothing in mechanics."""
    man = {"age": 25, "sex": "M", "region": "kayes", "sectors": ["mechanics"]}
    hits = eligible_json(data_dir, "--profile", write_json(tmp_path / "m.json", man), "--limit", "0")
    partners = assert_ranked(hits)
    assert partners[:2] == ["atelier-ecole-kayes", "ifpi-kayes"]
    by_id = {h["service_id"]: h for h in hits}
    auto = by_id["ifpi-kayes/mecanique-auto"]
    assert auto["status"] == "eligible_if" and auto["match"]["code"] == "sector_of_interest"
    assert auto["match"]["sector"] == "mechanics" and auto["match"]["term"] == "Mécanique"
    assert "Mechanics" in auto["match"]["message"]
    assert by_id["ifpi-kayes/electromenager"]["match"]["code"] == "none"
    # the trade before leaving counts too, after the sectors of interest
    trade = eligible_json(data_dir, "--profile", write_json(tmp_path / "t.json", {**man, "sectors": []}),
                          "--trade", "mécanicien", "--limit", "0")  # fmt: skip
    assert assert_ranked(trade)[:2] == ["atelier-ecole-kayes", "ifpi-kayes"]
    assert {h["service_id"]: h for h in trade}["ifpi-kayes/mecanique-auto"]["match"]["trade"] == "mécanicien"
    # --sector overrides the profile's: farming instead, and IFPI is no longer second
    sewing = eligible_json(data_dir, "--profile", write_json(tmp_path / "s.json", man), "--sector", "agriculture",
                           "--limit", "0")  # fmt: skip
    assert assert_ranked(sewing)[1] != "ifpi-kayes"
    assert {h["match"]["sector"] for h in sewing if h["match"]["code"] != "none"} == {"agriculture"}


def test_pages_of_partners_follow_each_other_and_say_how_many(data_dir: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "p.json", {"age": 30, "sex": "M", "region": "kayes", "sectors": ["mechanics"]})
    whole = eligible_json(data_dir, "--profile", path, "--limit", "0")
    partners = len({h["organization_id"] for h in whole})
    pages = []
    for page in range(1, 100):
        hits = eligible_json(data_dir, "--profile", path, "--limit", "4", "--page", str(page))
        if not hits:
            break
        assert len({h["organization_id"] for h in hits}) == min(4, partners - 4 * (page - 1))
        pages += hits
    assert pages == whole and page == -(-partners // 4) + 1
    first = cli(data_dir, "eligible", "--profile", path, "--limit", "4").stdout.splitlines()
    assert first[1] == f"{partners} partners, {len(whole)} services; partners 1–4:"
    assert first[-1] == "More: --page 2"
    assert first[3].startswith("1. Atelier École de Kayes [atelier-ecole-kayes]")
    assert first[4].startswith("   Why here: ") and "Mechanics, a sector of interest" in first[4]
    last = cli(data_dir, "eligible", "--profile", path, "--limit", "4", "--page", str(page - 1)).stdout
    assert "More:" not in last
    beyond = cli(data_dir, "eligible", "--profile", path, "--limit", "4", "--page", str(page))
    assert beyond.returncode == 0 and "No partner on this page." in beyond.stdout
    french = cli(data_dir, "eligible", "--profile", path, "--limit", "1", env={"FIELD_APP_LANG": "fr"})
    assert f"{partners} partenaires, {len(whole)} services ; partenaires 1–1 :" in french.stdout
    bad_page = cli(data_dir, "eligible", "--profile", path, "--page", "0")
    assert bad_page.returncode == 1 and bad_page.stderr.startswith("--page: ")
    assert cli(data_dir, "eligible", "--profile", path, "--sector", "astronaut").returncode == 2
    bad = write_json(tmp_path / "b.json", {"age": 30, "sex": "M", "region": "kayes", "sectors": ["astronaut"]})
    refused = cli(data_dir, "eligible", "--profile", bad)
    assert refused.returncode == 1 and refused.stderr.startswith("sectors: ")


def test_a_profile_too_young_is_not_eligible_where_there_is_a_minimum_age(data_dir: Path, tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()

    def verdicts(years: int) -> dict[str, dict[str, Any]]:
        birth = dt.date(today.year - years, 1, 1)  # exactly `years` old today
        profile = {"birth_date": birth.isoformat(), "sex": "F", "region": "bamako", "documents": []}
        path = write_json(tmp_path / f"p{years}.json", profile)
        result = cli(data_dir, "eligible", "--profile", path, "--limit", "0", "--json")
        assert result.returncode == 0, result.stderr
        return {h["service_id"]: h for h in json.loads(result.stdout)}

    young = verdicts(12)["cfp-missabougou/coupe-couture"]  # from 15 years
    assert young["status"] == "not_eligible"
    (reason,) = [r for r in young["reasons"] if r["code"] == "below_min_age"]
    assert "15" in reason["message"] and reason["params"] == {"min_age": "15"}
    adult = verdicts(20)["cfp-missabougou/coupe-couture"]
    assert "below_min_age" not in {r["code"] for r in adult["reasons"]}
    only = cli(data_dir, "eligible", "--profile", str(tmp_path / "p12.json"), "--eligible-only", "--json")
    assert "not_eligible" not in {h["status"] for h in json.loads(only.stdout)}


def test_eligible_readable_table_and_filters(data_dir: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "profile.json", {"age": 35, "sex": "M", "region": "bamako"})
    table = cli(data_dir, "eligible", "--profile", path, "--text", "mecanique", "--pathway", "formation")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0] == "Around Bamako, within 150 km:"
    assert any(line.startswith("Eligible ") and "[centre-pere-michel/" in line for line in lines)
    assert any(line.startswith("Not eligible ") for line in lines)
    assert "Too old: up to 30 years." in table.stdout  # the first reason under a CAP limited to 18-30
    hits = json.loads(cli(data_dir, "eligible", "--profile", path, "--pathway", "emploi", "--json").stdout)
    assert hits and {h["pathway"] for h in hits} == {"emploi"}
    free = json.loads(cli(data_dir, "eligible", "--profile", path, "--free-only", "--json").stdout)
    assert free and all(h["free"] for h in free)
    near = json.loads(cli(data_dir, "eligible", "--profile", path, "--near", "14.45,-11.44", "--json").stdout)
    assert near[0]["town"] == "Kayes"
    helptext = run("eligible", "--help").stdout
    assert "capital of the profile's region" in " ".join(helptext.split())


def test_bad_profile_names_every_bad_field(data_dir: Path, tmp_path: Path) -> None:
    bad = {"age": 30, "birth_date": "2000-13-01", "sex": "W", "documents": ["passport"], "education": "phd"}
    result = cli(data_dir, "eligible", "--profile", write_json(tmp_path / "p.json", {**bad, "reads_french": "oui"}))
    assert result.returncode == 1 and result.stdout == ""
    fields = [line.split(": ", 1)[0] for line in result.stderr.splitlines()]
    assert fields == ["birth_date", "sex", "region", "documents", "education", "reads_french"]
    both = cli(
        data_dir, "eligible", "--profile", write_json(tmp_path / "q.json", {"age": 3, "birth_date": "2020-01-01"})
    )
    assert "age: Give a birth date or an age, not both." in both.stderr.splitlines()
    good = write_json(tmp_path / "good.json", {"age": 30, "sex": "F", "region": "gao"})
    bad_point = cli(data_dir, "eligible", "--profile", good, "--near", "north")
    assert bad_point.returncode == 1 and bad_point.stderr.startswith("--near: ")
    no_profile = run("eligible", "--data-dir", str(data_dir))
    assert no_profile.returncode == 2


def test_eligible_for_a_registered_returnee_uses_their_profile(data_dir: Path, tmp_path: Path) -> None:
    returnee = add_returnee(data_dir, tmp_path)
    result = cli(data_dir, "eligible", "--returnee", returnee, "--limit", "0", "--json")
    assert result.returncode == 0, result.stderr
    hits = {h["service_id"]: h for h in json.loads(result.stdout)}
    # 24 years old: too old for ENDA's shelter for minors in Kayes (up to 17)
    assert "above_max_age" in {r["code"] for r in hits["enda-mali/accueil-hebergement"]["reasons"]}
    assert hits["atelier-ecole-kayes/maraichage"]["distance_km"] == 0.0  # measured from Kayes, the place of return
    unknown = cli(data_dir, "eligible", "--returnee", "nobody")
    assert unknown.returncode == 1 and "nobody" in unknown.stderr


# --- referrals ---------------------------------------------------------------------------------------------------


def test_referral_create_list_slip_cancel_round_trip(data_dir: Path, tmp_path: Path) -> None:
    returnee = add_returnee(data_dir, tmp_path)
    service = "ifpi-kayes/mecanique-auto"
    created = cli(
        data_dir, "referral", "create", "--returnee", returnee, "--service", service, "--consent", "--note", "matin"
    )
    assert created.returncode == 0, created.stderr
    referral = created.stdout.strip()
    assert UUID.match(referral)
    (line,) = json.loads(cli(data_dir, "referral", "list", "--json").stdout)
    assert line["id"] == referral and line["status"] == "queued" and line["returnee"] == "Moussa Diarra"
    assert line["service_id"] == service and line["service"] == "Mécanique auto" and line["note"] == "matin"
    assert "Kayes" in line["organization"] and dt.datetime.fromisoformat(line["created_at"]).tzinfo is not None
    readable = cli(data_dir, "referral", "list")
    assert referral in readable.stdout and "Waiting to be sent" in readable.stdout
    slip = cli(data_dir, "referral", "slip", referral)
    assert slip.returncode == 0 and referral[:8].upper() in slip.stdout and "Moussa Diarra" in slip.stdout
    assert rows(data_dir, "SELECT entity, entity_id, op FROM outbox ORDER BY seq") == [
        ("returnee", returnee, "upsert"),
        ("referral", referral, "create"),
    ]

    cancelled = cli(data_dir, "referral", "cancel", referral)
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cli(data_dir, "referral", "list", "--json").stdout)[0]["status"] == "revoked"
    outbox = rows(data_dir, "SELECT entity, op, payload FROM outbox ORDER BY seq")
    assert [(e, op) for e, op, _ in outbox] == [
        ("returnee", "upsert"),
        ("referral", "create"),
        ("referral_event", "append"),
    ]
    event = json.loads(outbox[2][2])
    assert event["referral_id"] == referral and event["kind"] == "revoked"

    twice = cli(data_dir, "referral", "cancel", referral)
    assert twice.returncode == 1 and "only a queued referral can be cancelled" in twice.stderr
    assert count(data_dir, "outbox") == 3 and count(data_dir, "referral_events") == 2
    unknown = cli(data_dir, "referral", "cancel", "nope")
    assert unknown.returncode == 1 and "nope" in unknown.stderr


def test_referral_without_consent_is_refused_and_stores_nothing(data_dir: Path, tmp_path: Path) -> None:
    returnee = add_returnee(data_dir, tmp_path)
    result = cli(data_dir, "referral", "create", "--returnee", returnee, "--service", "ifpi-kayes/mecanique-auto")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("consent: ")
    assert count(data_dir, "referrals") == 0 and count(data_dir, "referral_events") == 0
    assert count(data_dir, "outbox") == 1  # the returnee's own entry only
    unknown = cli(data_dir, "referral", "create", "--returnee", returnee, "--service", "nowhere/x", "--consent")
    assert unknown.returncode == 1 and "nowhere/x" in unknown.stderr
    long_note = ("--note", "x" * 501)
    too_long = cli(
        data_dir,
        "referral",
        "create",
        "--returnee",
        returnee,
        "--service",
        "ifpi-kayes/mecanique-auto",
        "--consent",
        *long_note,
    )
    assert too_long.returncode == 1 and too_long.stderr.startswith("note: ") and "500" in too_long.stderr
    assert count(data_dir, "referrals") == 0


def test_french_output(data_dir: Path, tmp_path: Path) -> None:
    """French is the default: dates and numbers are French, errors say "erreur"."""
    french = {"FIELD_APP_LANG": "fr"}
    returnee = add_returnee(data_dir, tmp_path)
    service = "ifpi-kayes/mecanique-auto"
    created = cli(data_dir, "referral", "create", "--returnee", returnee, "--service", service, "--consent", env=french)
    assert created.returncode == 0, created.stderr
    (line,) = json.loads(cli(data_dir, "referral", "list", "--json", env=french).stdout)
    day = dt.datetime.fromisoformat(line["created_at"]).date()
    slip = cli(data_dir, "referral", "slip", line["id"], env=french)
    assert format_date(day, format="long", locale="fr_ML") in slip.stdout
    path = write_json(tmp_path / "p.json", {"age": 30, "sex": "M", "region": "bamako"})
    table = cli(data_dir, "eligible", "--profile", path, "--text", "missabougou", env=french)
    assert "5,8 km" in table.stdout  # Missabougou from central Bamako, with a decimal comma
    unknown = cli(data_dir, "referral", "cancel", "nope", env=french)
    assert unknown.returncode == 1 and unknown.stderr.startswith("erreur : ")


# --- the README cannot drift from the vocabularies ------------------------------------------------------------------

VOCABULARIES: dict[str, type[StrEnum]] = {
    "documents": Document,
    "education": Education,
    "sex": Sex,
    "languages": Language,
    "sectors": Sector,
    "vulnerabilities": Vulnerability,
    "region": Region,
}


def field_agent_section() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Field-agent commands")
    end = readme.find("\n## ", start)
    return readme[start : end if end != -1 else None]


@pytest.mark.parametrize("field", sorted(VOCABULARIES))
def test_readme_vocabulary_table_lists_every_code(field: str) -> None:
    row = next((line for line in field_agent_section().splitlines() if line.startswith(f"| `{field}` |")), None)
    assert row is not None, f"no README row for {field}"
    listed = set(re.findall(r"`([^`]+)`", row.split("|", 3)[3]))
    assert listed == {code.value for code in VOCABULARIES[field]}
