"""Controlled vocabularies shared by the directory, eligibility and the UI.

Codes are stable identifiers stored in data files and databases; labels shown to people come from gettext in
the UI layer, never from here. Adding a code is a data-model change: update the README's vocabulary table too.
"""

from __future__ import annotations

from enum import StrEnum

from field_app.domain.geo import fold


class OrganizationKind(StrEnum):
    """What an organisation mainly is (one per organisation)."""

    TRAINING_CENTRE = "training_centre"
    INCUBATOR = "incubator"
    PUBLIC_AGENCY = "public_agency"
    NGO = "ngo"
    FINANCING = "financing"
    PLACEMENT = "placement"
    SOCIAL = "social"
    DONOR_PROGRAMME = "donor_programme"


class Pathway(StrEnum):
    """The reintegration pathway a service belongs to (small on purpose: it drives the filters)."""

    FORMATION = "formation"
    ENTREPRENEURIAT = "entrepreneuriat"
    FINANCEMENT = "financement"
    EMPLOI = "emploi"
    SOCIAL = "social"
    INSTITUTIONNEL = "institutionnel"


class ServiceCategory(StrEnum):
    """A finer kind of service, under a pathway."""

    TRAINING_FIELD = "training_field"  # a filière with its duration
    LITERACY = "literacy"
    SHORT_COURSE = "short_course"
    ENTREPRENEURSHIP_SUPPORT = "entrepreneurship_support"
    INCUBATION = "incubation"
    FINANCING = "financing"
    SAVINGS = "savings"
    PLACEMENT = "placement"
    INTERNSHIP = "internship"
    ORIENTATION = "orientation"
    PSYCHOSOCIAL = "psychosocial"
    LEGAL = "legal"
    MEDICAL = "medical"
    HUMANITARIAN = "humanitarian"
    REINTEGRATION = "reintegration"
    PROGRAMME = "programme"  # a donor or agency programme
    OTHER = "other"


class Document(StrEnum):
    """Documents a service may require and a returnee may hold."""

    BIRTH_CERTIFICATE = "birth_certificate"
    NATIONALITY_CERTIFICATE = "nationality_certificate"
    ID_CARD = "id_card"
    RESIDENCE_CERTIFICATE = "residence_certificate"
    PHOTOS = "photos"
    DIPLOMA = "diploma"
    EDUCATION_CERTIFICATE = "education_certificate"
    CV = "cv"
    COVER_LETTER = "cover_letter"
    BUSINESS_PLAN = "business_plan"
    CRIMINAL_RECORD = "criminal_record"
    MEDICAL_CERTIFICATE = "medical_certificate"
    BANK_ACCOUNT = "bank_account"
    GUARANTEE = "guarantee"
    BUSINESS_REGISTRATION = "business_registration"
    OTHER = "other"


class Education(StrEnum):
    """Education levels, in increasing order (Mali: DEF after 9 years, CAP vocational, BAC)."""

    NONE = "none"
    PRIMARY = "primary"
    DEF = "def"
    CAP = "cap"
    BAC = "bac"
    HIGHER = "higher"

    @property
    def rank(self) -> int:
        return list(Education).index(self)


class Sex(StrEnum):
    F = "F"
    M = "M"


class TargetGroup(StrEnum):
    """Who a service is for, as the fiches say it."""

    ALL = "all"
    YOUTH = "youth"
    WOMEN = "women"
    RETURNEES = "returnees"
    MIGRANTS = "migrants"
    VULNERABLE = "vulnerable"
    OUT_OF_SCHOOL = "out_of_school"
    JOB_SEEKERS = "job_seekers"
    GRADUATES = "graduates"
    ENTREPRENEURS = "entrepreneurs"
    SMALL_BUSINESSES = "small_businesses"
    FARMERS = "farmers"
    RURAL = "rural"
    CHILDREN = "children"
    DISPLACED = "displaced"
    PEOPLE_WITH_DISABILITIES = "people_with_disabilities"
    STARTUPS = "startups"


class CostUnit(StrEnum):
    ONCE = "once"
    MONTH = "month"
    YEAR = "year"
    TRAINING = "training"
    DAY = "day"
    OTHER = "other"


class CostKind(StrEnum):
    """What a fee pays for: "From X F" compares registration fees only (`domain.fees`), never a stamp with a
    year's tuition."""

    REGISTRATION = "registration"  # droits / frais d'inscription: what joining costs
    TUITION = "tuition"  # coût de la formation, mensualités, programme fees
    STAMP = "stamp"  # timbre fiscal on an application
    INFIRMARY = "infirmary"  # frais d'infirmerie
    OTHER = "other"  # board and lodging, transport, coaching…


class ServesReturnees(StrEnum):
    """Whether the source says the partner has worked with returning migrants (with its sentence beside it)."""

    YES = "yes"
    NO = "no"
    NOT_STATED = "not_stated"


class Precision(StrEnum):
    """How precise a coordinate is: drives how distances are worded."""

    EXACT = "exact"
    DISTRICT = "district"
    TOWN = "town"
    REGION = "region"


class ServiceStatus(StrEnum):
    """A service's state. `ENDED` is stored as "inactive" (the code data files and the hub have always used);
    `INACTIVE` is the same member under its old name. A stated end date that has passed makes a service ended
    whatever its status says (`directory.status_on`)."""

    ACTIVE = "active"
    ENDED = "inactive"  # ended: by the source, an office's report, or its end date having passed
    INACTIVE = "inactive"  # alias of ENDED (same member)
    PLANNED = "planned"
    SUSPENDED = "suspended"  # paused for now (an office's report)
    FULL = "full"  # running, but taking nobody new for now (an office's report)


class Region(StrEnum):
    """Mali's regions as in force when the directory was collected (2022), plus the Bamako district."""

    BAMAKO = "bamako"
    KAYES = "kayes"
    KOULIKORO = "koulikoro"
    SIKASSO = "sikasso"
    SEGOU = "segou"
    MOPTI = "mopti"
    TOMBOUCTOU = "tombouctou"
    GAO = "gao"
    KIDAL = "kidal"
    TAOUDENIT = "taoudenit"
    MENAKA = "menaka"


REGION_NAMES: dict[Region, str] = {
    Region.BAMAKO: "Bamako",
    Region.KAYES: "Kayes",
    Region.KOULIKORO: "Koulikoro",
    Region.SIKASSO: "Sikasso",
    Region.SEGOU: "Ségou",
    Region.MOPTI: "Mopti",
    Region.TOMBOUCTOU: "Tombouctou",
    Region.GAO: "Gao",
    Region.KIDAL: "Kidal",
    Region.TAOUDENIT: "Taoudénit",
    Region.MENAKA: "Ménaka",
}


def find_region(text: str) -> Region | None:
    """The region named by `text` in any case, with or without accents ("Ségou", "segou", "SEGOU"), or None."""
    wanted = fold(text)
    for region in Region:
        if wanted in (region.value, fold(REGION_NAMES[region])):
            return region
    return None


class Language(StrEnum):
    """Languages a returnee speaks (the most common in Mali first; `other` for the rest)."""

    BAMBARA = "bm"
    FRENCH = "fr"
    SONINKE = "snk"
    FULFULDE = "ff"
    SONGHAI = "son"
    TAMASHEQ = "tmh"
    DOGON = "dgo"
    MALINKE = "mnk"
    BOZO = "bze"
    SENUFO = "sev"
    ARABIC = "ar"
    ENGLISH = "en"
    OTHER = "other"


class Sector(StrEnum):
    """Sectors a returnee is interested in (broad on purpose: they guide the conversation and the search)."""

    AGRICULTURE = "agriculture"
    LIVESTOCK = "livestock"
    FISHING = "fishing"
    FOOD_PROCESSING = "food_processing"
    CONSTRUCTION = "construction"
    MECHANICS = "mechanics"
    ELECTRICITY = "electricity"
    METALWORK = "metalwork"
    WOODWORK = "woodwork"
    TAILORING = "tailoring"
    HAIRDRESSING = "hairdressing"
    CATERING = "catering"
    COMMERCE = "commerce"
    TRANSPORT = "transport"
    DIGITAL = "digital"
    CRAFTS = "crafts"
    OTHER = "other"


class Vulnerability(StrEnum):
    """Situations that call for extra care or for social partners."""

    MINOR = "minor"
    DISABILITY = "disability"
    HEALTH = "health"
    WOMAN_HEAD_OF_HOUSEHOLD = "woman_head_of_household"


# Countries people most often return from (ISO 3166-1 alpha-2); any other valid code is accepted too.
RETURN_COUNTRIES: tuple[str, ...] = ("LY", "DZ", "NE", "MR", "MA", "TN", "SN", "CI", "GN", "BF", "FR", "ES", "IT")
