"""What every command group shares: the --data-dir option."""

from __future__ import annotations

import argparse

from field_app.i18n import _


def data_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help=_("directory holding the local database"))
