"""A synthetic partner directory of any size, reproducible from a seed, and a naive reference for `nearby`.

The directory is made of real `Organization` models (about five services each) whose offices sit at real
gazetteer localities, weighted towards Bamako and the region capitals as the real directory is. Eligibility,
service areas (national and multi-region programmes without offices), statuses, stated periods (some over by
`TODAY`) and fees (of several kinds, some priced by sex) vary the way the seed fiches do; service names are the
fiches' trades, so sectors of interest match some and not others. It is loaded with the real `build_directory`,
so benches and tests query the real schema.

`naive_nearby` is the obvious implementation of the eligible-nearby query: read every service and office,
compute every distance, verdict, fee and match in Python, match the text filter in Python, sort by the ranking's
key. `naive_partners` groups that by organisation, sorts the partners and cuts a page. The benches compare
against them and the equivalence tests check `field_app.directory.nearby` returns exactly what they return.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from field_app.directory.build import build_directory
from field_app.directory.dataset import GAZETTEER_FILE, Dataset, default_db_dir, load_localities
from field_app.directory.nearby import PAGE_PARTNERS, Filters, NearbyHit, NearbyPage, Partner
from field_app.domain.directory import (
    Contact,
    CostOption,
    Eligibility,
    Locality,
    Location,
    Organization,
    Phone,
    Service,
    ServiceArea,
    Source,
    status_on,
)
from field_app.domain.eligibility import Profile, Status, assess
from field_app.domain.fees import lowest_registration_fee
from field_app.domain.geo import fold, haversine_km
from field_app.domain.ranking import (
    NO_INTERESTS,
    Interests,
    match,
    partner_key,
    service_key,
    service_sectors,
)
from field_app.domain.vocabulary import (
    REGION_NAMES,
    CostKind,
    CostUnit,
    Document,
    Education,
    OrganizationKind,
    Pathway,
    Region,
    Sector,
    ServiceCategory,
    ServiceStatus,
    Sex,
    TargetGroup,
)
from field_app.storage.database import open_db

# Where offices are: people and partners crowd into Bamako and the region capitals (69 of the 78 real offices).
KIND_WEIGHTS = {"region_capital": 12.0, "cercle_capital": 3.0, "town": 1.0, "neighbourhood": 6.0, "village": 0.5}
PLACE_WEIGHTS = {"bamako": 60.0, "kidal": 3.0, "taoudenit": 1.0, "menaka": 3.0}

# (service name, pathway, category): what the fiches list, training fields first.
TRADES: tuple[tuple[str, Pathway, ServiceCategory], ...] = (
    ("Couture et stylisme", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Menuiserie bois", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Menuiserie métallique et soudure", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Mécanique auto", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Mécanique moto", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Électricité bâtiment", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Plomberie sanitaire", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Maçonnerie", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Coiffure et esthétique", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Hôtellerie et restauration", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Informatique bureautique", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Froid et climatisation", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Énergie solaire photovoltaïque", Pathway.FORMATION, ServiceCategory.TRAINING_FIELD),
    ("Maraîchage", Pathway.FORMATION, ServiceCategory.SHORT_COURSE),
    ("Aviculture", Pathway.FORMATION, ServiceCategory.SHORT_COURSE),
    ("Embouche bovine et ovine", Pathway.FORMATION, ServiceCategory.SHORT_COURSE),
    ("Transformation agroalimentaire", Pathway.FORMATION, ServiceCategory.SHORT_COURSE),
    ("Teinture et savonnerie", Pathway.FORMATION, ServiceCategory.SHORT_COURSE),
    ("Alphabétisation fonctionnelle", Pathway.FORMATION, ServiceCategory.LITERACY),
    ("Création et gestion d’entreprise", Pathway.ENTREPRENEURIAT, ServiceCategory.ENTREPRENEURSHIP_SUPPORT),
    ("Incubation de projets", Pathway.ENTREPRENEURIAT, ServiceCategory.INCUBATION),
    ("Plan d’affaires", Pathway.ENTREPRENEURIAT, ServiceCategory.ENTREPRENEURSHIP_SUPPORT),
    ("Microcrédit", Pathway.FINANCEMENT, ServiceCategory.FINANCING),
    ("Crédit agricole", Pathway.FINANCEMENT, ServiceCategory.FINANCING),
    ("Épargne et tontine", Pathway.FINANCEMENT, ServiceCategory.SAVINGS),
    ("Subvention de démarrage", Pathway.FINANCEMENT, ServiceCategory.FINANCING),
    ("Placement en emploi", Pathway.EMPLOI, ServiceCategory.PLACEMENT),
    ("Stage de qualification", Pathway.EMPLOI, ServiceCategory.INTERNSHIP),
    ("Orientation professionnelle", Pathway.EMPLOI, ServiceCategory.ORIENTATION),
    ("Soutien psychosocial", Pathway.SOCIAL, ServiceCategory.PSYCHOSOCIAL),
    ("Assistance juridique", Pathway.SOCIAL, ServiceCategory.LEGAL),
    ("Prise en charge médicale", Pathway.SOCIAL, ServiceCategory.MEDICAL),
    ("Aide d’urgence", Pathway.SOCIAL, ServiceCategory.HUMANITARIAN),
    ("Appui à la réintégration", Pathway.INSTITUTIONNEL, ServiceCategory.REINTEGRATION),
    ("Programme d’appui à l’emploi des jeunes", Pathway.INSTITUTIONNEL, ServiceCategory.PROGRAMME),
)
# Words an agent types in the nearby screen's text box (prefixes, accents dropped, as people type).
SEARCH_WORDS = ("couture", "menuis", "soudure", "mecanique", "electricite", "aviculture", "informatique",
                "coiffure", "maraich", "credit", "alphabetisation", "solaire", "jeunes", "kayes")  # fmt: skip

KIND_PREFIX = {
    OrganizationKind.TRAINING_CENTRE: "Centre de formation professionnelle",
    OrganizationKind.INCUBATOR: "Incubateur",
    OrganizationKind.PUBLIC_AGENCY: "Direction régionale de l’emploi",
    OrganizationKind.NGO: "Association",
    OrganizationKind.FINANCING: "Caisse d’épargne et de crédit",
    OrganizationKind.PLACEMENT: "Agence de placement",
    OrganizationKind.SOCIAL: "Centre d’écoute",
    OrganizationKind.DONOR_PROGRAMME: "Programme",
}
KIND_WEIGHTS_ORG = {
    OrganizationKind.TRAINING_CENTRE: 30,
    OrganizationKind.NGO: 20,
    OrganizationKind.PUBLIC_AGENCY: 15,
    OrganizationKind.DONOR_PROGRAMME: 10,
    OrganizationKind.FINANCING: 10,
    OrganizationKind.INCUBATOR: 7,
    OrganizationKind.PLACEMENT: 5,
    OrganizationKind.SOCIAL: 3,
}
NAMES = ("Espoir", "Avenir", "Jigiya", "Benkadi", "Yeelen", "Sahel", "Niéta", "Faso", "Kènèya", "Tiéba",
         "Badenya", "Sabati", "Horonya", "Danaya", "Baara", "Nyèsigi", "Hèrè", "Sigida", "Duguba", "Kanu")  # fmt: skip
COMMON_DOCUMENTS = (
    Document.ID_CARD,
    Document.BIRTH_CERTIFICATE,
    Document.PHOTOS,
    Document.NATIONALITY_CERTIFICATE,
    Document.RESIDENCE_CERTIFICATE,
    Document.DIPLOMA,
    Document.CV,
    Document.BUSINESS_PLAN,
    Document.BANK_ACCOUNT,
    Document.GUARANTEE,
)


def gazetteer() -> dict[str, Locality]:
    """The real gazetteer (db/gazetteer/localities.csv)."""
    return load_localities(default_db_dir() / GAZETTEER_FILE)


def place_weight(loc: Locality) -> float:
    return PLACE_WEIGHTS.get(loc.id, KIND_WEIGHTS[loc.kind])


class _Maker:
    """One generator run: a seeded RNG and the gazetteer, drawn from in a fixed order (same seed, same data)."""

    def __init__(self, seed: int, localities: dict[str, Locality]) -> None:
        self.rng = random.Random(seed)
        self.localities = localities
        self.places = sorted(localities.values(), key=lambda loc: loc.id)
        self.weights = [place_weight(loc) for loc in self.places]

    def place(self) -> Locality:
        return self.rng.choices(self.places, self.weights)[0]

    def eligibility(self) -> Eligibility:
        rng = self.rng
        min_age = rng.choices([None, 14, 15, 16, 18, 21], [40, 5, 15, 10, 25, 5])[0]
        max_age = rng.choices([None, 25, 30, 35, 40, 45], [55, 8, 12, 15, 6, 4])[0]
        if min_age is not None and max_age is not None and max_age < min_age:
            max_age = None
        sex = rng.choices([None, Sex.F, Sex.M], [90, 8, 2])[0]
        documents = rng.sample(COMMON_DOCUMENTS, rng.randint(1, 3)) if rng.random() < 0.3 else []
        if_available = rng.sample(COMMON_DOCUMENTS, 1) if rng.random() < 0.15 else []
        education = (
            rng.choice([Education.PRIMARY, Education.DEF, Education.CAP, Education.BAC])
            if rng.random() < 0.15
            else None
        )
        literacy = rng.choices([None, True, False], [90, 8, 2])[0]
        groups = rng.sample(list(TargetGroup), rng.randint(0, 3))
        parts = []
        if min_age is not None or max_age is not None:
            parts.append(f"Âge : {min_age or '—'} à {max_age or '—'} ans")
        if sex is Sex.F:
            parts.append("réservé aux femmes")
        if documents:
            parts.append("pièces : " + ", ".join(d.value for d in documents))
        if education is not None:
            parts.append(f"niveau minimum {education.value}")
        if literacy:
            parts.append("savoir lire et écrire en français")
        return Eligibility(
            min_age=min_age,
            max_age=max_age,
            sex=sex,
            documents=documents,
            documents_if_available=[d for d in if_available if d not in documents],
            education_min=education,
            literacy_required=literacy,
            target_groups=groups,
            text="; ".join(parts) or None,
        )

    def area(self, office_regions: set[Region], *, required: bool) -> ServiceArea | None:
        rng = self.rng
        roll = rng.random()  # office-less: 45 % national, 55 % regions; with offices: 40 % none, 45 % regions
        if not required and roll < 0.4:
            return None
        if roll < (0.55 if required else 0.85):
            extra = set(rng.sample(list(Region), rng.randint(0 if office_regions else 1, 3)))
            regions = sorted(office_regions | extra, key=list(Region).index)
            return ServiceArea(scope="regions", regions=regions, text=", ".join(REGION_NAMES[r] for r in regions))
        return ServiceArea(scope="national", text="Tout le Mali")

    def costs(self, service_ids: Sequence[str]) -> list[CostOption]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            return []
        if roll < 0.75:
            return [CostOption(label="Gratuit", amount=0, text="Formation gratuite")]
        out = []
        for index in range(rng.randint(1, 3)):
            if rng.random() < 0.1:
                out.append(CostOption(label=f"Frais {index + 1}", text="Montant à négocier"))
                continue
            amount = rng.choice([0, 1000, 2500, 5000, 10000, 25000, 50000, 200000])
            top = amount + rng.choice([0, 0, 5000, 20000, 100000]) if amount else None
            only = rng.sample(list(service_ids), 1) if rng.random() < 0.3 else []
            out.append(
                CostOption(
                    label=f"Frais {index + 1}",
                    kind=rng.choices(list(CostKind), [50, 25, 10, 5, 10])[0],
                    amount=amount,
                    amount_max=top if top != amount else None,
                    unit=rng.choice(list(CostUnit)),
                    services=only,
                    sex=rng.choices([None, Sex.F, Sex.M], [85, 8, 7])[0],  # priced by sex, as CFP Kayes is
                    text=f"{amount} FCFA",
                )
            )
        return out

    def period(self) -> tuple[dt.date | None, dt.date | None]:
        """A project's stated period, for about one service in five: some ended before 2026, some not yet begun."""
        rng = self.rng
        if rng.random() >= 0.2:
            return None, None
        start = dt.date(rng.randint(2018, 2027), rng.randint(1, 12), 1)
        end = start + dt.timedelta(days=rng.choice([365, 730, 1095, 1460]))
        return (start, end) if rng.random() < 0.8 else (None, end)

    def organization(self, index: int, n_services: int) -> Organization:
        rng = self.rng
        kind = rng.choices(list(KIND_WEIGHTS_ORG), list(KIND_WEIGHTS_ORG.values()))[0]
        has_offices = rng.random() < (0.35 if kind is OrganizationKind.DONOR_PROGRAMME else 0.85)
        locations: list[Location] = []
        if has_offices:
            home = self.place()
            network = [home] + ([self.place() for _ in range(rng.randint(1, 5))] if rng.random() < 0.25 else [])
            seen: set[str] = set()
            for place in network:
                if place.id in seen:
                    continue
                seen.add(place.id)
                locations.append(Location(id=f"site-{len(locations) + 1}", locality=place.id, region=place.region))
            if rng.random() < 0.05:  # a second office in the same town (as enda-mali has)
                locations.append(Location(id="annexe", name="Annexe", locality=home.id, region=home.region))
            town = home.name
        else:
            town = REGION_NAMES[rng.choice(list(Region))]
        office_regions = {loc.region for loc in locations}
        trades = rng.sample(TRADES, n_services)
        services = []
        for t_index, (name, pathway, category) in enumerate(trades):
            status = rng.choices(list(ServiceStatus), [90, 3, 3, 2, 2])[0]
            subset = (
                sorted(rng.sample([loc.id for loc in locations], rng.randint(1, len(locations) - 1)))
                if len(locations) > 1 and rng.random() < 0.3
                else []
            )
            start, end = self.period()
            services.append(
                Service(
                    id=f"svc-{t_index + 1}",
                    name=name,
                    pathway=pathway,
                    category=category,
                    status=status,
                    start_date=start,
                    end_date=end,
                    period_text=f"{start or ''} – {end or ''}" if start or end else None,
                    description=f"{name} à {town}: sessions de trois à neuf mois, pratique en atelier.",
                    locations=subset,
                    service_area=self.area(office_regions, required=False) if rng.random() < 0.1 else None,
                    eligibility=self.eligibility() if rng.random() < 0.35 else None,
                )
            )
        label = rng.choice(NAMES)
        area = self.area(office_regions, required=not locations)
        name = f"{KIND_PREFIX[kind]} {label} de {town}" + (f" {index}" if rng.random() < 0.7 else "")  # some alike
        phone = f"+2232022{index % 100:02d}{index // 100 % 100:02d}"
        with_contact = rng.random() < 0.5
        return Organization(
            id=f"syn-{index:06d}",
            name=name,
            short_name=f"{label[:3].upper()}{index}",
            kind=kind,
            description=f"{KIND_PREFIX[kind]} {label}, partenaire de la réintégration des migrants de retour.",
            phones=[Phone(as_written=f"20 22 {index % 100:02d} {index // 100 % 100:02d}", e164=phone)],
            contacts=[Contact(title="Point focal", emails=[f"contact{index}@example.ml"])] if with_contact else [],
            locations=locations,
            service_area=area,
            eligibility=self.eligibility() if rng.random() < 0.5 else None,
            costs=self.costs([s.id for s in services]),
            services=services,
            source=Source(fiche=f"acteur-{index}"),
            assured_date=dt.date(2022, 12, 1) + dt.timedelta(days=index % 30),
        )


def synthetic_dataset(n_services: int, seed: int = 0, localities: dict[str, Locality] | None = None) -> Dataset:
    """Exactly `n_services` services over about n/5 organisations at real localities, reproducible from `seed`."""
    maker = _Maker(seed, localities or gazetteer())
    sizes = [1, 2, 3, 4, 4, 5, 5, 5, 6, 6, 7, 8, 10]  # mean ≈ 5, like the fiches
    organizations: list[Organization] = []
    left = n_services
    while left > 0:
        size = min(left, maker.rng.choice(sizes))
        organizations.append(maker.organization(len(organizations) + 1, size))
        left -= size
    return Dataset(organizations, maker.localities)


def build_synthetic(path: Path, n_services: int, seed: int = 0) -> sqlite_utils.Database:
    """A real SQLite file at `path` holding a synthetic directory, loaded with the real `build_directory`."""
    db = open_db(path)
    build_directory(db, dataset=synthetic_dataset(n_services, seed))
    return db


TODAY = dt.date(2026, 12, 2)  # the day the benches and tests ask on: some synthetic periods have ended by then
TRADE_WORDS = ("mécanicien", "maçon", "soudeur", "couturière", "commerçant", "chauffeur", "cultivateur", "éleveur",
               "gardien", "électricien", "coiffeuse", "menuisier", "cuisinier", None)  # fmt: skip


@dataclass(frozen=True)
class Query:
    """One eligible-nearby question, as an agent would ask it: a person, where they are, what they want."""

    profile: Profile
    near: tuple[float, float] | None
    filters: Filters
    region: Region | None = None
    town: str = ""
    interests: Interests = NO_INTERESTS
    today: dt.date = TODAY


def sample_profile(rng: random.Random, region: Region | None) -> Profile:
    return Profile(
        age=rng.choice([None, *range(14, 61)]),
        sex=rng.choice([None, Sex.F, Sex.M, Sex.M]),
        documents=frozenset(rng.sample(list(Document), rng.randint(0, 4))),
        education=rng.choice([None, *Education]),
        reads_french=rng.choice([None, True, False]),
        region=region,
    )


def sample_interests(rng: random.Random) -> Interests:
    """What the form usually holds: one or two sectors of interest (none for one person in five), a trade for
    about half."""
    sectors = (
        frozenset(rng.sample(list(Sector), rng.choice([0, 1, 1, 1, 2, 2, 3]))) if rng.random() < 0.8 else frozenset()
    )
    trade = rng.choice(TRADE_WORDS) if rng.random() < 0.5 else None
    return Interests(sectors, trade)


def sample_queries(
    n: int,
    seed: int,
    *,
    text: bool = False,
    localities: dict[str, Locality] | None = None,
    varied: bool = False,
) -> list[Query]:
    """`n` reproducible questions at real towns (weighted like the offices: agents work where people are), each
    person with their sampled interests.

    `text` adds a search word; `varied` also varies pathway, free/eligible-only, radius (incl. all of Mali),
    no point, another region and the day asked on, for equivalence checks.
    """
    rng = random.Random(seed)
    places = sorted((localities or gazetteer()).values(), key=lambda loc: loc.id)
    weights = [place_weight(loc) for loc in places]
    out = []
    for _ in range(n):
        place = rng.choices(places, weights)[0]
        profile = sample_profile(rng, place.region if rng.random() < 0.9 else None)
        interests = sample_interests(rng)
        near: tuple[float, float] | None = (place.latitude, place.longitude)
        filters = Filters(text=rng.choice(SEARCH_WORDS) if text else None)
        region = None
        today = TODAY
        if varied:
            if rng.random() < 0.1:
                near = None
            filters = Filters(
                pathway=rng.choice([None, None, *Pathway]),
                text=rng.choice([None, None, *SEARCH_WORDS]),
                free_only=rng.random() < 0.2,
                eligible_only=rng.random() < 0.3,
                radius_km=rng.choice([150.0, 150.0, 50.0, 300.0, 10.0, None]),
            )
            region = rng.choice([None, None, None, *Region])
            today = rng.choice([TODAY, dt.date(2019, 6, 1), dt.date(2023, 1, 1)])
        out.append(Query(profile, near, filters, region, place.name, interests, today))
    return out


# ---------------------------------------------------------------------------------------------------------------
# The naive reference


@dataclass
class NaiveDirectory:
    """Every service and office of a store, read once; `nearby` is then a plain Python scan."""

    services: list[tuple[Any, ...]]
    offices: dict[str, list[tuple[float, float, str]]]
    texts: dict[str, list[str]]
    eligibility: dict[str, Eligibility]

    @classmethod
    def read(cls, db: sqlite_utils.Database) -> NaiveDirectory:
        services = db.execute(
            "SELECT s.id, s.organization_id, o.name, s.name, s.pathway, s.category, s.status, s.service_area, "
            "s.eligibility, s.costs, s.description, s.start_date, s.end_date "
            "FROM services s JOIN organizations o ON o.id = s.organization_id"
        ).fetchall()
        offices: dict[str, list[tuple[float, float, str]]] = {}
        for sid, lat, lon, town in db.execute(
            "SELECT sl.service_id, l.latitude, l.longitude, loc.name FROM service_locations sl "
            "JOIN locations l ON l.id = sl.location_id JOIN localities loc ON loc.id = l.locality_id "
            "ORDER BY sl.rowid"
        ):
            offices.setdefault(sid, []).append((lat, lon, town))
        texts = {
            sid: fold(" ".join(filter(None, fields))).split()
            for sid, *fields in db.execute(
                "SELECT service_id, service, organization, places, details FROM services_fts"
            )
        }
        return cls(services, offices, texts, {})


def naive_nearby(
    directory: NaiveDirectory,
    profile: Profile,
    near: tuple[float, float] | None,
    filters: Filters | None = None,
    *,
    today: dt.date = TODAY,
    interests: Interests = NO_INTERESTS,
    region: Region | None = None,
    limit: int | None = 50,
) -> list[NearbyHit]:
    """What `nearby` must return, computed the obvious way (parsed eligibility is memoised in `directory`): every
    service read, measured, assessed and matched, then sorted by `ranking.service_key`."""
    filters = filters or Filters()
    region = region or profile.region
    words = fold(filters.text or "").split()
    hits = []
    for row in directory.services:
        sid, org_id, org, name, pathway, category, status, area_text, rules, costs_text, description, start, end = row
        if filters.pathway and pathway != filters.pathway:
            continue
        if words and not all(any(t.startswith(w) for t in directory.texts[sid]) for w in words):
            continue
        area = ServiceArea.model_validate_json(area_text) if area_text else None
        offices = directory.offices.get(sid, [])
        distance: float | None = None
        town: str | None = None
        coverage: str | None = None
        if offices:
            measured = [
                (haversine_km(near[0], near[1], lat, lon) if near else None, i, town)
                for i, (lat, lon, town) in enumerate(offices)
            ]
            if near is not None and filters.radius_km is not None:
                measured = [m for m in measured if m[0] is not None and m[0] <= filters.radius_km]
            if not measured:
                continue
            best = min(measured, key=lambda m: (m[0] or 0.0, m[1]))  # nearest, else the first office
            distance = round(best[0], 1) if best[0] is not None else None
            town = best[2]
        else:
            if area is None:
                continue
            if area.scope == "national":
                coverage = "national"
            elif region is None or region in area.regions:
                coverage = ", ".join(REGION_NAMES[r] for r in area.regions)
            else:
                continue
        costs = [CostOption.model_validate(c) for c in json.loads(costs_text)]
        fees = lowest_registration_fee(costs, service_id=sid, sex=profile.sex)
        if filters.free_only and not fees.free:
            continue
        parsed = directory.eligibility.get(rules)
        if parsed is None:
            parsed = directory.eligibility[rules] = Eligibility.model_validate_json(rules)
        on_the_day = status_on(
            ServiceStatus(status),
            dt.date.fromisoformat(start) if start else None,
            dt.date.fromisoformat(end) if end else None,
            today,
        )
        verdict = assess(profile, parsed, on_the_day, area)
        if filters.eligible_only and verdict.status is Status.NOT_ELIGIBLE:
            continue
        hits.append(
            NearbyHit(
                service_id=sid,
                organization_id=org_id,
                organization=org,
                service=name,
                pathway=pathway,
                category=category,
                verdict=verdict,
                match=match(service_sectors(name, description), interests),
                distance_km=distance,
                town=town,
                coverage=coverage,
                free=fees.free,
                fee_min=fees.lowest,
            )
        )
    hits.sort(
        key=lambda h: service_key(
            h.verdict.status, h.match.rank, h.distance_km, h.organization, h.service, h.service_id
        )
    )
    return hits[:limit] if limit else hits


def naive_partners(
    directory: NaiveDirectory,
    profile: Profile,
    near: tuple[float, float] | None,
    filters: Filters | None = None,
    *,
    today: dt.date = TODAY,
    interests: Interests = NO_INTERESTS,
    region: Region | None = None,
    offset: int = 0,
    limit: int | None = PAGE_PARTNERS,
) -> NearbyPage:
    """What `nearby_partners` must return: every matching service found by `naive_nearby`, grouped by
    organisation, partners sorted by `ranking.partner_key` over all their services, then the page cut out."""
    hits = naive_nearby(directory, profile, near, filters, today=today, interests=interests, region=region, limit=None)
    groups: dict[str, list[NearbyHit]] = {}
    for hit in hits:  # already in service order: each card's services best first
        groups.setdefault(hit.organization_id, []).append(hit)
    partners = sorted(
        (Partner(org_id, services[0].organization, tuple(services)) for org_id, services in groups.items()),
        key=lambda p: partner_key([h.key for h in p.services], p.organization_id),
    )
    end = offset + limit if limit else None
    return NearbyPage(tuple(partners[offset:end]), offset, total_partners=len(partners), total_services=len(hits))
