"""The field-agent commands of `field-app`: register returnees, find eligible services nearby, queue referrals.

Scriptable like the rest of the command line: ids and JSON on stdout, problems on stderr, exit 1 for invalid
input (`field: message` lines, localised) and for unknown ids or refused changes (`error: …`). Registered from
`field_app.cli`; each command opens the local database with `open_directory(data_dir)`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import sqlite_utils

from field_app.cli.common import data_dir_arg
from field_app.directory.nearby import DEFAULT_RADIUS_KM, PAGE_PARTNERS, Filters, NearbyHit, Partner, nearby_partners
from field_app.directory.search import Place, resolve_place
from field_app.directory.store import open_directory
from field_app.domain import safe_input
from field_app.domain.eligibility import Profile
from field_app.domain.geo import parse_lat_lon
from field_app.domain.ranking import Interests
from field_app.domain.returnees import Returnee
from field_app.domain.safe_input import shown
from field_app.domain.vocabulary import REGION_NAMES, Pathway, Sector
from field_app.errors import AlreadyReferred, Problem, ValidationError
from field_app.i18n import _, format_date, format_km, format_number, labelled, ngettext
from field_app.labels import (
    REFERRAL_STATUSES,
    SEX,
    VERDICTS,
    duplicate_reason_label,
    label,
    match_message,
    partners_and_services,
    reason_message,
    region_name,
)
from field_app.referrals.service import cancel, refer, referral_page
from field_app.referrals.slip import make_slip, sms_cost
from field_app.returnees import service as returnees_service
from field_app.returnees.form import InvalidField, input_problem, parse_codes, parse_text
from field_app.returnees.profile import parse_profile
from field_app.returnees.service import check_form, find_duplicates, register
from field_app.storage.paths import resolve_data_dir

COMMANDS = ("returnee", "eligible", "referral")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help=_("print JSON"))


def add_parsers(sub: Any) -> None:
    """Add `returnee`, `eligible` and `referral` to `field-app` (`sub` from add_subparsers)."""
    returnee = sub.add_parser("returnee", help=_("register and look up returnees"))
    rsub = returnee.add_subparsers(dest="action", required=True)
    add = rsub.add_parser("add", help=_("register a returnee from a JSON file of form fields; prints the new id"))
    add.add_argument("--json", required=True, metavar="FILE", dest="file", help=_("the JSON file (- for stdin)"))
    add.add_argument("--force", action="store_true", help=_("register even if likely duplicates exist"))
    data_dir_arg(add)
    edit = rsub.add_parser(
        "edit", help=_("correct a returnee's record from a JSON file of the form fields to change; prints the id")
    )
    edit.add_argument("id")
    edit.add_argument("--json", required=True, metavar="FILE", dest="file", help=_("the JSON file (- for stdin)"))
    data_dir_arg(edit)
    listing = rsub.add_parser("list", help=_("list registered returnees, newest first"))
    listing.add_argument(
        "--search", metavar="TEXT", default="", help=_("only people whose name, phone or slip code matches TEXT")
    )
    listing.add_argument("--limit", type=int, default=50, metavar="N", help=_("at most this many people (0: all)"))
    listing.add_argument("--offset", type=int, default=0, metavar="N", help=_("skip this many people first"))
    _json_flag(listing)
    data_dir_arg(listing)
    show = rsub.add_parser("show", help=_("show one returnee's record"))
    show.add_argument("id")
    _json_flag(show)
    data_dir_arg(show)

    eligible = sub.add_parser(
        "eligible",
        help=_("partners near a place with their services and a person's verdict, best first"),
        description=_(
            "Partners near a place, one per partner with its services and this person's verdict on each: ranked "
            "by verdict (eligible, eligible if…, not eligible), then by match with the person's sectors of "
            "interest and trade before leaving (among the services the person can join), then nearest first. "
            "Without --near or --near-place the point is the capital of the profile's region (for --returnee: "
            "their place of return, else their region's capital). --json lists the services of the page's "
            "partners in the same order."
        ),
    )
    who = eligible.add_mutually_exclusive_group(required=True)
    who.add_argument("--profile", metavar="FILE", help=_("a JSON profile (- for stdin)"))
    who.add_argument("--returnee", metavar="ID", help=_("a registered returnee's id"))
    where = eligible.add_mutually_exclusive_group()
    where.add_argument("--near-place", metavar="NAME", help=_("a town or quarter of Mali"))
    where.add_argument("--near", metavar="LAT,LON", help=_("a position in decimal degrees"))
    eligible.add_argument("--pathway", choices=[p.value for p in Pathway], help=_("only this pathway"))
    eligible.add_argument("--text", metavar="T", help=_("a trade or sector, searched like the directory"))
    eligible.add_argument("--free-only", action="store_true", help=_("only free services"))
    eligible.add_argument("--eligible-only", action="store_true", help=_("hide services the person cannot join"))
    eligible.add_argument(
        "--radius",
        type=float,
        default=DEFAULT_RADIUS_KM,
        metavar="KM",
        help=_("distance limit in km (default {km}; 0 for all of Mali)").format(km=int(DEFAULT_RADIUS_KM)),
    )
    eligible.add_argument(
        "--sector",
        action="append",
        choices=[s.value for s in Sector],
        metavar="SECTOR",
        help=_("a sector of interest (repeatable; default: the returnee's or the profile's)"),
    )
    eligible.add_argument("--trade", metavar="TEXT", help=_("the trade before leaving (default: the returnee's)"))
    eligible.add_argument(
        "--limit",
        type=int,
        default=PAGE_PARTNERS,
        metavar="N",
        help=_("at most this many partners per page (default {n}; 0: all)").format(n=PAGE_PARTNERS),
    )
    eligible.add_argument("--page", type=int, default=1, metavar="P", help=_("which page of partners (from 1)"))
    _json_flag(eligible)
    data_dir_arg(eligible)

    referral = sub.add_parser("referral", help=_("refer a returnee to a service, follow referrals"))
    fsub = referral.add_subparsers(dest="action", required=True)
    create = fsub.add_parser("create", help=_("queue a referral; prints its id"))
    create.add_argument("--returnee", required=True, metavar="ID")
    create.add_argument("--service", required=True, metavar="SERVICE_ID")
    create.add_argument(
        "--consent", action="store_true", help=_("the returnee agrees to share their details with this partner")
    )
    create.add_argument("--note", metavar="TEXT", help=_("a note for the partner"))
    create.add_argument(
        "--force", action="store_true", help=_("refer even if the person has an open referral to this service")
    )
    data_dir_arg(create)
    listing = fsub.add_parser("list", help=_("list referrals, newest first"))
    listing.add_argument("--returnee", metavar="ID", help=_("only this returnee's"))
    _json_flag(listing)
    data_dir_arg(listing)
    for action, text in (("cancel", _("cancel a referral still waiting to be sent")), ("slip", _("print the slip"))):
        command = fsub.add_parser(action, help=text)
        command.add_argument("id")
        if action == "slip":
            command.add_argument(
                "--sms",
                action="store_true",
                help=_("the slip as one SMS, in the person's language (its cost on stderr)"),
            )
        data_dir_arg(command)


def run(args: argparse.Namespace) -> int:
    """Run a command added by `add_parsers`; errors propagate to `field_app.cli.main` (exit 1)."""
    db = open_directory(resolve_data_dir(args.data_dir))
    if args.command == "eligible":
        return _eligible(db, args)
    handler = {
        ("returnee", "add"): _returnee_add,
        ("returnee", "edit"): _returnee_edit,
        ("returnee", "list"): _returnee_list,
        ("returnee", "show"): _returnee_show,
        ("referral", "create"): _referral_create,
        ("referral", "list"): _referral_list,
        ("referral", "cancel"): _referral_cancel,
        ("referral", "slip"): _referral_slip,
    }[(args.command, args.action)]
    return handler(db, args)


def _read_object(source: str, option: str) -> dict[str, Any]:
    """The JSON object in file `source` (stdin for -), held to the limits of a record (`safe_input.RECORD`: size,
    depth, items, text, digits, no NUL, control character or lone surrogate); an `option: message` problem (or
    `field: message`, for a part of it) when it is not one — never a traceback, never more than a short piece
    of the input quoted back."""
    name = (
        _("standard input")
        if source == "-"
        else shown(source, 80)
        if len(source) <= 80
        else "…" + shown(source[-79:], 79)
    )
    limit = safe_input.RECORD.max_bytes
    try:
        if source == "-":
            stream = getattr(sys.stdin, "buffer", None)
            raw: bytes | str = stream.read(limit + 1) if stream is not None else sys.stdin.read(limit + 1)
        else:
            with Path(source).open("rb") as handle:
                raw = handle.read(limit + 1)
    except OSError:
        raise ValidationError([Problem(option, _("cannot read {file}.").format(file=name))]) from None
    try:
        data = safe_input.loads(raw)
    except safe_input.UnsafeInput as exc:
        raise ValidationError([input_problem(exc, where=option, source=name)]) from None
    if not isinstance(data, dict):
        message = _("{file} must hold one JSON object, with the field names as keys.")
        raise ValidationError([Problem(option, message.format(file=name))])
    return data


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


# --- returnees ---------------------------------------------------------------------------------------------------


def _returnee_add(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    data = _read_object(args.file, "--json")
    now = _now()
    if not args.force:
        duplicates = find_duplicates(db, check_form(db, data, now=now))
        if duplicates:
            print(_("Not registered: this may be someone already registered:"), file=sys.stderr)
            today = now.date()
            for dup in duplicates:
                print(f"  {dup.returnee.id}  {_person_line(dup.returnee, today)}", file=sys.stderr)
                why = ", ".join(duplicate_reason_label(r) for r in dup.reasons)
                print("    " + labelled(_("Why"), why), file=sys.stderr)
            print(_("Use --force to register anyway."), file=sys.stderr)
            return 1
    print(register(db, data, now=now).id)
    return 0


def _returnee_edit(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    """The fields given replace the record's (null clears one), the others are kept; checked as the form checks
    them, stored with its outbox entry (version + 1)."""
    data = _read_object(args.file, "--json")
    current = returnees_service.get(db, args.id)
    print(returnees_service.edit(db, current.id, {**returnees_service.form_values(current), **data}, now=_now()).id)
    return 0


def _returnee_list(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    limit = args.limit if args.limit > 0 else max(1, returnees_service.search_people(db, limit=1).total)
    page = returnees_service.search_people(db, args.search, limit=limit, offset=max(0, args.offset))
    if args.json:
        _print_json([r.model_dump(mode="json") for r in page.people])
    else:
        if not page.people:
            print(_("Nobody matches “{text}”.").format(text=page.text) if page.text else _("No returnee registered."))
        today = _now().date()
        for r in page.people:
            print(f"{r.id}  {_person_line(r, today)}")
    if page.people and (page.has_more or page.offset):
        shown = _("{first}–{last} of {total}").format(
            first=format_number(page.offset + 1), last=format_number(page.next_offset), total=format_number(page.total)
        )
        print(shown + (" " + _("(--offset {n} for the next ones)").format(n=page.next_offset) if page.has_more else ""),
              file=sys.stderr)  # fmt: skip
    return 0


def _person_line(r: Returnee, today: dt.date) -> str:
    """Name · sex · age · region · phone: enough to tell two people apart."""
    age = ngettext("{n} year", "{n} years", r.age_on(today)).format(n=r.age_on(today))
    parts = [r.full_name, label(SEX, r.sex.value), age, region_name(r.region.value), *([r.phone] if r.phone else [])]
    return " · ".join(parts)


def _returnee_show(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    r = returnees_service.get(db, args.id)
    if args.json:
        _print_json(r.model_dump(mode="json"))
        return 0
    print(f"id: {r.id}")
    for name, value in returnees_service.details(db, r, _now().date()):
        print(labelled(name, value))
    return 0


# --- eligible services nearby ------------------------------------------------------------------------------------


def _interests(args: argparse.Namespace, sectors: list[Sector], trade: str | None) -> Interests:
    """The person's interests: --sector and --trade when given, else what the record or profile holds."""
    chosen = [Sector(s) for s in args.sector] if args.sector else sectors
    return Interests(frozenset(chosen), args.trade if args.trade is not None else trade)


def _eligible(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    today = _now().date()
    place: Place | None = None
    if args.page < 1:
        raise ValidationError([Problem("--page", _("must be 1 or more."))])
    if args.returnee:
        returnee = returnees_service.get(db, args.returnee)
        profile = returnee.profile(today)
        interests = _interests(args, list(returnee.sectors), returnee.trade_before)
        if returnee.locality:
            place = resolve_place(db, returnee.locality)
    else:
        data = _read_object(args.profile, "--profile")
        sectors, trade = data.pop("sectors", None), data.pop("trade_before", None)
        try:
            wanted = parse_codes(Sector, sectors, _("Sectors of interest"))
            trade = parse_text(trade, _("Trade before leaving"), required=False, max_length=120)
        except InvalidField as exc:
            raise ValidationError([Problem("sectors" if sectors is not None else "trade_before", str(exc))]) from None
        profile = parse_profile(data, today=today)
        interests = _interests(args, wanted, trade)
    near, where = _point(db, args, profile, place)
    filters = Filters(
        pathway=args.pathway,
        text=args.text,
        free_only=args.free_only,
        eligible_only=args.eligible_only,
        radius_km=args.radius if args.radius > 0 else None,
    )
    limit = args.limit if args.limit > 0 else None
    offset = (args.page - 1) * limit if limit else 0
    page = nearby_partners(db, profile, near, filters, today=today, interests=interests, offset=offset, limit=limit)
    if args.json:
        _print_json(
            [
                _hit_json(hit, rank)
                for rank, partner in enumerate(page.partners, page.offset + 1)
                for hit in partner.services
            ]
        )
        return 0
    if filters.radius_km is None:
        print(_("Around {place}, all of Mali:").format(place=where))
    else:
        print(_("Around {place}, within {distance}:").format(place=where, distance=format_km(filters.radius_km)))
    if not page.partners:
        print(_("No service found.") if page.total_partners == 0 else _("No partner on this page."))
        return 0
    print(
        _("{count}; partners {first}–{last}:").format(
            count=partners_and_services(page.total_partners, page.total_services),
            first=page.offset + 1,
            last=page.next_offset,
        )
    )
    for rank, partner in enumerate(page.partners, page.offset + 1):
        print()
        print(f"{rank}. {partner.organization} [{partner.organization_id}]")
        print("   " + labelled(_("Why here"), _why(partner, interests)))
        for hit in partner.services:
            verdict = _(VERDICTS[hit.verdict.status])
            first = reason_message(hit.verdict.reasons[0]) if hit.verdict.reasons else ""
            print(f"{verdict:<16} {_distance(hit):>12}  {hit.organization} · {hit.service}  [{hit.service_id}]")
            if first:
                print(f"{'':<16} {'':>12}  {first}")
    if page.more:
        print()
        print(_("More: --page {page}").format(page=args.page + 1))
    return 0


def _why(partner: Partner, interests: Interests) -> str:
    """Why a partner ranks where it does: its best service's verdict, match (when the person has interests) and
    distance."""
    best = partner.best
    parts = [f"{best.service}: {_(VERDICTS[best.verdict.status])}"]
    if interests.any:
        parts.append(match_message(best.match))
    parts.append(_distance(best))
    return " · ".join(p for p in parts if p)


def _point(
    db: sqlite_utils.Database, args: argparse.Namespace, profile: Profile, place: Place | None
) -> tuple[tuple[float, float], str]:
    """The point to measure from, and how to name it: --near, --near-place, the place given, the region capital."""
    if args.near:
        try:
            return parse_lat_lon(args.near), args.near
        except ValueError:
            message = _(
                "expected LAT,LON in decimal degrees (latitude within ±90, longitude within ±180), e.g. 14.45,-11.44."
            )
            raise ValidationError([Problem("--near", message)]) from None
    if args.near_place:
        place = resolve_place(db, args.near_place)
    elif place is None:
        assert profile.region is not None  # parse_profile and Returnee both require it
        place = resolve_place(db, REGION_NAMES[profile.region])
    return (place.latitude, place.longitude), place.name


def _distance(hit: NearbyHit) -> str:
    if hit.distance_km is not None:
        return format_km(hit.distance_km)
    return _("national") if hit.coverage == "national" else (hit.coverage or "")


def _hit_json(hit: NearbyHit, partner_rank: int) -> dict[str, Any]:
    return {
        "service_id": hit.service_id,
        "organization_id": hit.organization_id,
        "organization": hit.organization,
        "partner_rank": partner_rank,
        "service": hit.service,
        "pathway": hit.pathway,
        "status": hit.verdict.status.code,
        "reasons": [
            {"code": r.code, "message": reason_message(r), "params": dict(r.params)} for r in hit.verdict.reasons
        ],
        "match": {
            "code": hit.match.kind.value,
            "sector": hit.match.sector.value if hit.match.sector else None,
            "term": hit.match.term,
            "trade": hit.match.trade_term,
            "message": match_message(hit.match),
        },
        "distance_km": hit.distance_km,
        "town": hit.town,
        "coverage": hit.coverage,
        "free": hit.free,
        "fee_min": hit.fee_min,
    }


# --- referrals ---------------------------------------------------------------------------------------------------


def _referral_create(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    try:
        referral = refer(
            db,
            returnee_id=args.returnee,
            service_id=args.service,
            consent_share=args.consent,
            now=_now(),
            note=args.note,
            force=args.force,
        )
    except AlreadyReferred as exc:
        print(_("error: {reason}").format(reason=exc), file=sys.stderr)
        print(_("Not referred. Use --force to refer again anyway."), file=sys.stderr)
        return 1
    print(referral.id)
    return 0


def _referral_list(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    """Every referral (or one person's), newest first, read a page of 50 at a time (one indexed query each)."""
    page = referral_page(db, returnee_id=args.returnee)
    lines = list(page.lines)
    while page.next is not None:
        page = referral_page(db, returnee_id=args.returnee, after=page.next)
        lines += page.lines
    if args.json:
        _print_json(
            [
                {
                    "id": line.id,
                    "code": line.code,
                    "status": line.status.value,
                    "created_at": line.created_at.isoformat(),
                    "updated_at": line.updated_at.isoformat(),
                    "returnee_id": line.returnee_id,
                    "returnee": line.returnee_name,
                    "service_id": line.service_id,
                    "organization": line.organization,
                    "service": line.service,
                    "note": line.note,
                }
                for line in lines
            ]
        )
        return 0
    if not lines:
        print(_("No referral yet."))
    for line in lines:
        status = _(REFERRAL_STATUSES[line.status])
        day = format_date(line.created_at.date())
        print(f"{line.id}  {status} · {day} · {line.returnee_name or '?'} → {line.organization} · {line.service}")
    return 0


def _referral_cancel(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    cancel(db, args.id, now=_now())
    print(_("Referral {id} cancelled.").format(id=args.id))
    return 0


def _referral_slip(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    slip = make_slip(db, args.id)
    if args.sms:
        sms = slip.sms()
        print(sms.text)
        print(sms_cost(sms), file=sys.stderr)
        return 0
    print(slip.text())
    return 0
