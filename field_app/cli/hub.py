"""`field-app hub`: run the sync hub, and the hub host's housekeeping commands.

    field-app hub [--db PATH_OR_URL] [--host 127.0.0.1] [--port 8700]        serve (seeds the directory from db/)
                  [--workers N] [--pool-size N]                            N uvicorn workers, each its own pool
    field-app hub enrol-code --role agent|office|supervisor [--region NAME]   print a one-time enrolment code
    field-app hub token [--role supervisor] [--region NAME]                   print a bearer token for the API
    field-app hub revoke DEVICE_ID                                            revoke a device or token
    field-app hub directory apply FILE | --delete ORG_ID                      correct the directory
    field-app hub referral event ID --kind accepted|… [--reason R] [--outcome O] [--note TEXT] [--follow-up D]
    field-app hub referral list [--region R] [--status S] [--json]             what the hub holds
    field-app hub backup DEST                SQLite: an online copy; PostgreSQL: runs pg_dump (or says how)
    field-app hub restore BACKUP             SQLite (hub stopped): the backup in place, with a new epoch
    field-app hub new-epoch                  after a pg_restore (or any restore by other means): a new epoch

Every subcommand takes `--db` (a SQLite file or a postgresql:// URL; default FIELD_APP_HUB_DB, else `hub.db` in the
data directory). Codes and tokens are printed alone on stdout so scripts can capture them. The hub's modules
(FastAPI, psycopg) are imported only when a hub command runs: devices do not install them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from field_app.domain.referrals import OFFICE_KINDS, DeclineReason, Outcome, ReferralStatus
from field_app.domain.vocabulary import Region, find_region
from field_app.errors import NotFound, Problem, StorageError, ValidationError
from field_app.i18n import _, ngettext
from field_app.labels import REFERRAL_STATUSES

if TYPE_CHECKING:
    from field_app.hub.db import HubDB
    from field_app.hub.setup import Ready

COMMANDS = ("hub",)
ROLES = ("agent", "office", "supervisor")


def region_arg(text: str) -> str:
    """--region in any case, accents optional (Kayes, kayes, Ségou, segou)."""
    region = find_region(text)
    if region is None:
        choices = ", ".join(r.value for r in Region)
        raise argparse.ArgumentTypeError(
            _("unknown region {value!r} (one of {choices})").format(value=text, choices=choices)
        )
    return region.value


def _db_arg(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        default=None if top else argparse.SUPPRESS,
        help=_("the hub's database: a SQLite file or a postgresql:// URL (default: FIELD_APP_HUB_DB, else hub.db)"),
    )


def add_parsers(sub: Any) -> None:
    """Add `hub` and its subcommands to `field-app` (`sub` from add_subparsers)."""
    hub = sub.add_parser("hub", help=_("run the sync hub, or manage it"))
    _db_arg(hub, top=True)
    hub.add_argument("--host", default="127.0.0.1", help=_("address to listen on"))
    hub.add_argument("--port", type=int, default=8700, help=_("port to listen on"))
    hub.add_argument("--workers", type=int, default=1, help="worker processes (uvicorn), each with its own pool")
    hub.add_argument(
        "--pool-size", type=int, help="PostgreSQL connections per worker (default: from the number of workers)"
    )
    hsub = hub.add_subparsers(dest="hub_action")

    code = hsub.add_parser("enrol-code", help=_("print a one-time enrolment code for a device"))
    code.add_argument("--role", required=True, choices=ROLES)
    code.add_argument(
        "--region", type=region_arg, metavar="REGION", help=_("the region of the device (required for an office)")
    )
    _db_arg(code)

    token = hsub.add_parser("token", help=_("print a bearer token for the read API"))
    token.add_argument("--role", default="supervisor", choices=ROLES)
    token.add_argument("--region", type=region_arg, metavar="REGION", help=_("the region (required for an office)"))
    _db_arg(token)

    revoke = hsub.add_parser("revoke", help=_("revoke a device or a token"))
    revoke.add_argument("device_id", metavar="DEVICE_ID")
    _db_arg(revoke)

    directory = hsub.add_parser("directory", help=_("correct the partner directory on the hub"))
    dsub = directory.add_subparsers(dest="directory_action", required=True)
    apply = dsub.add_parser("apply", help=_("add or replace an organisation from a YAML or JSON file"))
    apply.add_argument("file", nargs="?", type=Path, metavar="FILE")
    apply.add_argument("--delete", metavar="ORG_ID", help=_("remove this organisation instead"))
    _db_arg(apply)

    referral = hsub.add_parser("referral", help=_("follow referrals on the hub"))
    rsub = referral.add_subparsers(dest="referral_action", required=True)
    event = rsub.add_parser("event", help=_("record what the office did with a referral"))
    event.add_argument("referral_id", metavar="ID")
    event.add_argument("--kind", required=True, choices=sorted(k.value for k in OFFICE_KINDS))
    event.add_argument("--reason", choices=[r.value for r in DeclineReason], help=_("why (declined, not_completed)"))
    event.add_argument("--outcome", choices=[o.value for o in Outcome], help=_("what it led to (completed)"))
    event.add_argument("--follow-up", type=dt.date.fromisoformat, metavar="YYYY-MM-DD", help=_("when to check again"))
    event.add_argument("--note", help=_("a short note"))
    event.add_argument("--id", dest="event_id", help=_("the event's id (to retry safely; default: a new one)"))
    _db_arg(event)
    listing = rsub.add_parser("list", help=_("list the referrals the hub holds"))
    listing.add_argument("--region", type=region_arg, metavar="REGION")
    listing.add_argument("--status", choices=sorted(REFERRAL_STATUSES))
    listing.add_argument("--json", action="store_true", help=_("print JSON"))
    _db_arg(listing)

    backup = hsub.add_parser("backup", help=_("back the hub's database up (SQLite: online copy; PostgreSQL: pg_dump)"))
    backup.add_argument("dest", type=Path, metavar="DEST", help=_("the backup file to write (must not exist)"))
    _db_arg(backup)
    restore = hsub.add_parser("restore", help=_("replace the hub's SQLite database by a backup (stop the hub first)"))
    restore.add_argument("backup", type=Path, metavar="BACKUP")
    _db_arg(restore)
    epoch = hsub.add_parser("new-epoch", help=_("after a restore by other means (pg_restore): devices reconcile"))
    _db_arg(epoch)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _prepare(args: argparse.Namespace, *, seed: bool) -> Ready:
    from field_app.hub.db import HubUnavailable
    from field_app.hub.setup import default_target, prepare

    target = args.db or default_target()
    try:
        return prepare(target, seed=seed)
    except HubUnavailable as exc:
        raise StorageError(_("the hub's database is unavailable: {reason}").format(reason=exc)) from exc


def run(args: argparse.Namespace) -> int:
    action = args.hub_action
    if action is None:
        return _serve(args)
    if action in ("enrol-code", "token") and args.role == "office" and args.region is None:
        raise ValidationError([Problem("--region", _("an office belongs to one region: give --region"))])
    if action in _FILE_HANDLERS:  # these work on the database's file or server, not through an open hub database
        return _FILE_HANDLERS[action](args)
    db = _prepare(args, seed=action in ("directory", "referral")).db
    try:
        return _HANDLERS[action](db, args)
    finally:
        db.close()


def _serve(args: argparse.Namespace) -> int:
    """Migrate and seed once, then serve with `--workers` uvicorn worker processes (default 1); each worker builds
    its own app and, on PostgreSQL, its own pool of `--pool-size` connections (default `pool_size_for(workers)`:
    hub/workers.py, hub/db.py)."""
    import os

    import uvicorn

    from field_app.hub.db import pool_size_for
    from field_app.hub.workers import SERVE_DB, SERVE_POOL

    workers = max(1, args.workers)
    ready = _prepare(args, seed=True)
    if ready.seeded:
        seeded = ngettext(
            "Directory seeded from db/: {n} organisation", "Directory seeded from db/: {n} organisations", ready.seeded
        )
        print(seeded.format(n=ready.seeded), flush=True)
    label = ready.db.label
    target = args.db or _default_target()
    ready.db.close()
    os.environ[SERVE_DB] = str(target)
    os.environ[SERVE_POOL] = str(args.pool_size or pool_size_for(workers))
    print(
        _("Sync hub on http://{host}:{port} (database: {db}); API documentation at /docs").format(
            host=args.host, port=args.port, db=label
        ),
        flush=True,
    )
    uvicorn.run(
        "field_app.hub.workers:app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,  # longer than a client's idle expiry (httpx: 5 s): no request meets a closing socket
    )
    return 0


def _default_target() -> str:
    from field_app.hub.setup import default_target

    return default_target()


def _enrol_code(db: HubDB, args: argparse.Namespace) -> int:
    from field_app.hub import auth

    with db.transaction() as tx:
        code = auth.make_enrol_code(tx, role=args.role, region=args.region, now=_now())
    print(code)
    return 0


def _token(db: HubDB, args: argparse.Namespace) -> int:
    from field_app.hub import auth

    with db.transaction() as tx:
        token_id, token = auth.make_api_token(tx, role=args.role, region=args.region, now=_now())
    print(_("token id (to revoke it): {id}").format(id=token_id), file=sys.stderr)
    print(token)
    return 0


def _revoke(db: HubDB, args: argparse.Namespace) -> int:
    from field_app.hub import service

    try:  # the same use case as a supervisor's revocation: supervisors' devices get the `device` change
        with db.transaction() as tx:
            changed = service.revoke(tx, args.device_id, now=_now())
    except service.HubRefusal as exc:
        raise NotFound(_("no device or token with id {id}").format(id=args.device_id)) from exc
    print(
        _("revoked: {id}").format(id=args.device_id)
        if changed
        else _("already revoked: {id}").format(id=args.device_id)
    )
    return 0


def _directory(db: HubDB, args: argparse.Namespace) -> int:
    from field_app.hub import directory

    if (args.file is None) == (args.delete is None):
        raise ValidationError([Problem("FILE", _("give a file to apply, or --delete ORG_ID"))])
    if args.delete is not None:
        with db.transaction() as tx:
            applied = directory.delete_organization(tx, args.delete, now=_now())
        if applied is None:
            raise NotFound(_("no organisation with id {id}").format(id=args.delete))
        print(_("deleted: {id}").format(id=args.delete))
        return 0
    import yaml  # only this command reads YAML (with the C loader where PyYAML has one)

    path: Path = args.file
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([Problem("(file)", _("cannot read: {reason}").format(reason=exc), str(path))]) from exc
    except yaml.YAMLError as exc:
        raise ValidationError([Problem("(yaml)", str(exc).replace("\n", " "), str(path))]) from exc
    with db.transaction() as tx:
        org = directory.validate_organization(raw, directory.localities(tx), label=str(path))
        applied = directory.put_organization(tx, org, now=_now())
    words = {"created": _("added: {id}"), "updated": _("updated: {id}"), "unchanged": _("unchanged: {id}")}
    print(words[applied.result].format(id=applied.id))
    return 0


def _referral(db: HubDB, args: argparse.Namespace) -> int:
    return _referral_list(db, args) if args.referral_action == "list" else _referral_event(db, args)


def _referral_event(db: HubDB, args: argparse.Namespace) -> int:
    import pydantic

    from field_app.hub import auth, service
    from field_app.sync.protocol import OfficeEvent

    now = _now()
    try:
        event = OfficeEvent(
            kind=args.kind,
            id=args.event_id or str(uuid.uuid4()),
            at=now,
            note=" ".join((args.note or "").split()) or None,
            reason=args.reason,
            outcome=args.outcome,
            follow_up=args.follow_up,
        )
    except pydantic.ValidationError as exc:
        problems = [Problem(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()]
        raise ValidationError(problems) from exc
    operator = auth.Caller("hub-cli", "api", "supervisor", None)  # the hub host's operator acts as a supervisor
    try:
        with db.transaction() as tx:
            item, _created = service.office_event(tx, operator, args.referral_id, event, now=now)
    except service.HubRefusal as exc:
        if exc.status == 404:
            raise NotFound(_("no referral with id {id}").format(id=args.referral_id)) from exc
        if exc.code == "conflict":
            raise ValidationError([Problem("--id", _("this event id is already used for another event"))]) from exc
        raise ValidationError([Problem(f"--{exc.field or 'kind'}", exc.detail)]) from exc
    flagged = _(" (not allowed from the previous status: flagged for a supervisor)") if event.id in item.flagged else ""
    status = REFERRAL_STATUSES[ReferralStatus(item.status)]
    print(_("{id}: {status}").format(id=args.referral_id, status=_(status)) + flagged)
    return 0


def _referral_list(db: HubDB, args: argparse.Namespace) -> int:
    from field_app.hub import auth, referrals

    operator = auth.Caller("hub-cli", "api", "supervisor", None)
    filters = referrals.Filters(status=args.status, region=args.region)
    items = []
    after = 0
    with db.transaction(readonly=True) as tx:
        while True:
            page, last = referrals.page(tx, operator, filters, after=after, limit=referrals.MAX_PAGE)
            items.extend(page)
            if last is None:
                break
            after = last
    if args.json:
        print(json.dumps([i.model_dump(mode="json", exclude={"person"}) for i in items], ensure_ascii=False, indent=2))
        return 0
    if not items:
        print(_("No referral."))
    for item in items:
        status = _(REFERRAL_STATUSES[ReferralStatus(item.status)])
        print(f"{item.id}  {item.created_at:%Y-%m-%d}  {item.region}  {status}  {item.service_id}")
    return 0


def _target(args: argparse.Namespace) -> str:
    from field_app.hub.setup import default_target

    return str(args.db or default_target())


def _backup(args: argparse.Namespace) -> int:
    import shutil
    import subprocess

    from field_app.hub import setup
    from field_app.hub.db import is_postgres

    target = _target(args)
    dest: Path = args.dest
    if not is_postgres(target):
        setup.backup(target, dest)
        print(_("backup written: {path}").format(path=dest))
        return 0
    if dest.exists():
        raise ValidationError([Problem("DEST", _("this file exists already: give a new one"), str(dest))])
    command = setup.pg_dump_command(target, dest)
    if shutil.which("pg_dump") is None:
        print(_("pg_dump is not installed here; on a host with PostgreSQL's client tools run:"))
        print(" ".join(command))
        return 1
    done = subprocess.run(command, env=setup.pg_environment(target), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise StorageError(_("pg_dump failed: {reason}").format(reason=done.stderr.strip()[-300:]))
    print(_("backup written: {path}").format(path=dest))
    print(
        _("to restore it: {command}, then field-app hub new-epoch --db URL").format(
            command=" ".join(setup.pg_restore_command(target, dest))
        )
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    from field_app.hub import setup
    from field_app.hub.db import is_postgres

    target = _target(args)
    if is_postgres(target):
        command = " ".join(setup.pg_restore_command(target, args.backup))
        raise ValidationError(
            [Problem("--db", _("PostgreSQL: run {command}, then field-app hub new-epoch").format(command=command))]
        )
    restored = setup.restore(args.backup, target)
    print(_("restored; new epoch {epoch}: devices reconcile at their next sync").format(epoch=restored.epoch))
    return 0


def _new_epoch(args: argparse.Namespace) -> int:
    from field_app.hub import setup

    restored = setup.new_epoch(_target(args))
    print(_("new epoch {epoch}: devices reconcile at their next sync").format(epoch=restored.epoch))
    return 0


_FILE_HANDLERS = {"backup": _backup, "restore": _restore, "new-epoch": _new_epoch}

_HANDLERS = {
    "enrol-code": _enrol_code,
    "token": _token,
    "revoke": _revoke,
    "directory": _directory,
    "referral": _referral,
}
