"""Where the app keeps its data: --data-dir, else FIELD_APP_DATA_DIR, else FLET_APP_STORAGE_DATA, else per user."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

DB_FILENAME = "field_app.db"


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The data directory, by precedence; FLET_APP_STORAGE_DATA is where Flet keeps app data on Android."""
    env = os.environ if env is None else env
    for candidate in (explicit, env.get("FIELD_APP_DATA_DIR"), env.get("FLET_APP_STORAGE_DATA")):
        if candidate:
            return Path(candidate).expanduser()
    return _per_user_dir(env)


def _per_user_dir(env: Mapping[str, str]) -> Path:
    if sys.platform == "win32" and env.get("LOCALAPPDATA"):
        return Path(env["LOCALAPPDATA"]) / "Passerelle"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Passerelle"
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "passerelle"


def database_path(data_dir: Path) -> Path:
    return data_dir / DB_FILENAME
