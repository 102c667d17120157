"""Load and validate the directory dataset in `db/`: every problem reported as `file: field: message`.

`db/organizations/<id>.yaml` holds one organisation each; `db/gazetteer/localities.csv` the places.
Loading is all or nothing: a dataset with any problem raises `ValidationError` listing all of them.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pydantic
import yaml

from field_app.directory.phones import to_e164
from field_app.domain.directory import Locality, Organization, Phone, Service
from field_app.domain.vocabulary import ServiceStatus
from field_app.errors import Problem, ValidationError

# PyYAML's C loader (libyaml) parses the directory ten times faster than the pure-Python one (0.09 s against
# 0.9 s on a first launch); it is used wherever the wheel has it, with the same safe semantics.
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ORGANIZATIONS_DIR = "organizations"
GAZETTEER_FILE = Path("gazetteer") / "localities.csv"


@dataclass(frozen=True)
class Dataset:
    organizations: list[Organization]
    localities: dict[str, Locality]


def default_db_dir() -> Path:
    """The repository's `db/` (next to the package), where the curated dataset lives."""
    return Path(__file__).resolve().parents[2] / "db"


def field_path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _pydantic_problems(exc: pydantic.ValidationError, file: str) -> list[Problem]:
    return [Problem(field_path(err["loc"]), err["msg"], file) for err in exc.errors()]


def load_organization(path: Path, label: str | None = None) -> Organization:
    """Parse and validate one organisation file; raise ValidationError naming the file and fields."""
    label = label or path.name
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError([Problem("(file)", f"cannot read: {exc}", label)]) from exc
    except yaml.YAMLError as exc:
        raise ValidationError([Problem("(yaml)", str(exc).replace("\n", " "), label)]) from exc
    if not isinstance(raw, dict):
        raise ValidationError([Problem("(file)", "expected a mapping of fields", label)])
    try:
        org = Organization.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ValidationError(_pydantic_problems(exc, label)) from exc
    problems = phone_problems(org, label)
    if path.stem != org.id:
        problems.append(Problem("id", f"must match the file name ({path.stem})", label))
    if problems:
        raise ValidationError(problems)
    return org


def phone_problems(org: Organization, label: str) -> list[Problem]:
    problems: list[Problem] = []

    def check(phone: Phone, where: str) -> None:
        expected = to_e164(phone.as_written)
        if expected is None:
            problems.append(Problem(where, f"'{phone.as_written}' is not a valid phone number", label))
        elif expected != phone.e164:
            problems.append(Problem(where, f"e164 is {phone.e164} but '{phone.as_written}' is {expected}", label))

    for i, phone in enumerate(org.phones):
        check(phone, f"phones[{i}]")
    for c, contact in enumerate(org.contacts):
        for i, phone in enumerate(contact.phones):
            check(phone, f"contacts[{c}].phones[{i}]")
    return problems


def load_localities(path: Path) -> dict[str, Locality]:
    """Read the gazetteer CSV (alternate names separated by '|')."""
    label = str(Path("gazetteer") / path.name)
    problems: list[Problem] = []
    out: dict[str, Locality] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError([Problem("(file)", f"cannot read: {exc}", label)]) from exc
    for line_no, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        data: dict[str, object] = {k: v for k, v in row.items() if v not in ("", None)}
        data["alternate_names"] = [n for n in row.get("alternate_names", "").split("|") if n]
        try:
            loc = Locality.model_validate(data)
        except pydantic.ValidationError as exc:
            problems += [Problem(f"line {line_no}.{p.field}", p.message, label) for p in _pydantic_problems(exc, label)]
            continue
        if loc.id in out:
            problems.append(Problem(f"line {line_no}.id", f"duplicate locality id {loc.id}", label))
        out[loc.id] = loc
    if problems:
        raise ValidationError(problems)
    return out


def load_dataset(db_dir: Path | None = None) -> Dataset:
    """Load every organisation and the gazetteer, cross-check them, and raise on any problem."""
    db_dir = db_dir or default_db_dir()
    problems: list[Problem] = []
    localities: dict[str, Locality] = {}
    try:
        localities = load_localities(db_dir / GAZETTEER_FILE)
    except ValidationError as exc:
        problems += exc.problems
    organizations: list[Organization] = []
    files = sorted((db_dir / ORGANIZATIONS_DIR).glob("*.yaml"))
    if not files:
        problems.append(Problem("(dir)", "no organisation files", ORGANIZATIONS_DIR))
    for path in files:
        label = f"{ORGANIZATIONS_DIR}/{path.name}"
        try:
            org = load_organization(path, label)
        except ValidationError as exc:
            problems += exc.problems
            continue
        organizations.append(org)
        for i, loc in enumerate(org.locations):
            place = localities.get(loc.locality)
            if localities and place is None:
                problems.append(Problem(f"locations[{i}].locality", f"unknown locality '{loc.locality}'", label))
            elif place is not None and place.region != loc.region:
                problems.append(
                    Problem(f"locations[{i}].region", f"{loc.locality} is in {place.region}, not {loc.region}", label)
                )
    if problems:
        raise ValidationError(problems)
    return Dataset(organizations, localities)


def services_past_their_end(dataset: Dataset, as_of: dt.date) -> list[tuple[Organization, Service]]:
    """The services recorded as open (active or full) whose stated end date is before `as_of`: ended on that day
    whatever their status says (`status_on`), so their files should say so. In file order."""
    return [
        (org, svc)
        for org in dataset.organizations
        for svc in org.services
        if svc.status in (ServiceStatus.ACTIVE, ServiceStatus.FULL)
        and svc.end_date is not None
        and svc.status_on(as_of) is ServiceStatus.ENDED
    ]
