"""The `field-app` command line. Stable: other tools script against it (see the README).

One module per command group, each `add_parsers(sub)` + `run(args)`: parse → call a use case → print.
Exit codes: 0 success, 1 invalid input or data (problems on stderr as `file: field: message`), 2 usage.

The group modules are imported when a command line is parsed, not with this package, and `field-app run` parses
without them: serving the app needs none of the commands' use cases (tests/test_cold_start.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from field_app.cli.common import data_dir_arg
from field_app.errors import FieldAppError, Problem, ValidationError
from field_app.i18n import _
from field_app.storage.paths import resolve_data_dir

GROUP_NAMES = ("directory", "casework", "hub", "sync", "office", "supervisor")  # modules of field_app.cli
PATH_OPTIONS = frozenset({"data_dir", "db", "file", "profile"})  # file names: whatever the file system allows


def groups() -> tuple[ModuleType, ...]:
    """The command groups' modules, in GROUP_NAMES order (imported on first use)."""
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in GROUP_NAMES)


def __getattr__(name: str) -> Any:
    """`GROUPS`: the group modules, imported when asked for (PEP 562)."""
    if name == "GROUPS":
        return groups()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_parser(command_groups: Sequence[ModuleType] | None = None) -> argparse.ArgumentParser:
    """The whole command line (every group unless `command_groups` says which)."""
    parser = argparse.ArgumentParser(prog="field-app", description=_("Passerelle: referrals of returning migrants"))
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help=_("start the app in web mode"))
    data_dir_arg(run)
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8550)
    for group in groups() if command_groups is None else command_groups:
        group.add_parsers(sub)
    return parser


def refuse_unsafe_words(args: argparse.Namespace) -> None:
    """Text given on the command line may end up stored (a note, a directory edit, a name): a NUL, a control
    character (a terminal escape) or a lone surrogate (bytes that are not UTF-8) is refused like the form refuses
    it — `field: message`, nothing done. File names are left as the file system has them."""
    from field_app.domain.safe_input import text_fault

    problems = []
    for dest, value in sorted(vars(args).items()):
        texts = value if isinstance(value, list) else [value]
        faults = [text_fault(t) for t in texts if isinstance(t, str)] if dest not in PATH_OPTIONS else []
        fault = next((f for f in faults if f is not None), None)
        if fault is not None:
            from field_app.returnees.form import fault_message

            problems.append(Problem(dest, fault_message(fault[0], char=fault[1])))
    if problems:
        raise ValidationError(problems)


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    serving = bool(words) and words[0] == "run"  # no group module needed: the app starts sooner
    command_groups = () if serving else groups()
    args = build_parser(command_groups).parse_args(words)
    try:
        if not serving:
            refuse_unsafe_words(args)
        if args.command == "run":
            from field_app.ui.app import serve

            serve(resolve_data_dir(args.data_dir), host=args.host, port=args.port)
            return 0
        for group in command_groups:
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
