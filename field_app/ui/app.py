"""Composition root: open the local store, build the screens, serve the web app (offline, no CDN)."""

from __future__ import annotations

from pathlib import Path

import flet as ft

from field_app.directory.store import open_directory
from field_app.i18n import _, set_language
from field_app.ui.viewmodels.directory import DirectoryViewModel
from field_app.ui.views.directory import directory_view

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


def make_main(data_dir: Path):  # type: ignore[no-untyped-def]
    def main(page: ft.Page) -> None:
        set_language()
        page.title = _("Passerelle — partner directory")
        page.theme_mode = ft.ThemeMode.LIGHT
        db = open_directory(data_dir)
        page.views.clear()
        page.views.append(directory_view(DirectoryViewModel(db)))
        page.update()

    return main


def serve(data_dir: Path, host: str = "127.0.0.1", port: int = 8550) -> None:
    """Serve the app in web mode on host:port; prints the URL first (`make run`)."""
    open_directory(data_dir).close()  # build the store before the first visitor, and fail early if it cannot
    print(
        _("Passerelle is running: open http://{host}:{port}/ (Ctrl+C to stop)").format(host=host, port=port), flush=True
    )
    ft.run(
        make_main(data_dir),
        view=ft.AppView.WEB_BROWSER,
        host=host,
        port=port,
        no_cdn=True,
        assets_dir=str(ASSETS_DIR),
    )
