"""`field-app device` and `field-app sync`: enrol this device with a hub, sync it, see how syncing goes.

    field-app device enrol --hub URL --code CODE [--name NAME]   enrol once; prints the device id
    field-app sync --once                                          one sync; prints a one-line summary
    field-app sync [--loop] [--interval SECONDS]                   sync every few minutes (backoff on failure)
                                                                   until Ctrl+C; one line per sync (the app's
                                                                   own background runner, sync/runner.py)
    field-app sync status [--json]                                 pending, quarantined (with reasons), last sync
    field-app sync retry (SEQ… | --all)                            put refused entries back in the queue

All take `--data-dir`. Exit codes as everywhere: 0 success, 1 failure (`error: …` on stderr), 2 usage. The token
is never printed. Registered from `field_app.cli`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import signal
from pathlib import Path
from typing import Any

import sqlite_utils

from field_app.directory.store import open_directory
from field_app.errors import FieldAppError, NotFound, reason_of
from field_app.i18n import N_, _, ngettext
from field_app.labels import SYNC_ENTITIES, SYNC_ROLES, label
from field_app.storage.paths import resolve_data_dir
from field_app.sync import quarantine
from field_app.sync import status as sync_status
from field_app.sync.engine import INTERVAL_S, SyncEngine, SyncReport, client_for, enrol, utc_now
from field_app.sync.runner import Quiet, SyncRunner

COMMANDS = ("device", "sync")

RESULTS = {
    sync_status.OK: N_("up to date"),
    sync_status.OFFLINE: N_("offline: the hub could not be reached"),
    sync_status.FAILED: N_("failed"),
    sync_status.REFUSED: N_("refused by the hub: enrol this device again"),
}


def _data_dir(parser: argparse.ArgumentParser, *, nested: bool = False) -> None:
    parser.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS if nested else None,  # a subcommand's option must not reset its parent's
        help=_("directory holding the local database"),
    )


def add_parsers(sub: Any) -> None:
    """Add `device` and `sync` to `field-app` (`sub` from add_subparsers)."""
    device = sub.add_parser("device", help=_("this device and its hub"))
    dsub = device.add_subparsers(dest="action", required=True)
    en = dsub.add_parser("enrol", help=_("enrol this device with a hub, using a one-time code; prints the device id"))
    en.add_argument("--hub", required=True, metavar="URL", help=_("the hub's address, e.g. http://10.0.0.5:8700"))
    en.add_argument("--code", required=True, help=_("the one-time enrolment code given by the hub's operator"))
    en.add_argument("--name", help=_("a name for this device, shown on the hub"))
    _data_dir(en)

    sync = sub.add_parser("sync", help=_("send what is queued and receive the hub's changes"))
    sync.add_argument("--once", action="store_true", help=_("sync once and stop"))
    sync.add_argument("--loop", action="store_true", help=_("keep syncing until stopped (the default)"))
    sync.add_argument(
        "--interval", type=float, default=INTERVAL_S, metavar="SECONDS", help=_("seconds between syncs (default 300)")
    )
    _data_dir(sync)
    ssub = sync.add_subparsers(dest="action")
    status = ssub.add_parser("status", help=_("what waits to be sent, what was refused, how the last sync went"))
    status.add_argument("--json", action="store_true", help=_("print JSON"))
    _data_dir(status, nested=True)
    retry = ssub.add_parser("retry", help=_("send refused entries again (once the record is fixed)"))
    retry.add_argument("seq", nargs="*", type=int, metavar="SEQ", help=_("the entries' numbers (see sync status)"))
    retry.add_argument("--all", action="store_true", help=_("every refused entry"))
    _data_dir(retry, nested=True)


def run(args: argparse.Namespace) -> int:
    db = open_directory(resolve_data_dir(args.data_dir))
    if args.command == "device":
        state = enrol(db, args.hub, args.code, device_name=args.name)
        print(state.device_id)
        return 0
    if args.action == "status":
        return _status(db, as_json=args.json)
    if args.action == "retry":
        return _retry(db, args)
    if args.once:
        report = sync_once(db)
        print(report.summary())
        return 0
    return _loop(resolve_data_dir(args.data_dir), args.interval)


def sync_once(db: sqlite_utils.Database) -> SyncReport:
    """One whole sync with the hub this device is enrolled with."""
    with client_for(db) as client:
        return SyncEngine(db, client, utc_now, random.Random()).sync_once()


def _stamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _stop_on_signals() -> None:
    """Ctrl+C (SIGINT) and SIGTERM end the loop cleanly, even when started from a shell that ignores SIGINT
    (a background job inherits SIGINT ignored; a service manager stops with SIGTERM)."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)


def _loop(data_dir: Path, interval: float) -> int:
    """Sync now, then every `interval` seconds, sooner or later after failures (backoff), until Ctrl+C: the same
    runner as the app's. A refused token stops it (AuthError: it will not start working by itself)."""
    _stop_on_signals()
    runner = SyncRunner(lambda: open_directory(data_dir), utc_now, random.Random(), Quiet(), interval_s=interval)

    def said(report: SyncReport | None, error: FieldAppError | None) -> None:
        if report is not None:
            print(_("{time} ok: {summary}").format(time=_stamp(utc_now()), summary=report.summary()), flush=True)
            return
        state = sync_status.state(runner.db)
        retry_at = _stamp(state.next_attempt_at if state and state.next_attempt_at else utc_now())
        print(
            _("{time} failed: {reason}; next attempt at {retry}").format(
                time=_stamp(utc_now()), reason=reason_of(error) if error else "", retry=retry_at
            ),
            flush=True,
        )

    try:
        runner.run_blocking(said)
    except KeyboardInterrupt:
        print(_("stopped"), flush=True)
    return 0


def _status(db: sqlite_utils.Database, *, as_json: bool) -> int:
    state = sync_status.state(db)
    counts = sync_status.counts(db)
    refused = [
        {
            "seq": q.seq,
            "op_id": q.op_id,
            "entity": q.entity,
            "entity_id": q.entity_id,
            "code": q.code,
            "reason": q.reason,
            "message": q.message,
        }
        for q in quarantine.items(db)
    ]
    if as_json:
        out: dict[str, Any] = {"enrolled": state is not None, "pending": counts["pending"], "quarantined": refused}
        if state is not None:
            out.update(
                hub_url=state.hub_url,
                hub_id=state.hub_id,
                device_id=state.device_id,
                role=state.role,
                region=state.region,
                cursor=state.cursor,
                last_attempt_at=state.last_attempt_at.isoformat() if state.last_attempt_at else None,
                last_success_at=state.last_success_at.isoformat() if state.last_success_at else None,
                last_result=state.last_result,
                last_error=state.last_error,
                last_report=state.last_report,
                failures=state.failures,
                next_attempt_at=state.next_attempt_at.isoformat() if state.next_attempt_at else None,
            )
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    if state is None:
        print(_("Not enrolled with a hub (field-app device enrol --hub URL --code CODE)."))
    else:
        print(
            _("Hub: {url} (device {device}, {role})").format(
                url=state.hub_url, device=state.device_id, role=label(SYNC_ROLES, state.role)
            )
        )
    print(_("Waiting to be sent: {n}").format(n=counts["pending"]))
    print(_("Refused by the hub: {n}").format(n=len(refused)))
    for item in refused:
        what = label(SYNC_ENTITIES, str(item["entity"]))
        print(f"  #{item['seq']} {what} {item['entity_id']}: {item['message']}")
    if state is not None:
        if state.last_attempt_at is None:
            print(_("Last sync: never"))
        else:
            result = _(RESULTS[state.last_result]) if state.last_result in RESULTS else (state.last_result or "")
            print(_("Last sync: {time}, {result}").format(time=_stamp(state.last_attempt_at), result=result))
            if state.last_result != sync_status.OK and state.last_error:
                print(_("Reason: {reason}").format(reason=state.last_error))
            if state.last_success_at and state.last_result != sync_status.OK:
                print(_("Last successful sync: {time}").format(time=_stamp(state.last_success_at)))
            if state.next_attempt_at:
                print(_("Next attempt: {time}").format(time=_stamp(state.next_attempt_at)))
        print(_("Cursor: {n}").format(n=state.cursor))
    return 0


def _retry(db: sqlite_utils.Database, args: argparse.Namespace) -> int:
    if not args.all and not args.seq:
        raise NotFound(_("say which entries to send again (their numbers), or --all"))
    known = {q.seq for q in quarantine.items(db)}
    unknown = [s for s in args.seq if s not in known]
    if unknown:
        raise NotFound(_("no refused entry numbered {seq}").format(seq=", ".join(map(str, unknown))))
    n = quarantine.retry(db) if args.all else sum(quarantine.retry(db, s) for s in args.seq)
    print(ngettext("{n} entry back in the queue", "{n} entries back in the queue", n).format(n=n))
    return 0
