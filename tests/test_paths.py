"""Where the data lives: --data-dir, else FIELD_APP_DATA_DIR, else FLET_APP_STORAGE_DATA, else per user."""

from pathlib import Path

from field_app.storage.paths import resolve_data_dir


def test_precedence() -> None:
    env = {"FIELD_APP_DATA_DIR": "/a", "FLET_APP_STORAGE_DATA": "/b", "XDG_DATA_HOME": "/c"}
    assert resolve_data_dir("/x", env) == Path("/x")
    assert resolve_data_dir(None, env) == Path("/a")
    assert resolve_data_dir(None, {"FLET_APP_STORAGE_DATA": "/b"}) == Path("/b")
    assert resolve_data_dir(None, {"XDG_DATA_HOME": "/c"}) == Path("/c/passerelle")
