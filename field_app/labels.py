"""Words for codes: every vocabulary code and eligibility reason as a person reads it, through gettext.

The domain speaks in stable codes (`missing_document`, `birth_certificate`); this module is the one place that
turns them into localised words, for the screens, the referral slip and the command line alike.
"""

from __future__ import annotations

from babel import Locale

from field_app.domain.duplicates import DuplicateReason
from field_app.domain.eligibility import Reason, Status
from field_app.domain.ranking import Match, MatchKind
from field_app.domain.referrals import DeclineReason, EventKind, Outcome, ReferralStatus
from field_app.domain.vocabulary import REGION_NAMES, Region
from field_app.domain.workflow import Issue, MoveProblem
from field_app.i18n import BABEL_LOCALES, N_, _, format_number, language, ngettext

SEX = {"F": N_("Woman"), "M": N_("Man")}

EDUCATION = {
    "none": N_("No schooling"),
    "primary": N_("Primary school"),
    "def": N_("DEF (end of lower secondary)"),
    "cap": N_("CAP (vocational certificate)"),
    "bac": N_("Baccalauréat"),
    "higher": N_("Higher education"),
}

DOCUMENTS = {
    "birth_certificate": N_("birth certificate"),
    "nationality_certificate": N_("nationality certificate"),
    "id_card": N_("identity card"),
    "residence_certificate": N_("residence certificate"),
    "photos": N_("ID photos"),
    "diploma": N_("diploma"),
    "education_certificate": N_("school certificate"),
    "cv": N_("CV"),
    "cover_letter": N_("cover letter"),
    "business_plan": N_("business plan"),
    "criminal_record": N_("criminal record extract"),
    "medical_certificate": N_("medical certificate"),
    "bank_account": N_("bank account"),
    "guarantee": N_("guarantee"),
    "business_registration": N_("business registration"),
    "other": N_("other document"),
}

LANGUAGES = {
    "bm": N_("Bambara"),
    "fr": N_("French"),
    "snk": N_("Soninke"),
    "ff": N_("Fulfulde (Peul)"),
    "son": N_("Songhai"),
    "tmh": N_("Tamasheq"),
    "dgo": N_("Dogon"),
    "mnk": N_("Malinke"),
    "bze": N_("Bozo"),
    "sev": N_("Senufo"),
    "ar": N_("Arabic"),
    "en": N_("English"),
    "other": N_("Other language"),
}

SECTORS = {
    "agriculture": N_("Agriculture"),
    "livestock": N_("Livestock"),
    "fishing": N_("Fishing"),
    "food_processing": N_("Food processing"),
    "construction": N_("Building trades"),
    "mechanics": N_("Mechanics"),
    "electricity": N_("Electricity"),
    "metalwork": N_("Metalwork, welding"),
    "woodwork": N_("Carpentry"),
    "tailoring": N_("Sewing, tailoring"),
    "hairdressing": N_("Hairdressing"),
    "catering": N_("Catering"),
    "commerce": N_("Trade"),
    "transport": N_("Transport"),
    "digital": N_("Computing, phones"),
    "crafts": N_("Crafts"),
    "other": N_("Other sector"),
}

VULNERABILITIES = {
    "minor": N_("Minor"),
    "disability": N_("Disability"),
    "health": N_("Health problem"),
    "woman_head_of_household": N_("Woman head of household"),
}

PATHWAYS = {
    "formation": N_("Training"),
    "entrepreneuriat": N_("Entrepreneurship"),
    "financement": N_("Financing"),
    "emploi": N_("Employment"),
    "social": N_("Social support"),
    "institutionnel": N_("Institutional"),
}

# Who a service is for (vocabulary.TargetGroup), as the detail lists them.
TARGET_GROUPS = {
    "all": N_("everyone"),
    "youth": N_("young people"),
    "women": N_("women"),
    "returnees": N_("returning migrants"),
    "migrants": N_("migrants"),
    "vulnerable": N_("vulnerable people"),
    "out_of_school": N_("young people out of school"),
    "job_seekers": N_("job seekers"),
    "graduates": N_("graduates"),
    "entrepreneurs": N_("entrepreneurs"),
    "small_businesses": N_("small businesses"),
    "farmers": N_("farmers"),
    "rural": N_("rural people"),
    "children": N_("children and minors"),
    "displaced": N_("displaced people"),
    "people_with_disabilities": N_("people with disabilities"),
    "startups": N_("start-ups"),
}

# Whether a partner has worked with returning migrants (vocabulary.ServesReturnees), as the source says it.
SERVES_RETURNEES = {
    "yes": N_("Has worked with returning migrants"),
    "no": N_("Has not worked with returning migrants yet"),
    "not_stated": N_("The source does not say whether it has worked with returning migrants"),
}

VERDICTS = {
    Status.ELIGIBLE: N_("Eligible"),
    Status.ELIGIBLE_IF: N_("Eligible if…"),
    Status.NOT_ELIGIBLE: N_("Not eligible"),
}

REFERRAL_STATUSES = {
    ReferralStatus.QUEUED: N_("Waiting to be sent"),
    ReferralStatus.SENT: N_("Sent"),
    ReferralStatus.RECEIVED: N_("Received by the office"),
    ReferralStatus.ACCEPTED: N_("Accepted"),
    ReferralStatus.DECLINED: N_("Declined"),
    ReferralStatus.ENROLLED: N_("Enrolled"),
    ReferralStatus.COMPLETED: N_("Completed"),
    ReferralStatus.NOT_COMPLETED: N_("Not completed"),
    ReferralStatus.REVOKED: N_("Cancelled"),
}

# The office's moves, as the buttons and the history say them (verbs), e.g. "Accept", "Mark as enrolled".
EVENT_ACTIONS = {
    EventKind.CREATED: N_("Create"),
    EventKind.SENT: N_("Send"),
    EventKind.RECEIVED: N_("Mark as received"),
    EventKind.ACCEPTED: N_("Accept"),
    EventKind.DECLINED: N_("Decline"),
    EventKind.ENROLLED: N_("Mark as enrolled"),
    EventKind.COMPLETED: N_("Mark as completed"),
    EventKind.NOT_COMPLETED: N_("Mark as not completed"),
    EventKind.REVOKED: N_("Cancel"),
}

# What happened, as a referral's history lists it.
EVENT_KINDS = {
    EventKind.CREATED: N_("Referral written"),
    EventKind.SENT: N_("Sent to the hub"),
    EventKind.RECEIVED: N_("Received by the office"),
    EventKind.ACCEPTED: N_("Accepted by the partner"),
    EventKind.DECLINED: N_("Declined"),
    EventKind.ENROLLED: N_("Enrolled"),
    EventKind.COMPLETED: N_("Completed"),
    EventKind.NOT_COMPLETED: N_("Not completed"),
    EventKind.REVOKED: N_("Cancelled by the agent"),
}

DECLINE_REASONS = {
    DeclineReason.PARTNER_FULL: N_("The partner has no place left"),
    DeclineReason.NOT_ELIGIBLE: N_("The person is not eligible"),
    DeclineReason.PARTNER_UNREACHABLE: N_("The partner could not be reached"),
    DeclineReason.PERSON_UNREACHABLE: N_("The person could not be reached"),
    DeclineReason.PERSON_DECLINED: N_("The person declined"),
    DeclineReason.OTHER: N_("Other reason (say which in the note)"),
}

OUTCOMES = {
    Outcome.TRAINED: N_("Trained"),
    Outcome.JOB_PLACEMENT: N_("Placed in a job"),
    Outcome.SELF_EMPLOYMENT: N_("Self-employed"),
    Outcome.OTHER: N_("Other outcome (say which in the note)"),
}

# Why a move cannot be made (domain.workflow.check_move), in words for the office.
MOVE_PROBLEMS = {
    MoveProblem.NOT_OFFICE_MOVE: N_("This is not a step an office takes."),
    MoveProblem.NOT_ALLOWED: N_("This step is not possible from the referral's current status."),
    MoveProblem.REASON_REQUIRED: N_("Give the reason."),
    MoveProblem.REASON_NOT_EXPECTED: N_("A reason goes only with declined or not completed."),
    MoveProblem.OUTCOME_REQUIRED: N_("Give the outcome."),
    MoveProblem.OUTCOME_NOT_EXPECTED: N_("An outcome goes only with completed."),
    MoveProblem.NOTE_REQUIRED: N_('Say in the note what "other" means here.'),
}

# Why an existing person may be the one being registered (field_app.domain.duplicates).
DUPLICATE_REASONS = {
    DuplicateReason.SAME_PHONE: N_("same phone number"),
    DuplicateReason.SAME_NAME_SAME_REGION: N_("same name, same region"),
    DuplicateReason.SAME_NAME: N_("same name"),
    DuplicateReason.SIMILAR_NAME: N_("similar name (spelling or sound)"),
    DuplicateReason.SAME_REGION: N_("same region"),
    DuplicateReason.SAME_BIRTH_YEAR: N_("birth years within one year"),
}


def duplicate_reason_label(reason: DuplicateReason | str) -> str:
    """Why a person was offered as a possible duplicate, in words (the code itself when unknown)."""
    try:
        return _(DUPLICATE_REASONS[DuplicateReason(reason)])
    except ValueError:
        return str(reason)


REASONS = {
    "service_inactive": N_("This service has ended."),
    "service_suspended": N_("This service is suspended for now."),
    "service_full": N_("This service is full for now."),
    "service_planned": N_("This service has not opened yet."),
    # {age} is "18 years" (ngettext); French says the upper limit without an adjective that would need a gender.
    "below_min_age": N_("Too young: from {age}."),
    "above_max_age": N_("Too old: up to {age}."),
    "age_unknown": N_("Age limits apply: check the age."),
    "sex_restricted": N_("Reserved for: {sex}."),
    "missing_document": N_("Bring: {document}."),
    "education_below": N_("Requires at least: {education}."),
    "education_unknown": N_("Requires at least: {education} (level not recorded)."),
    "literacy_required": N_("Requires reading French."),
    "literacy_unknown": N_("Requires reading French: check it."),
    "region_not_served": N_("Offered only in: {regions}."),
}


# Why the hub refused an entry sent from this phone (the hub's stable codes), in words for the agent.
SYNC_REJECTIONS = {
    "invalid_payload": N_("The hub found this record invalid: correct it, then send it again."),
    "op_id_reused": N_("The hub already has a different version of this change: edit the record to send it anew."),
    "unknown_entity": N_("The hub does not know the person or referral this refers to yet: send that first."),
    "version_conflict": N_("The record was changed elsewhere in the meantime: check it and save it again."),
    "conflict": N_("The hub already has a different record with this id."),
    "forbidden": N_("This phone may not send this kind of change."),
    "too_large": N_("This record is too large to send."),
}

# What a queued change is about (outbox entities), for the list of refused changes.
SYNC_ENTITIES = {
    "returnee": N_("Returnee record"),
    "referral": N_("Referral"),
    "referral_event": N_("Referral update"),
    "directory_edit": N_("Directory correction"),
    "access": N_("Record of a read of personal details"),
    "device_revocation": N_("Device revocation"),
    "organization": N_("Directory entry"),
    "locality": N_("Place"),
    "device": N_("Device"),
    "directory_audit": N_("Directory audit row"),
}

# How a person's details were read (the access log's `via`).
ACCESS_VIA = {
    "detail": N_("Opened on a device"),
    "export": N_("In an export"),
    "api": N_("Read from the hub"),
    "pull": N_("Sent to a device by the hub"),
}


# Who a device is for the hub (its enrolment's role).
SYNC_ROLES = {
    "agent": N_("Field agent"),
    "office": N_("Regional office"),
    "supervisor": N_("Supervisor"),
}


def rejection_message(code: str | None, reason: str | None = None) -> str:
    """Why the hub refused an entry: our words for its code; the hub's own (English) words for a code we do not
    know yet; a generic sentence when there is neither."""
    if code and code in SYNC_REJECTIONS:
        return _(SYNC_REJECTIONS[code])
    if reason:
        return _("The hub refused this change: {reason}").format(reason=reason)
    return _("The hub refused this change.")


def move_problem(issue: Issue) -> str:
    """One problem with an office's move, in words (the field is named by the caller)."""
    return _(MOVE_PROBLEMS[issue.problem])


def label(table: dict[str, str], code: str) -> str:
    """The localised word for `code` in `table` (the code itself when unknown, never an error)."""
    return _(table[code]) if code in table else code


def region_name(code: str) -> str:
    try:
        return REGION_NAMES[Region(code)]
    except ValueError:
        return code


def country_name(code: str) -> str:
    """A country's name in the current language (babel's CLDR data), e.g. LY → Libye."""
    return str(Locale.parse(BABEL_LOCALES[language()]).territories.get(code, code))


def _years(text: str) -> str:
    """An age limit in words, "18 years" ("1 year", "1 an"), or `text` itself when it is not a number."""
    if not text.isdigit():
        return text
    n = int(text)
    return ngettext("{n} year", "{n} years", n).format(n=format_number(n))


def reason_message(reason: Reason) -> str:
    """One eligibility reason as a sentence, e.g. "Bring a birth certificate."."""
    params = dict(reason.params)
    words = {
        "age": _years(params.get("min_age") or params.get("max_age") or ""),
        "sex": _("women") if params.get("sex") == "F" else _("men"),
        "document": label(DOCUMENTS, params.get("document", "")),
        "education": label(EDUCATION, params.get("education", "")),
        "regions": ", ".join(region_name(r) for r in params.get("regions", "").split(",") if r),
    }
    template = REASONS.get(reason.code)
    return _(template).format(**words) if template else reason.code


def too_long(field: str, limit: int) -> str:
    """A text over its limit, naming the field: "Note is too long (at most 500 characters)."."""
    return ngettext(
        "{label} is too long (at most {n} character).", "{label} is too long (at most {n} characters).", limit
    ).format(label=field, n=format_number(limit))


def pending_words(n: int) -> str:
    """How many changes wait on this phone for the hub, in words."""
    return _("Nothing waiting to be sent") if n == 0 else _("{n} waiting to be sent").format(n=n)


# Why a service ranks where it does beside its verdict (field_app.domain.ranking.MatchKind).
MATCH_KINDS = {
    MatchKind.SECTOR_OF_INTEREST: N_("sector of interest"),
    MatchKind.TRADE: N_("trade before leaving"),
    MatchKind.NONE: N_("no interest matched"),
}


def match_message(found: Match, *, with_term: bool = True) -> str:
    """How a service matches the person, e.g. "Mechanics, a sector of interest (“Mécanique”)"; `with_term`
    adds the service's own words that showed the sector."""
    sector = label(SECTORS, found.sector.value) if found.sector else ""
    if found.kind is MatchKind.SECTOR_OF_INTEREST:
        text = _("{sector}, a sector of interest").format(sector=sector)
    elif found.kind is MatchKind.TRADE:
        text = _("{sector}, like the trade “{trade}”").format(sector=sector, trade=found.trade_term or "")
    else:
        return _(MATCH_KINDS[MatchKind.NONE])
    return _("{match} (“{term}”)").format(match=text, term=found.term) if with_term and found.term else text


def partners_and_services(partners: int, services: int) -> str:
    """The count line, e.g. "12 partners, 34 services": each noun in its plural form, never "1 services"."""
    return _("{partners}, {services}").format(
        partners=ngettext("{n} partner", "{n} partners", partners).format(n=format_number(partners)),
        services=ngettext("{n} service", "{n} services", services).format(n=format_number(services)),
    )
