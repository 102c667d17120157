"""The bundled dataset: valid, complete (all 48 fiches + 11 ANPE directorates), every contact kept."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from field_app.directory.dataset import Dataset
from field_app.domain.directory import Organization
from field_app.domain.vocabulary import Region
from tests.conftest import SEEDS

SEED = SEEDS / "003_b0b3eacde88cb4a8.txt"
FICHE_HEADING = re.compile(r"^\s*FICHE (PARTENAIRE|ACTEUR) (\d+) :", re.MULTILINE)
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# A Malian number as printed: optional +223 / 00223 prefix, then 8 digits grouped by 2 (or written together).
PHONE = re.compile(
    r"(?<![\d.])(\d{2}[ .]?\d{2}[ .]?\d{2}[ .]?\d{2}|\d{3}[ .]?\d{3}[ .]?\d{2}|\d{6}[ .]\d{2})(?![\d.]*\d)"
)


def seed_fiches() -> dict[str, str]:
    """Fiche id ("partenaire-15") → its text, cut at the next heading (section 5 ends the last one)."""
    text = SEED.read_text(encoding="utf-8")
    text = text[: text.index("5. LISTE DES DOCUMENTS COLLECTES")]
    heads = list(FICHE_HEADING.finditer(text))
    out = {}
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out[f"{head.group(1).lower()}-{head.group(2)}"] = text[head.start() : end]
    return out


def phones_in(text: str) -> set[str]:
    """The 8 national digits of every phone-like number in a text (prefixes stripped)."""
    text = re.sub(r"(\+|00)\s*223\s*/?\s*", " ", text)
    return {re.sub(r"\D", "", m) for m in PHONE.findall(text)}


def org_phones(org: Organization) -> set[str]:
    phones = list(org.phones) + [p for c in org.contacts for p in c.phones]
    return {p.e164.removeprefix("+223") for p in phones}


def org_emails(org: Organization) -> set[str]:
    return {e.lower() for e in [*org.emails, *(e for c in org.contacts for e in c.emails)]}


def by_fiche(dataset: Dataset) -> dict[str, list[Organization]]:
    out: dict[str, list[Organization]] = defaultdict(list)
    for org in dataset.organizations:
        out[org.source.fiche].append(org)
    return out


def test_seed_has_the_48_fiches() -> None:
    fiches = seed_fiches()
    assert len([f for f in fiches if f.startswith("partenaire")]) == 37
    assert len([f for f in fiches if f.startswith("acteur")]) == 11


def test_every_fiche_has_exactly_one_organisation(dataset: Dataset) -> None:
    grouped = by_fiche(dataset)
    for fiche in seed_fiches():
        main = [o for o in grouped.get(fiche, []) if not o.id.startswith("anpe-dr-")]
        assert len(main) == 1, f"{fiche}: {[o.id for o in main]}"
    assert set(grouped) == set(seed_fiches())


def test_the_eleven_anpe_regional_directorates(dataset: Dataset) -> None:
    directorates = [o for o in dataset.organizations if o.id.startswith("anpe-dr-")]
    assert sorted(o.id.removeprefix("anpe-dr-") for o in directorates) == sorted(r.value for r in Region)
    for org in directorates:
        assert org.source.fiche == "partenaire-15" and org.source.inferred_from
        assert [c.name for c in org.contacts] == ["Sambal Sidibé", "Bréhima Sidibé Noumbary"]  # fiche 15's
        assert len(org.locations) == 1
        place = dataset.localities[org.locations[0].locality]
        assert place.kind == "region_capital" and place.region == org.locations[0].region


def test_counts(dataset: Dataset) -> None:
    assert len(dataset.organizations) == 48 + 11
    assert sum(len(o.services) for o in dataset.organizations) > 200


@pytest.mark.parametrize("fiche", sorted(seed_fiches()))
def test_every_phone_and_email_of_a_fiche_is_in_its_organisation(dataset: Dataset, fiche: str) -> None:
    text = seed_fiches()[fiche]
    orgs = by_fiche(dataset)[fiche]
    have_phones = set().union(*(org_phones(o) for o in orgs))
    have_emails = set().union(*(org_emails(o) for o in orgs))
    assert phones_in(text) - have_phones == set(), "phones printed in the fiche but missing from the dataset"
    assert {e.lower() for e in EMAIL.findall(text)} - have_emails == set(), "e-mails missing from the dataset"


@pytest.mark.parametrize("fiche", sorted(seed_fiches()))
def test_no_phone_or_email_is_misattributed(dataset: Dataset, fiche: str) -> None:
    """Every number and address in an organisation's file is printed in that organisation's own fiche."""
    text = seed_fiches()[fiche]
    for org in by_fiche(dataset)[fiche]:
        assert org_phones(org) - phones_in(text) == set(), org.id
        assert org_emails(org) - {e.lower() for e in EMAIL.findall(text)} == set(), org.id


def test_phone_extraction_reads_the_ways_numbers_are_printed() -> None:
    text = (
        "Contact +223 63.15.72.38, +223/66.73.50.99 et 00223 83 22 25 42 ; 20.22.26.91/76.49.74.47 ; 2.299 apprenants"
    )
    assert phones_in(text) == {"63157238", "66735099", "83222542", "20222691", "76497447"}


def test_every_organisation_cites_its_source(dataset: Dataset) -> None:
    for org in dataset.organizations:
        assert org.source.document == "003_b0b3eacde88cb4a8.txt"
        assert (SEEDS / org.source.document).is_file()
        assert org.assured_date.year == 2022


def test_every_location_resolves_in_the_gazetteer(dataset: Dataset) -> None:
    for org in dataset.organizations:
        for loc in org.locations:
            assert loc.locality in dataset.localities, f"{org.id}: {loc.locality}"


def test_file_names_match_ids() -> None:
    from field_app.directory.dataset import default_db_dir

    for path in Path(default_db_dir(), "organizations").glob("*.yaml"):
        assert path.read_text(encoding="utf-8").count(f"\nid: {path.stem}\n") == 1
