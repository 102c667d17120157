"""The `field-app` command line. Stable: other tools script against it (see the README).

One module per command group, each `add_parsers(sub)` + `run(args)`: parse → call a use case → print.
Exit codes: 0 success, 1 invalid input or data (problems on stderr as `file: field: message`), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from field_app.cli import casework, directory, hub, office, supervisor, sync
from field_app.cli.common import data_dir_arg
from field_app.errors import FieldAppError, ValidationError
from field_app.i18n import _
from field_app.storage.paths import resolve_data_dir

GROUPS = (directory, casework, hub, sync, office, supervisor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="field-app", description=_("Passerelle: referrals of returning migrants"))
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help=_("start the app in web mode"))
    data_dir_arg(run)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8550)
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            from field_app.ui.app import serve

            serve(resolve_data_dir(args.data_dir), host=args.host, port=args.port)
            return 0
        for group in GROUPS:
            if args.command in group.COMMANDS:
                code: int = group.run(args)
                return code
        raise AssertionError(args.command)
    except ValidationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    except FieldAppError as exc:
        print(_("error: {reason}").format(reason=exc), file=sys.stderr)
        return 1
