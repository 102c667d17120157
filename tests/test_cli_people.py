"""`field-app returnee list --search TEXT [--json] [--limit N] [--offset N]` and the duplicate refusal of
`returnee add`, as scripts use them: real processes over a real data directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.test_cli import run

PEOPLE = [
    {"given_name": "Fatoumata", "family_name": "Traoré", "sex": "F", "age": 22, "region": "kayes",
     "phone": "76 12 34 56"},
    {"given_name": "Moussa", "family_name": "Keïta", "sex": "M", "age": 27, "region": "kayes"},
    {"given_name": "Seydou", "family_name": "Coulibaly", "sex": "M", "age": 31, "region": "segou",
     "phone": "66 21 43 65"},
    {"given_name": "Awa", "family_name": "Traore", "sex": "F", "age": 40, "region": "mopti"},
]  # fmt: skip


@pytest.fixture(scope="module")
def registered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A data directory with the directory built and `PEOPLE` registered in order (ids returned)."""
    path = tmp_path_factory.mktemp("people")
    assert run("directory", "build", "--data-dir", str(path)).returncode == 0
    ids = []
    for k, person in enumerate(PEOPLE):
        file = path / f"p{k}.json"
        file.write_text(json.dumps({**person, "consent": True}), encoding="utf-8")
        done = run("returnee", "add", "--json", str(file), "--data-dir", str(path))
        assert done.returncode == 0, done.stderr
        ids.append(done.stdout.strip())
    return path, ids


@pytest.fixture
def data_dir(registered: tuple[Path, list[str]], tmp_path: Path) -> Path:
    target = tmp_path / "data"
    target.mkdir()
    for file in registered[0].glob("field_app.db*"):
        shutil.copy(file, target / file.name)
    return target


def listing(data_dir: Path, *args: str) -> Any:
    return run("returnee", "list", *args, "--data-dir", str(data_dir))


def listed(data_dir: Path, *args: str) -> list[str]:
    done = listing(data_dir, *args, "--json")
    assert done.returncode == 0, done.stderr
    return [f"{r['given_name']} {r['family_name']}" for r in json.loads(done.stdout)]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("traore", ["Awa Traore", "Fatoumata Traoré"]),  # accent-blind, newest first
        ("TRAORÉ fat", ["Fatoumata Traoré"]),
        ("keita", ["Moussa Keïta"]),
        ("3456", ["Fatoumata Traoré"]),  # the end of the phone
        ("+223 66 21 43 65", ["Seydou Coulibaly"]),
        ("aminata", []),
    ],
)
def test_search(data_dir: Path, search: str, expected: list[str]) -> None:
    assert listed(data_dir, "--search", search) == expected


def test_everyone_newest_first_and_paged_never_silently(data_dir: Path) -> None:
    assert listed(data_dir) == ["Awa Traore", "Seydou Coulibaly", "Moussa Keïta", "Fatoumata Traoré"]
    page = listing(data_dir, "--limit", "2")
    assert page.returncode == 0 and len(page.stdout.splitlines()) == 2
    assert "1–2 of 4" in page.stderr and "--offset 2" in page.stderr  # says there is more, and how to get it
    assert listed(data_dir, "--limit", "2", "--offset", "2") == ["Moussa Keïta", "Fatoumata Traoré"]
    assert listed(data_dir, "--limit", "0") == listed(data_dir)


def test_text_lines_tell_people_apart(data_dir: Path, registered: tuple[Path, list[str]]) -> None:
    done = listing(data_dir, "--search", "fatoumata")
    assert done.returncode == 0
    (line,) = done.stdout.splitlines()
    assert line.startswith(registered[1][0]) and "Fatoumata Traoré · Woman · 22 years · Kayes · +22376123456" in line
    nobody = listing(data_dir, "--search", "aminata")
    assert nobody.returncode == 0 and "Nobody matches “aminata”." in nobody.stdout


def test_french(data_dir: Path) -> None:
    done = run("returnee", "list", "--search", "keita", "--data-dir", str(data_dir), env={"FIELD_APP_LANG": "fr"})
    assert "Moussa Keïta · Homme · 27 ans · Kayes" in done.stdout


def test_add_refuses_a_likely_duplicate_and_says_why(data_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.json"  # Moussa Keïta again, another spelling, names swapped, a stated age 10 years off
    again.write_text(json.dumps({"given_name": "Keita", "family_name": "Mousa", "sex": "M", "age": 37,
                                 "region": "kayes", "consent": True}), encoding="utf-8")  # fmt: skip
    done = run("returnee", "add", "--json", str(again), "--data-dir", str(data_dir))
    assert done.returncode == 1 and done.stdout == ""
    assert "Moussa Keïta · Man · 27 years · Kayes" in done.stderr
    assert "Why: similar name (spelling or sound), same region" in done.stderr
    forced = run("returnee", "add", "--json", str(again), "--force", "--data-dir", str(data_dir))
    assert forced.returncode == 0 and len(listed(data_dir, "--search", "keita")) == 2
