"""`field-app supervisor …`: devices, outcomes and exports over a supervisor device's local copy (after a sync)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

from field_app.cli.common import data_dir_arg
from field_app.domain.referrals import ReferralStatus
from field_app.domain.vocabulary import find_region
from field_app.errors import Problem, ValidationError
from field_app.i18n import _, ngettext
from field_app.storage.paths import resolve_data_dir

COMMANDS = ("supervisor",)


def add_parsers(sub: Any) -> None:
    sup = sub.add_parser("supervisor", help=_("the supervisor's views over this device's copy"))
    ssub = sup.add_subparsers(dest="action", required=True)
    devs = ssub.add_parser("devices", help=_("enrolled devices as they last reported"))
    devs.add_argument("--json", action="store_true", help=_("print JSON"))
    data_dir_arg(devs)
    out = ssub.add_parser("outcomes", help=_("referrals per status, region and month; the funnel per partner"))
    out.add_argument("--region", help=_("one region (any case, accents or not)"))
    out.add_argument("--json", action="store_true", help=_("print JSON"))
    data_dir_arg(out)
    exp = ssub.add_parser("export", help=_("write referrals, outcomes or the directory audit log to a file"))
    target = exp.add_mutually_exclusive_group(required=True)
    target.add_argument("--xlsx", type=Path, metavar="FILE")
    target.add_argument("--csv", type=Path, metavar="FILE")
    exp.add_argument("--what", choices=("referrals", "outcomes", "audit"), default="referrals")
    exp.add_argument("--region", help=_("one region (any case, accents or not)"))
    exp.add_argument("--status", help=_("one status"))
    data_dir_arg(exp)


def _region(text: str | None) -> str | None:
    if text is None:
        return None
    region = find_region(text)
    if region is None:
        raise ValidationError([Problem("--region", _("unknown region '{value}'").format(value=text))])
    return region.value


def _status(text: str | None) -> str | None:
    if text is None:
        return None
    if text not in {s.value for s in ReferralStatus}:
        choices = ", ".join(s.value for s in ReferralStatus)
        raise ValidationError([Problem("--status", _("must be one of: {choices}").format(choices=choices))])
    return text


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f} %"


def run(args: argparse.Namespace) -> int:
    from field_app.casework.exports import export_audit, export_outcomes, export_referrals  # when a command runs
    from field_app.casework.office import InboxFilters
    from field_app.casework.supervisor import devices, pipeline
    from field_app.directory.store import open_directory

    db = open_directory(resolve_data_dir(args.data_dir))
    now = dt.datetime.now(dt.UTC)
    if args.action == "devices":
        found = devices(db)
        if args.json:
            print(json.dumps([d.model_dump(mode="json") for d in found], ensure_ascii=False, indent=2))
            return 0
        if not found:
            print(_("No device known yet: sync this supervisor device first."))
        for d in found:
            state = _("revoked") if d.revoked_at else _("active")
            last = d.last_sync_at.isoformat(timespec="minutes") if d.last_sync_at else "—"
            print(
                f"{d.name or '—'} · {d.role} · {d.region or '—'} · {state} · "
                + _("last sync {when}, {pending} waiting, {quarantined} quarantined, version {version}").format(
                    when=last,
                    pending=d.pending if d.pending is not None else "?",
                    quarantined=d.quarantined if d.quarantined is not None else "?",
                    version=d.app_version or "?",
                )
                + f"  [{d.id}]"
            )
        return 0
    if args.action == "outcomes":
        p = pipeline(db, region=_region(args.region), now=now)
        if args.json:
            data = _jsonable(p)
            data["overdue"] = [i["id"] for i in data["overdue"]]
            data["conflicts"] = [i["id"] for i in data["conflicts"]]
            print(json.dumps(data, ensure_ascii=False, indent=2))
            return 0
        print(
            ngettext("{n} referral", "{n} referrals", p.total).format(n=p.total)
            + " · "
            + ", ".join(f"{k}: {v}" for k, v in p.by_status.items())
        )
        print(_("By region: {counts}").format(counts=", ".join(f"{k}: {v}" for k, v in p.by_region.items())))
        print(_("By month: {counts}").format(counts=", ".join(f"{k}: {v}" for k, v in p.by_month)))
        print(_("Overdue: {n} · conflicts: {m}").format(n=p.overdue_total, m=p.conflicts_total))
        for f in p.partners:
            quoted = (
                _("quoted {rate} ({year} report figure)").format(
                    rate=f"{f.quoted_insertion.percent:.0f} %", year=f.quoted_year
                )
                if f.quoted_insertion
                else _("no rate quoted")
            )
            print(
                f"{f.organization}: {f.referred} → {f.accepted} → {f.enrolled} → {f.completed} · "
                + _("placement measured {rate}").format(rate=_percent(f.placement_rate))
                + f" · {quoted}"
            )
        return 0
    if args.action == "export":
        fmt, path = ("xlsx", args.xlsx) if args.xlsx else ("csv", args.csv)
        region, status = _region(args.region), _status(args.status)
        if args.what == "referrals":
            n = export_referrals(db, path, fmt=fmt, filters=InboxFilters(status=status), region=region, now=now)
        elif args.what == "outcomes":
            n = export_outcomes(db, path, fmt=fmt, region=region, now=now)
        else:
            n = export_audit(db, path, fmt=fmt, now=now)
        print(ngettext("{n} row written to {path}", "{n} rows written to {path}", n).format(n=n, path=path))
        return 0
    raise AssertionError(args.action)
