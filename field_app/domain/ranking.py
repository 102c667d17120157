"""How eligible partners nearby are ranked, and why: sectors read from a service's words, matched with a person's
interests, and the sort keys of services and partners. Pure (no I/O, no clock): the same arithmetic serves the
fast query (`field_app.directory.nearby`), its naive reference (`bench.synthetic`) and the table tests.

**Sectors of a service.** A service says what it is in its name and description ("Mécanique auto", "CAP en
soudure", "Formation et accompagnement de 817 jeunes (coiffure, gastronomie, maraîchage, couture)"). Each
`Sector` has a short list of French word stems (`SECTOR_TERMS`: "mecani" finds Mécanique, mécanicien,
Électromécanique…; a stem ending in "$" must be the whole word, "tic$" finds TIC, not "ticket"); a phrase of
stems must appear word after word ("conduite de", "transformation agro"); a few phrases cancel a stem where they
start ("mecanism" is not mechanics: "les mécanismes de mentorat"). The organisation's own description is not
read: a centre describing all its trades would make every one of its services match every trade. Pathway and
category say how (training, loan, placement), not in what trade, so they give no sector. `OTHER` is never
matched. Each sector found keeps the service's own word for it, so a card can say *why* ("Mécanique").

**A person's side.** `Interests`: the sectors of interest chosen on the form (`Returnee.sectors`) and the trade
before leaving (`Returnee.trade_before`, free text), read with the same stems ("mécanicien" → mechanics).

**Match.** A service matches a sector of interest (best), else the trade, else nothing — `MatchKind`, with the
sector and the words that matched (`Match`). What the person asked for counts before what they used to do.

**Order.** Services: verdict (eligible, eligible if…, not eligible), then match, then services with an office
before those without (programmes covering a region), nearest first (to 0.1 km), then organisation, service and
id, names compared as folded text ("Électricité" among the E's), so that the order is total.

Partners, one card each with all their services that matched the query (`partner_key`), by the same three
questions asked of the partner: its best verdict (can the person join anything there?); then how well what
they *can* join (eligible or eligible if…) matches their interests — a man interested in mechanics sees the
institute whose "Mécanique auto" asks for a diploma he may bring beside the centre whose mechanics course takes
him as he is, both above partners with nothing in mechanics; then the distance of that best-matching service.
A partner with nothing the person can join is placed by everything it offers. The card says which service gave
each part (`partner_reasons`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from field_app.domain.eligibility import Status
from field_app.domain.geo import fold
from field_app.domain.vocabulary import Sector

# Word stems (folded: lowercase, no accents) per sector; "a b" = consecutive words; "x$" = the whole word.
SECTOR_TERMS: Mapping[Sector, tuple[str, ...]] = {
    Sector.AGRICULTURE: (
        "agricult", "agricol", "agroecolog", "agroforest", "agribusiness", "agrobusiness", "agropastor",
        "maraich", "horticult", "arboricult", "cultures$", "culturales$", "cultivat", "paysan", "semenc",
        "compost", "biopesticid", "jardin", "rizicult", "riz$", "cereal", "anacard", "vegetal", "irrigat",
        "planteur", "plantation", "recolt", "tracteur", "production de$ plants",
    ),
    Sector.LIVESTOCK: (
        "elevag", "eleveu", "embouch", "avicult", "avicol", "betail", "berger", "pastora", "agropastor",
        "volaill", "bovin", "ovin", "caprin", "apicult", "veterinair", "animal", "animaux$",
        "lait$", "laitier", "laitiere",
    ),
    Sector.FISHING: ("piscicult", "piscicol", "peche$", "pecheu", "poisson", "aquacult"),
    Sector.FOOD_PROCESSING: (
        "agroalimentair", "agro alimentair", "transformation agro",
        "transformation des$ produits", "transformation alimentair", "boulang", "patiss", "boucher", "karite",
        "conserverie",
    ),
    Sector.CONSTRUCTION: (
        "macon", "batiment", "btp$", "construct", "plomb", "carrel", "chantier", "genie civil", "beton",
        "ferraill", "topograph", "peintre", "peinture$", "paves$", "pavage",
    ),
    Sector.MECHANICS: (
        "mecani", "mecatron", "electromecani", "garag", "moto", "moteur", "automobil", "vehicul", "engin$",
        "engins$", "machinism", "tolier", "tolerie", "vulcanis", "maintenance industriel", "reparation des$ tracteur",
        "reparation des$ materiel", "reparation des$ equipement", "entretien des$ vehicul",
    ),
    Sector.ELECTRICITY: (
        "electri", "electrotech", "electromenag", "electron", "electrogen", "solair", "photovolta", "froid$",
        "climatis", "energie", "bobinag",
    ),
    Sector.METALWORK: (
        "soud", "forge", "metalli", "metallu", "chaudronn", "ferronn", "aluminium", "menuiserie metal",
        "menuiserie alu",
    ),
    Sector.WOODWORK: ("menuis", "ebenist", "charpent", "bois$", "scierie"),
    Sector.TAILORING: (
        "coutur", "tailleur", "stylism", "stylist", "confection", "tissag", "tisser", "teintur", "brode",
    ),
    Sector.HAIRDRESSING: ("coiff", "esthetiq", "esthetic", "maquill", "tressag", "tresseu", "beaute", "manucur"),
    Sector.CATERING: (
        "restaura", "cuisin", "hotel", "gastronom", "traiteur", "patiss", "boulang", "tourism",
    ),
    Sector.COMMERCE: (
        "commerc", "vente$", "ventes$", "vendeu", "marketing", "boutiqu", "negoce", "negociant", "marchand",
    ),
    Sector.TRANSPORT: (
        "transport", "chauffeur", "conducteur", "logisti", "taxi$", "livreu", "livraison", "permis de$ conduir",
        "conduite de$",
    ),
    Sector.DIGITAL: (
        "informatiq", "informaticien", "numeriq", "digital", "tic$", "web$", "internet", "bureautiq", "logiciel",
        "programmat", "developpeu", "geolocalis", "fintech", "ordinateur", "wikipedia",
    ),
    Sector.CRAFTS: (
        "artisan", "savon", "saponif", "bougie", "teintur", "poterie", "potier", "cordonn", "bijou", "maroquin",
        "vanner", "sculpt", "tanneu", "tanneri", "cuir$", "perles$", "batik",
    ),
}  # fmt: skip

# Phrases that cancel a sector's stem where they start (the words look alike but say something else).
SECTOR_EXCLUSIONS: Mapping[Sector, tuple[str, ...]] = {
    Sector.MECHANICS: ("mecanism", "moteur de$ recherche"),
    Sector.WOODWORK: ("menuiserie metal", "menuiserie alu", "menuisier metal", "menuisier alu"),
    Sector.METALWORK: ("soudan", "periode de$ soudure", "periode de$ la$ soudure"),
    Sector.CATERING: ("restauration des sols", "restauration des terres", "restauration de la paix"),
    Sector.COMMERCE: ("commercialis",),  # selling one's produce is what every project says, not a trade
}

_WORD = re.compile(r"\w+")
_SECTORS = tuple(Sector)


class MatchKind(StrEnum):
    """Why a service matches a person, best first."""

    SECTOR_OF_INTEREST = "sector_of_interest"
    TRADE = "trade"
    NONE = "none"

    @property
    def rank(self) -> int:
        return _KIND_RANK[self]


@dataclass(frozen=True)
class Interests:
    """What a person would like to do: sectors of interest (from the form) and the trade before leaving."""

    sectors: frozenset[Sector] = frozenset()
    trade: str | None = None

    @property
    def trade_sectors(self) -> dict[Sector, str]:
        """The sectors the trade names, each with the trade's word for it ("mécanicien" → mechanics)."""
        return sectors_in(self.trade or "")

    @property
    def any(self) -> bool:
        return bool(self.sectors) or bool(self.trade_sectors)


@dataclass(frozen=True)
class Match:
    """How one service matches one person: the kind, the sector, the service's words that showed the sector and,
    for a trade, the person's word for it."""

    kind: MatchKind
    sector: Sector | None = None
    term: str | None = None  # the service's word(s): "Mécanique"
    trade_term: str | None = None  # the trade's word: "mécanicien"

    @property
    def rank(self) -> int:
        return self.kind.rank


_KIND_RANK = {kind: rank for rank, kind in enumerate(MatchKind)}
NO_MATCH = Match(MatchKind.NONE)
NO_INTERESTS = Interests()


@dataclass(frozen=True)
class _Term:
    sector: Sector
    stems: tuple[str, ...]
    cancels: bool  # an exclusion phrase


def _compile() -> dict[str, tuple[_Term, ...]]:
    """Terms indexed by the first three letters of their first stem (every stem has at least three)."""
    table: dict[str, list[_Term]] = {}
    for sector, phrases in SECTOR_TERMS.items():
        for phrase, cancels in [(p, False) for p in phrases] + [(p, True) for p in SECTOR_EXCLUSIONS.get(sector, ())]:
            stems = tuple(phrase.split())
            assert len(stems[0].rstrip("$")) >= 3, phrase  # the index's key
            table.setdefault(stems[0][:3], []).append(_Term(sector, stems, cancels))
    return {k: tuple(v) for k, v in table.items()}


_TERMS = _compile()


def _stem_matches(stem: str, word: str) -> bool:
    return word == stem[:-1] if stem.endswith("$") else word.startswith(stem)


@lru_cache(maxsize=65536)
def sectors_in(text: str) -> dict[Sector, str]:
    """The sectors `text` speaks of, each with the first words that showed it, as written ("Mécanique").

    An exclusion phrase cancels its sector on every word it covers ("période de soudure" is the lean season)."""
    originals = _WORD.findall(text)
    words = [fold(w) for w in originals]
    hits: list[tuple[int, int, Sector]] = []  # (first word, words, sector), in the order of the text
    cancelled: set[tuple[Sector, int]] = set()
    for i, word in enumerate(words):
        for term in _TERMS.get(word[:3], ()):
            n = len(term.stems)
            if i + n <= len(words) and all(_stem_matches(s, words[i + j]) for j, s in enumerate(term.stems)):
                if term.cancels:
                    cancelled.update((term.sector, k) for k in range(i, i + n))
                else:
                    hits.append((i, n, term.sector))
    found: dict[Sector, str] = {}
    for i, n, sector in sorted(hits, key=lambda h: (h[0], -h[1])):  # the longest phrase at a word first
        if sector not in found and (sector, i) not in cancelled:
            found[sector] = " ".join(originals[i : i + n])
    return {s: found[s] for s in _SECTORS if s in found}  # in the vocabulary's order


@lru_cache(maxsize=65536)
def service_sectors(name: str, description: str | None = None) -> dict[Sector, str]:
    """A service's sectors from its own words: its name first (a name's word is the better explanation)."""
    found = dict(sectors_in(name))
    for sector, term in sectors_in(description or "").items():
        found.setdefault(sector, term)
    return {s: found[s] for s in _SECTORS if s in found}


def sector_mask(sectors: Iterable[Sector]) -> int:
    """Sectors as bits (the vocabulary's order), for fast set tests over many services."""
    mask = 0
    for sector in sectors:
        mask |= _BIT[sector]
    return mask


_BIT = {sector: 1 << index for index, sector in enumerate(Sector)}


def match(service: Mapping[Sector, str], interests: Interests) -> Match:
    """The best match of a service (its sectors and their words, from `service_sectors`) with `interests`."""
    for sector in _SECTORS:  # in the vocabulary's order: reproducible whatever order the form gave
        if sector in interests.sectors and sector in service:
            return Match(MatchKind.SECTOR_OF_INTEREST, sector, service[sector])
    trade = interests.trade_sectors
    for sector in _SECTORS:
        if sector in trade and sector in service:
            return Match(MatchKind.TRADE, sector, service[sector], trade[sector])
    return NO_MATCH


def match_rank(service_mask: int, interest_mask: int, trade_mask: int) -> int:
    """`match(...).rank` from bit masks alone (what the fast query uses to walk the best matches first)."""
    if service_mask & interest_mask:
        return 0
    if service_mask & trade_mask:
        return 1
    return 2


@lru_cache(maxsize=65536)
def sort_name(text: str) -> str:
    """A name as sorted: folded (accents and case aside, "Électricité" after "Couture"), the name itself after
    it so that two names folding alike still have one order."""
    return f"{fold(text)}\x00{text}"


# A service's sort key: (verdict, match, without an office, distance, organisation, service, id).
ServiceKey = tuple[Status, int, bool, float, str, str, str]
# A partner's: (best verdict, match of what can be joined, without an office, its distance, organisation, id).
PartnerKey = tuple[Status, int, bool, float, str, str]


def service_key(
    status: Status, match_rank: int, distance_km: float | None, organization: str, service: str, service_id: str
) -> ServiceKey:
    return (
        status,
        match_rank,
        distance_km is None,
        distance_km or 0.0,
        sort_name(organization),
        sort_name(service),
        service_id,
    )


def partner_reasons(keys: Sequence[ServiceKey]) -> tuple[int, int]:
    """Which of a partner's services (their keys, any order, at least one) give its rank: (the one with its best
    verdict, the one whose match and distance count — the best match among those the person can join, nearest
    first). Often the same service."""
    best = min(range(len(keys)), key=keys.__getitem__)
    joinable = [i for i, k in enumerate(keys) if k[0] is not Status.NOT_ELIGIBLE] or list(range(len(keys)))
    reason = min(joinable, key=lambda i: (keys[i][1], keys[i][2], keys[i][3], keys[i]))
    return best, reason


def partner_key(keys: Sequence[ServiceKey], organization_id: str) -> PartnerKey:
    """A partner's sort key from its services' keys (see the module's docstring)."""
    best, reason = partner_reasons(keys)
    by = keys[reason]
    return (keys[best][0], by[1], by[2], by[3], keys[best][4], organization_id)
