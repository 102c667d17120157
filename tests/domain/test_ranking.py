"""The ranking, table-tested: sectors read from a service's words, the match with a person's interests, and the
order of services and partners (verdict, then match, then distance)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from field_app.domain.eligibility import Status
from field_app.domain.ranking import (
    NO_MATCH,
    SECTOR_TERMS,
    Interests,
    Match,
    MatchKind,
    ServiceKey,
    match,
    match_rank,
    partner_key,
    partner_reasons,
    sector_mask,
    sectors_in,
    service_key,
    service_sectors,
    sort_name,
)
from field_app.domain.vocabulary import Sector

E, IF, NE = Status.ELIGIBLE, Status.ELIGIBLE_IF, Status.NOT_ELIGIBLE
M = Sector

# (text, the sectors it speaks of with the words that showed each) — names from db/organizations/*.yaml
SECTOR_TABLE: list[tuple[str, dict[Sector, str]]] = [
    ("Mécanique auto", {M.MECHANICS: "Mécanique"}),
    ("CAP Mécanique auto", {M.MECHANICS: "Mécanique"}),
    ("BT Électromécanique", {M.MECHANICS: "Électromécanique"}),
    ("BT Mécatronique", {M.MECHANICS: "Mécatronique"}),
    ("Maintenance automobile", {M.MECHANICS: "automobile"}),
    ("Groupes motopompes", {M.MECHANICS: "motopompes"}),
    ("Ouvrier qualifié en Maintenance, Entretien et Réparation des tracteurs",
     {M.AGRICULTURE: "tracteurs", M.MECHANICS: "Réparation des tracteurs"}),
    ("Coaching, mentorat. Les mécanismes de mentorat permettent un suivi", {}),  # mécanismes: not mechanics
    ("Pompes électriques", {M.ELECTRICITY: "électriques"}),
    ("Électricité bâtiment", {M.CONSTRUCTION: "bâtiment", M.ELECTRICITY: "Électricité"}),
    ("Froid-climatisation", {M.ELECTRICITY: "Froid"}),
    ("Panneaux solaires", {M.ELECTRICITY: "solaires"}),
    ("Menuiserie-bois", {M.WOODWORK: "Menuiserie"}),
    ("Menuiserie métallique", {M.METALWORK: "Menuiserie métallique"}),  # not woodwork
    ("CAP en soudure", {M.METALWORK: "soudure"}),
    ("Réponse pendant la période de soudure", {}),  # the lean season, not welding
    ("Coupe-couture", {M.TAILORING: "couture"}),
    ("Coiffure et esthétique", {M.HAIRDRESSING: "Coiffure"}),
    ("Hôtellerie et tourisme", {M.CATERING: "Hôtellerie"}),
    ("Transformation agroalimentaire", {M.FOOD_PROCESSING: "Transformation agroalimentaire"}),
    ("Maraîchage", {M.AGRICULTURE: "Maraîchage"}),
    ("Embouche bovine et ovine", {M.LIVESTOCK: "Embouche"}),
    ("Pisciculture", {M.FISHING: "Pisciculture"}),
    ("Maintenance informatique", {M.DIGITAL: "informatique"}),
    ("Intermédiation et information sur le marché du travail", {}),  # information is not informatique
    ("Formations en pisciculture, aviculture, maraîchage et TIC",
     {M.AGRICULTURE: "maraîchage", M.LIVESTOCK: "aviculture", M.FISHING: "pisciculture", M.DIGITAL: "TIC"}),
    ("Conduite de tracteur", {M.AGRICULTURE: "tracteur", M.TRANSPORT: "Conduite de"}),
    ("Commerce et distribution", {M.COMMERCE: "Commerce"}),
    ("Cordonnerie", {M.CRAFTS: "Cordonnerie"}),
    ("Formations à la carte pour jeunes sans emploi et migrants de retour", {}),
    ("Formation comptable", {}),
    ("Accompagnement psychosocial", {}),
    ("", {}),
    # what people say their trade was
    ("mécanicien", {M.MECHANICS: "mécanicien"}),
    ("Mécanicien moto", {M.MECHANICS: "Mécanicien"}),
    ("maçon", {M.CONSTRUCTION: "maçon"}),
    ("soudeur", {M.METALWORK: "soudeur"}),
    ("couturière", {M.TAILORING: "couturière"}),
    ("commerçante", {M.COMMERCE: "commerçante"}),
    ("chauffeur de taxi", {M.TRANSPORT: "chauffeur"}),
    ("cultivateur", {M.AGRICULTURE: "cultivateur"}),
    ("éleveur", {M.LIVESTOCK: "éleveur"}),
    ("gardien", {}),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SECTOR_TABLE)
def test_sectors_a_text_speaks_of(text: str, expected: dict[Sector, str]) -> None:
    assert sectors_in(text) == expected


def test_a_service_name_speaks_before_its_description() -> None:
    found = service_sectors("Mécanique auto", "Formation en mécanique automobile et en électricité.")
    assert found == {M.MECHANICS: "Mécanique", M.ELECTRICITY: "électricité"}
    assert list(found) == [M.MECHANICS, M.ELECTRICITY]  # the vocabulary's order, not the text's
    assert service_sectors("Gestion", None) == {}


def test_other_is_never_matched_and_every_sector_has_stems() -> None:
    assert set(SECTOR_TERMS) == set(Sector) - {Sector.OTHER}
    assert all(SECTOR_TERMS[s] for s in SECTOR_TERMS)


MECHANIC = Interests(frozenset({M.MECHANICS}))
# (the service's sectors, the person's interests, the kind of match, its sector, its term, the trade's word)
MATCH_TABLE: list[tuple[dict[Sector, str], Interests, MatchKind, Sector | None, str | None, str | None]] = [
    ({M.MECHANICS: "Mécanique"}, MECHANIC, MatchKind.SECTOR_OF_INTEREST, M.MECHANICS, "Mécanique", None),
    ({M.MECHANICS: "Mécanique"}, Interests(trade="mécanicien"), MatchKind.TRADE, M.MECHANICS, "Mécanique",
     "mécanicien"),
    ({M.MECHANICS: "Mécanique"}, Interests(frozenset({M.MECHANICS}), "mécanicien"), MatchKind.SECTOR_OF_INTEREST,
     M.MECHANICS, "Mécanique", None),  # both: the sector asked for counts first
    ({M.ELECTRICITY: "Froid", M.MECHANICS: "moteur"}, Interests(frozenset({M.ELECTRICITY}), "mécanicien"),
     MatchKind.SECTOR_OF_INTEREST, M.ELECTRICITY, "Froid", None),
    ({M.TAILORING: "Couture"}, Interests(frozenset({M.MECHANICS}), "couturière"), MatchKind.TRADE, M.TAILORING,
     "Couture", "couturière"),
    ({M.TAILORING: "Couture"}, MECHANIC, MatchKind.NONE, None, None, None),
    ({}, MECHANIC, MatchKind.NONE, None, None, None),
    ({M.MECHANICS: "Mécanique"}, Interests(), MatchKind.NONE, None, None, None),
    ({M.MECHANICS: "Mécanique"}, Interests(trade="gardien"), MatchKind.NONE, None, None, None),
    ({M.CONSTRUCTION: "bâtiment", M.ELECTRICITY: "Électricité"},
     Interests(frozenset({M.ELECTRICITY, M.CONSTRUCTION})), MatchKind.SECTOR_OF_INTEREST, M.CONSTRUCTION, "bâtiment",
     None),  # two sectors asked for: the vocabulary's first
]  # fmt: skip


@pytest.mark.parametrize(("service", "interests", "kind", "sector", "term", "trade"), MATCH_TABLE)
def test_match_with_the_persons_interests(
    service: dict[Sector, str],
    interests: Interests,
    kind: MatchKind,
    sector: Sector | None,
    term: str | None,
    trade: str | None,
) -> None:
    found = match(service, interests)
    assert found == Match(kind, sector, term, trade)
    assert found.rank == [MatchKind.SECTOR_OF_INTEREST, MatchKind.TRADE, MatchKind.NONE].index(kind)
    # the fast query's bit arithmetic says the same
    interest_mask = sector_mask(interests.sectors)
    trade_mask = sector_mask(interests.trade_sectors) & ~interest_mask
    assert match_rank(sector_mask(service), interest_mask, trade_mask) == found.rank


@given(
    service=st.dictionaries(st.sampled_from(Sector), st.just("x"), max_size=4),
    sectors=st.frozensets(st.sampled_from(Sector), max_size=4),
    trade=st.none() | st.sampled_from(["mécanicien", "maçon", "couturière", "gardien", "soudeur et chauffeur"]),
)
def test_the_masks_always_agree_with_the_match(
    service: dict[Sector, str], sectors: frozenset[Sector], trade: str | None
) -> None:
    interests = Interests(sectors, trade)
    interest_mask = sector_mask(sectors)
    assert match_rank(sector_mask(service), interest_mask, sector_mask(interests.trade_sectors) & ~interest_mask) == (
        match(service, interests).rank
    )


def key(status: Status, rank: int, km: float | None, service: str, org: str = "Centre A") -> ServiceKey:
    return service_key(status, rank, km, org, service, f"{org}/{service}")


# services in the order the issue asks for: verdict, then match, then with an office, nearest, then names
SERVICE_ORDER = [
    key(E, 0, 12.0, "Mécanique auto"),  # eligible and in his sector, even 12 km away
    key(E, 1, 0.0, "Soudure"),  # eligible, his trade
    key(E, 2, 0.0, "Alphabétisation"),  # eligible, nothing he asked for, here
    key(E, 2, 0.0, "Électricité"),  # …the same, names folded: É among the E's
    key(E, 2, 0.0, "Gestion"),
    key(E, 2, 3.5, "Alphabétisation"),
    key(E, 2, None, "Programme national"),  # no office: after every service with one
    key(IF, 0, 0.0, "Maintenance automobile"),  # a diploma to bring: after everything eligible
    key(NE, 0, 0.0, "Mécanique moto"),
]


def test_services_are_ordered_by_verdict_then_match_then_distance() -> None:
    assert sorted(reversed(SERVICE_ORDER)) == SERVICE_ORDER
    assert sort_name("Électricité") < sort_name("Gestion") < sort_name("gestion avancée")
    assert sort_name("Eau") != sort_name("Éau")  # alike when folded, still two names, one order


# (the partner's services, the index of its best verdict, of the service giving match and distance, its key's
# first four: best verdict, match among what the person can join, without an office, distance)
PARTNER_TABLE: list[tuple[list[tuple[Status, int, float | None, str]], int, int, tuple[object, ...]]] = [
    ([(E, 2, 0.0, "À la carte"), (IF, 0, 0.0, "Mécanique auto")], 0, 1, (E, 0, False, 0.0)),  # IFPI for a mechanic
    ([(E, 0, 2.0, "Mécanique")], 0, 0, (E, 0, False, 2.0)),
    ([(E, 2, 0.0, "Gestion"), (NE, 0, 0.0, "Mécanique")], 0, 0, (E, 2, False, 0.0)),  # can't join: doesn't count
    ([(IF, 1, 5.0, "Soudure"), (IF, 2, 1.0, "Gestion")], 0, 0, (IF, 1, False, 5.0)),
    ([(NE, 0, 4.0, "Mécanique"), (NE, 2, 1.0, "Gestion")], 0, 0, (NE, 0, False, 4.0)),  # nothing to join: all count
    ([(E, 0, 9.0, "Mécanique A"), (E, 0, 3.0, "Mécanique B")], 1, 1, (E, 0, False, 3.0)),  # the nearest match
    ([(E, 2, None, "Programme"), (IF, 0, None, "Mécanique")], 0, 1, (E, 0, True, 0.0)),
]


@pytest.mark.parametrize(("services", "best", "reason", "expected"), PARTNER_TABLE)
def test_a_partner_is_placed_by_its_best_verdict_then_what_it_offers_that_he_can_join(
    services: list[tuple[Status, int, float | None, str]], best: int, reason: int, expected: tuple[object, ...]
) -> None:
    keys = [key(status, rank, km, name, "Institut") for status, rank, km, name in services]
    assert partner_reasons(keys) == (best, reason)
    found = partner_key(keys, "institut")
    assert found[:4] == expected and found[4:] == (sort_name("Institut"), "institut")
    assert partner_key(list(reversed(keys)), "institut") == found  # whatever order the services come in


def test_partners_in_the_issues_order() -> None:
    """Kayes, a man interested in mechanics with no papers: the centre whose mechanics courses he can join, then
    the institute whose Mécanique auto asks for a diploma, then partners with nothing in mechanics."""
    atelier = [key(E, 0, 0.0, "Groupes électrogènes", "Atelier École de Kayes"),
               key(E, 2, 0.0, "Maraîchage", "Atelier École de Kayes")]  # fmt: skip
    ifpi = [key(E, 2, 0.0, "Formations à la carte", "Institut de Formation Professionnelle Industrielle"),
            key(IF, 0, 0.0, "Mécanique auto", "Institut de Formation Professionnelle Industrielle")]  # fmt: skip
    api = [key(E, 2, 0.0, "Women Business Center", "Agence pour la Promotion des Investissements")]
    far = [key(E, 0, 140.0, "Mécanique", "Centre lointain")]
    ended = [key(NE, 0, 0.0, "Mécanique", "Aaa ancien programme")]
    ranked = sorted(
        [("api", api), ("ended", ended), ("ifpi", ifpi), ("far", far), ("atelier", atelier)],
        key=lambda p: partner_key(p[1], p[0]),
    )
    assert [p for p, _ in ranked] == ["atelier", "ifpi", "far", "api", "ended"]


def test_no_match_is_the_default() -> None:
    assert match({M.MECHANICS: "Mécanique"}, Interests()) == NO_MATCH == Match(MatchKind.NONE)
    assert not Interests().any and Interests(trade="mécanicien").any and not Interests(trade="gardien").any
