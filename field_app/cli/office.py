"""`field-app office`: the regional office's inbox and workflow on an office (or supervisor) device.

    field-app office inbox [--status S] [--overdue] [--text T] [--json]    the region's referrals, overdue first
    field-app office update REFERRAL_ID --status received|accepted|declined|enrolled|completed|not_completed
        [--reason CODE] [--outcome CODE] [--note TEXT] [--follow-up YYYY-MM-DD]

`--json` prints every matching referral (all pages: never cut), each with `returnee` = {given_name, family_name,
phone} where the referral carries the consent to share, else null. An update is queued with its outbox entry and
synced like any change; a move that is not allowed, lacks its reason or outcome, or names an unknown code → exit 1
with `field: message` lines, nothing written. All take `--data-dir`. Registered from `field_app.cli`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

import sqlite_utils

from field_app.cli.common import data_dir_arg
from field_app.domain.referrals import ReferralStatus
from field_app.errors import Problem, ValidationError
from field_app.i18n import _, ngettext
from field_app.labels import REFERRAL_STATUSES
from field_app.storage.paths import resolve_data_dir

COMMANDS = ("office",)
PAGE = 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def add_parsers(sub: Any) -> None:
    group = sub.add_parser("office", help=_("the regional office's inbox and workflow"))
    osub = group.add_subparsers(dest="action", required=True)
    inbox = osub.add_parser("inbox", help=_("the region's referrals: overdue first, then newest"))
    inbox.add_argument("--status", help=_("only referrals with this status"))
    inbox.add_argument("--overdue", action="store_true", help=_("only overdue referrals"))
    inbox.add_argument("--text", help=_("a slip code or part of the person's name"))
    inbox.add_argument("--json", action="store_true", help=_("print JSON"))
    data_dir_arg(inbox)
    update = osub.add_parser("update", help=_("move a referral one step (queued for the hub)"))
    update.add_argument("referral_id", metavar="REFERRAL_ID")
    update.add_argument(
        "--status",
        required=True,
        help=_("the new status: received, accepted, declined, enrolled, completed, not_completed"),
    )
    update.add_argument("--reason", help=_("why it was declined or not completed (a reason code)"))
    update.add_argument("--outcome", help=_("what a completed referral led to (an outcome code)"))
    update.add_argument("--note", help=_("a note for the history"))
    update.add_argument("--follow-up", dest="follow_up", metavar="YYYY-MM-DD", help=_("when to check again"))
    data_dir_arg(update)


def run(args: argparse.Namespace) -> int:
    from field_app.directory.store import open_directory  # the use cases: imported when a command runs

    db = open_directory(resolve_data_dir(args.data_dir))
    if args.action == "inbox":
        return _inbox(db, args)
    return _update(db, args)


def _inbox(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    if args.status and args.status not in REFERRAL_STATUSES:
        codes = ", ".join(REFERRAL_STATUSES)
        raise ValidationError(
            [Problem("status", _("unknown code {code!r}; one of: {codes}").format(code=args.status, codes=codes))]
        )
    from field_app.casework import office
    from field_app.casework.roles import current

    filters = office.InboxFilters(status=args.status, overdue_only=args.overdue, text=args.text)
    region, now = current(db).scope, _now()
    items: list[office.InboxItem] = []
    page = office.inbox(db, region=region, filters=filters, now=now, limit=PAGE)
    items += page.items
    while len(items) < page.total and page.items:
        page = office.inbox(db, region=region, filters=filters, now=now, offset=len(items), limit=PAGE)
        items += page.items
    if args.json:
        print(json.dumps([i.as_json() for i in items], ensure_ascii=False, indent=2))
        return 0
    print(
        _("{referrals}, {overdue}").format(
            referrals=ngettext("{n} referral", "{n} referrals", page.total).format(n=page.total),
            overdue=ngettext("{n} overdue", "{n} overdue", page.overdue).format(n=page.overdue),
        )
    )
    for i in items:
        who = i.person.full_name if i.person else _("(details not shared)")
        mark = "!" if i.overdue else " "
        print(f"{mark} {i.code}  {_(REFERRAL_STATUSES[ReferralStatus(i.status)]):<22} {who}  {i.organization}  {i.id}")
    return 0


def _update(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    follow_up = None
    if args.follow_up:
        try:
            follow_up = dt.date.fromisoformat(args.follow_up)
        except ValueError:
            raise ValidationError([Problem("follow_up", _("Give the date as YYYY-MM-DD."))]) from None
    from field_app.casework import office

    item = office.move(
        db,
        args.referral_id,
        args.status,
        reason=args.reason,
        outcome=args.outcome,
        note=args.note,
        follow_up=follow_up,
        now=_now(),
    )
    print(f"{item.id} {item.status}")
    return 0
