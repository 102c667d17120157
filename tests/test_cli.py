"""The `field-app` command as scripts use it: real processes, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, "FIELD_APP_LANG": "en", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "field_app", *args], capture_output=True, text=True, cwd=REPO, env=full_env, timeout=120
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data")
    result = run("directory", "build", "--data-dir", str(path))
    assert result.returncode == 0, result.stderr
    assert "59 added" in result.stdout
    return path


def test_validate_ok() -> None:
    result = run("directory", "validate")
    assert result.returncode == 0 and "59 organisations" in result.stdout


def test_validate_reports_file_and_field(dataset_copy: Path) -> None:
    path = dataset_copy / "organizations" / "apej.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("kind: public_agency", "kind: bakery"), encoding="utf-8")
    result = run("directory", "validate", "--db-dir", str(dataset_copy))
    assert result.returncode == 1
    assert result.stderr.startswith("organizations/apej.yaml: kind: ")


def test_search_json_near_place(data_dir: Path) -> None:
    result = run("directory", "search", "couture", "--near-place", "Kayes", "--json", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits and {"service_id", "organization", "service", "pathway", "town", "region", "distance_km"} <= set(
        hits[0]
    )
    distances = [h["distance_km"] for h in hits if h["distance_km"] is not None]
    assert distances == sorted(distances)


def test_search_json_without_place_has_no_distance(data_dir: Path) -> None:
    result = run("directory", "search", "senou", "--json", "--limit", "2", "--data-dir", str(data_dir))
    hits = json.loads(result.stdout)
    assert len(hits) == 2 and "distance_km" not in hits[0]


def test_search_near_coordinates_and_bad_input(data_dir: Path) -> None:
    ok = run("directory", "search", "--near", "14.45,-11.44", "--json", "--limit", "1", "--data-dir", str(data_dir))
    assert json.loads(ok.stdout)[0]["town"] == "Kayes"
    bad = run("directory", "search", "--near", "north", "--data-dir", str(data_dir))
    assert bad.returncode == 1 and "--near" in bad.stderr
    unknown = run("directory", "search", "--near-place", "Atlantis", "--data-dir", str(data_dir))
    assert unknown.returncode == 1 and "Atlantis" in unknown.stderr


def test_data_dir_from_environment(tmp_path: Path) -> None:
    result = run("directory", "build", env={"FIELD_APP_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0 and (tmp_path / "field_app.db").is_file()


def test_export_then_import(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "hsds"
    assert run("directory", "export", "--hsds", str(out), "--data-dir", str(data_dir)).returncode == 0
    assert (out / "datapackage.json").is_file()
    fresh = tmp_path / "fresh"
    imported = run("directory", "import", "--hsds", str(out), "--data-dir", str(fresh))
    assert imported.returncode == 0, imported.stderr
    assert "59 added" in imported.stdout
    search = run("directory", "search", "senou", "--json", "--data-dir", str(fresh))
    assert json.loads(search.stdout)
