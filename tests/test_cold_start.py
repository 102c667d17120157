"""Cold start: what a first launch or a sync needs is not imported to start the app or show its home screen.

Structural, not timed (bench/device.py times it): a fresh interpreter imports a module, or runs a command line, and
reports `sys.modules`; the heavy modules deferred for issue 9 must not be there — YAML and the directory build
chain (a first launch only), the HTTP client and the wire models (a sync only), the command groups (`field-app
run` needs none). The figures before: 1.0 s of a 7.7 s start was importing these.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIRST_LAUNCH = {"yaml", "field_app.directory.build", "field_app.directory.dataset", "field_app.directory.hsds"}
SYNC = {"httpx", "field_app.sync.client", "field_app.sync.protocol"}
COMMAND_GROUPS = {f"field_app.cli.{g}" for g in ("directory", "casework", "hub", "sync", "office", "supervisor")}
UI = {"flet", "flet_geolocator"}


def loaded(code: str, *args: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code` (SystemExit, e.g. from --help, is fine)."""
    probe = textwrap.dedent(
        """
        import json, sys
        try:
            exec(compile(sys.argv[1], "<probe>", "exec"))
        except SystemExit:
            pass
        print("\\n" + json.dumps(sorted(sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, textwrap.dedent(code), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_probe_sees_what_is_imported() -> None:
    """The checks below can fail: the build chain does load YAML, the sync client httpx and the wire models."""
    assert {"yaml", "field_app.directory.dataset"} <= loaded("import field_app.directory.build")
    assert {"httpx", "field_app.sync.protocol"} <= loaded("import field_app.sync.client")


def test_the_package_alone_imports_nothing_heavy() -> None:
    mods = loaded("import field_app")
    assert not mods & (FIRST_LAUNCH | SYNC | COMMAND_GROUPS | UI | {"sqlite_utils", "pydantic", "babel"})


def test_the_command_line_imports_its_groups_only_to_parse_them() -> None:
    mods = loaded("import field_app.cli")
    assert not mods & (COMMAND_GROUPS | FIRST_LAUNCH | SYNC | UI)
    everything = loaded("from field_app.cli import main; main(['--help'])")
    assert everything >= COMMAND_GROUPS  # the help lists every group's commands


def test_field_app_run_parses_without_the_command_groups() -> None:
    mods = loaded("from field_app.cli import main; main(['run', '--help'])")
    assert not mods & (COMMAND_GROUPS | FIRST_LAUNCH | SYNC)


def test_the_sync_engine_and_runner_load_the_client_only_to_sync() -> None:
    mods = loaded("import field_app.sync.engine, field_app.sync.runner, field_app.sync.status")
    assert not mods & (SYNC | FIRST_LAUNCH)


def test_opening_a_built_store_needs_no_build_chain(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "field_app", "directory", "build", "--data-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=300,
    )
    mods = loaded(
        "import sys; from pathlib import Path; from field_app.storage.database import open_db;"
        "from field_app.storage.paths import database_path; open_db(database_path(Path(sys.argv[2])))",
        str(tmp_path),
    )
    assert not mods & (FIRST_LAUNCH | SYNC)


def test_importing_the_app_loads_no_first_launch_or_sync_module() -> None:
    mods = loaded("import field_app.ui.app")
    assert mods >= UI
    assert not mods & (FIRST_LAUNCH | SYNC | COMMAND_GROUPS)


def test_the_home_screen_is_drawn_without_them(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "field_app", "directory", "build", "--data-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=300,
    )
    mods = loaded(
        """
        import datetime as dt, sys
        from pathlib import Path
        from field_app.ui.app import open_directory
        from field_app.ui.router import Router
        from field_app.ui.views.common import Nav
        data = Path(sys.argv[2])
        nav = Nav(go=print, back=print, show_dialog=print, close_dialog=print, update=print)
        router = Router(open_directory(data), lambda: dt.datetime.now(dt.UTC), nav, data_dir=data)
        assert router.views_for("/")
        """,
        str(tmp_path),
    )
    assert "field_app.ui.views.home" in mods
    assert not mods & (FIRST_LAUNCH | SYNC | COMMAND_GROUPS)
