"""The `field-app` command (placeholder until the full CLI lands)."""

from __future__ import annotations

import sys

from field_app.directory.dataset import load_dataset
from field_app.errors import ValidationError


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:2] == ["directory", "validate"]:
        try:
            ds = load_dataset()
        except ValidationError as exc:
            for p in exc.problems:
                print(p, file=sys.stderr)
            return 1
        print(f"{len(ds.organizations)} organisations, {len(ds.localities)} localities: valid")
        return 0
    print("usage: field-app directory validate", file=sys.stderr)
    return 2
