"""`field-app directory …`: validate, build, search, export and import the partner directory."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from field_app.casework.upkeep import edit, load_organization
from field_app.cli.common import data_dir_arg
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset, default_db_dir, load_dataset, services_past_their_end
from field_app.directory.hsds import export_hsds, import_hsds, write_dataset_files
from field_app.directory.search import resolve_place, search
from field_app.directory.store import dataset_from_store, open_directory
from field_app.domain.geo import parse_lat_lon
from field_app.errors import NotFound, Problem, ValidationError
from field_app.i18n import _, format_date, format_km, ngettext
from field_app.storage.database import open_db
from field_app.storage.paths import database_path, resolve_data_dir

COMMANDS = ("directory",)


def add_parsers(sub: Any) -> None:
    directory = sub.add_parser("directory", help=_("the partner directory"))
    dsub = directory.add_subparsers(dest="action", required=True)
    validate = dsub.add_parser("validate", help=_("check the dataset in db/"))
    validate.add_argument("--db-dir", type=Path, help=_("dataset directory (default: the bundled db/)"))
    validate.add_argument(
        "--as-of",
        type=_date,
        metavar="YYYY-MM-DD",
        help=_("list the services still recorded open whose end date has passed on this day (default: today)"),
    )
    build = dsub.add_parser("build", help=_("load the dataset into the local database"))
    build.add_argument("--db-dir", type=Path, help=_("dataset directory (default: the bundled db/)"))
    data_dir_arg(build)
    find = dsub.add_parser("search", help=_("search services"))
    find.add_argument("text", nargs="?", default="")
    where = find.add_mutually_exclusive_group()
    where.add_argument("--near-place", metavar="NAME", help=_("a town or quarter of Mali"))
    where.add_argument("--near", metavar="LAT,LON", help=_("a position in decimal degrees"))
    find.add_argument("--limit", type=int, default=20)
    find.add_argument("--json", action="store_true", help=_("print JSON"))
    data_dir_arg(find)
    export = dsub.add_parser("export", help=_("write an HSDS 3.0 data package"))
    export.add_argument("--hsds", required=True, type=Path, metavar="OUT_DIR")
    data_dir_arg(export)
    imp = dsub.add_parser("import", help=_("read an HSDS 3.0 data package written by export"))
    imp.add_argument("--hsds", required=True, type=Path, metavar="DIR")
    imp.add_argument("--to-dataset", type=Path, metavar="DB_DIR", help=_("write YAML files instead of loading them"))
    data_dir_arg(imp)
    edit = dsub.add_parser(
        "edit",
        help=_("correct an organisation (office: its region; supervisor: all), applied here and queued for the hub"),
    )
    edit.add_argument("org_id", metavar="ORG_ID")
    edit.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        dest="changes",
        help=_(
            "a field and its new value (phones, emails, website, assured_date, notes, contacts/N/name|title|"
            "phones|emails, services/ID/status|note); lists comma-separated; notes=TEXT adds one note; "
            "an empty value clears"
        ),
    )
    edit.add_argument("--verified-today", action="store_true", help=_("the entry was checked today"))
    edit.add_argument("--note", help=_("why (kept in the audit log)"))
    data_dir_arg(edit)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(_("not a date (YYYY-MM-DD): {text}").format(text=text)) from exc


def run(args: argparse.Namespace) -> int:
    return _directory(args)


def _directory(args: argparse.Namespace) -> int:
    if args.action == "validate":
        ds = load_dataset(args.db_dir)
        print(
            _("valid: {organisations}, {localities}").format(
                organisations=ngettext("{n} organisation", "{n} organisations", len(ds.organizations)).format(
                    n=len(ds.organizations)
                ),
                localities=ngettext("{n} locality", "{n} localities", len(ds.localities)).format(n=len(ds.localities)),
            )
        )
        _report_past_end(ds, args.as_of or dt.date.today())
        return 0
    data_dir = resolve_data_dir(args.data_dir)
    if args.action == "build":
        db = open_db(database_path(data_dir))
        report = build_directory(db, args.db_dir)
        print(_("{report} → {path}").format(report=report, path=database_path(data_dir)))
        return 0
    if args.action == "search":
        return _search(args, data_dir)
    if args.action == "edit":
        return _edit(args, data_dir)
    if args.action == "export":
        counts = export_hsds(dataset_from_store(open_directory(data_dir)), args.hsds)
        print(_("HSDS package written to {path}: {counts}").format(path=args.hsds, counts=counts))
        return 0
    if args.action == "import":
        orgs = import_hsds(args.hsds)
        if args.to_dataset:
            written = write_dataset_files(orgs, args.to_dataset)
            files = ngettext(
                "{n} organisation file written to {path}", "{n} organisation files written to {path}", len(written)
            )
            print(files.format(n=len(written), path=args.to_dataset))
            return 0
        db = open_db(database_path(data_dir))
        localities = load_dataset(default_db_dir()).localities
        report = build_directory(db, dataset=Dataset(orgs, localities))
        print(_("{report} → {path}").format(report=report, path=database_path(data_dir)))
        return 0
    raise AssertionError(args.action)


def _report_past_end(ds: Dataset, as_of: dt.date) -> None:
    """List (never fail on) the services still recorded open whose stated end date has passed on `as_of`."""
    past = services_past_their_end(ds, as_of)
    print(
        ngettext(
            "{n} service recorded open has passed its end date on {date}:",
            "{n} services recorded open have passed their end date on {date}:",
            len(past),
        ).format(n=len(past), date=format_date(as_of))
        if past
        else _("No service recorded open has passed its end date on {date}.").format(date=format_date(as_of))
    )
    for org, svc in past:
        assert svc.end_date is not None
        print(
            _("  {org}/{service} — {name}: ended on {date}").format(
                org=org.id, service=svc.id, name=svc.name, date=format_date(svc.end_date)
            )
        )


LIST_FIELDS = ("phones", "emails")  # final path segment of a field that takes a list


def _parse_changes(db: Any, org_id: str, items: list[str]) -> list[tuple[str, Any]]:
    """`FIELD=VALUE` options → (field, value) changes; ValidationError naming each malformed one."""
    changes: list[tuple[str, Any]] = []
    problems: list[Problem] = []
    for item in items:
        field, sep, value = item.partition("=")
        field = field.strip()
        if not sep or not field:
            problems.append(Problem(item or "--set", _("expected FIELD=VALUE")))
            continue
        value = value.strip()
        if field.rsplit("/", 1)[-1] in LIST_FIELDS:
            changes.append((field, [v.strip() for v in value.split(",") if v.strip()]))
        elif field == "notes":
            notes = [*load_organization(db, org_id).notes, *([value] if value else [])]
            changes.append((field, notes if value else []))
        else:
            changes.append((field, value or None))
    if problems:
        raise ValidationError(problems)
    return changes


def _edit(args: argparse.Namespace, data_dir: Path) -> int:
    db = open_directory(data_dir)
    now = dt.datetime.now(dt.UTC)
    changes = _parse_changes(db, args.org_id, args.changes)
    if args.verified_today:
        changes.append(("assured_date", now.date().isoformat()))
    if not changes:
        raise ValidationError([Problem("--set", _("nothing to change"))])
    before = load_organization(db, args.org_id)
    after = edit(db, args.org_id, changes, note=args.note, now=now)
    if after == before:
        print(_("{name}: nothing changed").format(name=after.name))
    else:
        print(_("{name}: corrected here, queued for the hub").format(name=after.name))
    return 0


def _search(args: argparse.Namespace, data_dir: Path) -> int:
    db = open_directory(data_dir)
    near = None
    if args.near_place:
        place = resolve_place(db, args.near_place)
        near = (place.latitude, place.longitude)
    elif args.near:
        try:
            near = parse_lat_lon(args.near)
        except ValueError as exc:
            raise NotFound(_("--near: {reason}").format(reason=exc)) from exc
    hits = search(db, args.text, near=near, limit=args.limit, today=dt.date.today())
    if args.json:
        print(json.dumps([h.as_json(with_distance=near is not None) for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print(_("No service found."))
    for hit in hits:
        where = ", ".join(filter(None, [hit.town, hit.region]))
        distance = f" — {format_km(hit.distance_km)}" if hit.distance_km is not None else ""
        print(f"{hit.service} · {hit.organization} · {where}{distance}  [{hit.service_id}]")
    return 0
