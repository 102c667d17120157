"""`field-app hub` housekeeping commands: where the database is by default, what they print, how they fail."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.hub.conftest import REPO


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("FIELD_APP_HUB_DB", "FIELD_APP_DATA_DIR")}
    return subprocess.run(
        [sys.executable, "-m", "field_app", "hub", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=base | {"FIELD_APP_LANG": "en"} | (env or {}),
    )


def codes_in(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM enrol_codes").fetchone()[0])


def test_default_database_is_hub_db_in_the_data_dir_or_field_app_hub_db(tmp_path: Path) -> None:
    done = run("enrol-code", "--role", "agent", env={"FIELD_APP_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}\n", done.stdout)
    assert codes_in(tmp_path / "data" / "hub.db") == 1
    chosen = tmp_path / "chosen.db"
    assert run("enrol-code", "--role", "supervisor", env={"FIELD_APP_HUB_DB": str(chosen)}).returncode == 0
    assert codes_in(chosen) == 1
    # --db wins, given before or after the subcommand
    other = tmp_path / "other.db"
    assert (
        run("--db", str(other), "enrol-code", "--role", "agent", env={"FIELD_APP_HUB_DB": str(chosen)}).returncode == 0
    )
    assert run("token", "--db", str(other)).returncode == 0
    assert codes_in(other) == 1 and codes_in(chosen) == 1


def test_bad_arguments_are_refused_with_reasons(tmp_path: Path) -> None:
    db = str(tmp_path / "hub.db")
    office = run("enrol-code", "--role", "office", "--db", db)
    assert office.returncode == 1 and "--region" in office.stderr and office.stdout == ""
    assert run("enrol-code", "--role", "mayor", "--db", db).returncode == 2
    assert run("enrol-code", "--role", "agent", "--region", "paris", "--db", db).returncode == 2
    both = run("directory", "apply", "--db", db)
    assert both.returncode == 1 and "--delete" in both.stderr
    gone = run("directory", "apply", str(tmp_path / "missing.yaml"), "--db", db)
    assert gone.returncode == 1 and "missing.yaml" in gone.stderr
    assert codes_in(Path(db)) == 0


def test_an_unreachable_postgresql_is_an_error_not_a_traceback() -> None:
    done = run("enrol-code", "--role", "agent", "--db", "postgresql://nobody:secret@127.0.0.1:9/none")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "127.0.0.1" in done.stderr and "secret" not in done.stderr
