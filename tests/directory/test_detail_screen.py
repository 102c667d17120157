"""A partner's page says what the directory knows today: ended on its date, how old the facts are, the fee this
person pays, what the source warns of, whether the partner has worked with returnees, and who it is for."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from field_app import i18n
from field_app.directory.build import build_directory
from field_app.directory.dataset import Dataset
from field_app.domain.eligibility import Status
from field_app.domain.returnees import Returnee
from field_app.i18n import format_fcfa
from field_app.returnees.service import register
from field_app.storage.database import open_db
from field_app.ui.viewmodels.service_detail import ServiceDetailViewModel
from field_app.ui.views.service_detail import service_detail_view
from tests.ui.helpers import NavRecorder, labels, texts

TODAY = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
IN_2023 = dt.datetime(2023, 6, 1, 9, 0, tzinfo=dt.UTC)
PERSON: dict[str, Any] = {
    "family_name": "Traoré", "age": 25, "region": "bamako", "locality": "bamako", "documents": [], "consent": True,
}  # fmt: skip


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n.set_language("en")
    yield
    i18n.set_language("fr")


@pytest.fixture
def db(tmp_path: Path, dataset: Dataset) -> Iterator[sqlite_utils.Database]:
    database = open_db(tmp_path / "field_app.db")
    build_directory(database, dataset=dataset)
    yield database
    database.close()


@pytest.fixture
def man(db: sqlite_utils.Database) -> Returnee:
    return register(db, {**PERSON, "given_name": "Moussa", "sex": "M"}, now=TODAY)


@pytest.fixture
def woman(db: sqlite_utils.Database) -> Returnee:
    return register(db, {**PERSON, "given_name": "Awa", "sex": "F"}, now=TODAY)


def at(when: dt.datetime) -> Callable[[], dt.datetime]:
    return lambda: when


def shown(vm: ServiceDetailViewModel) -> str:
    return "\n".join(texts(service_detail_view(vm, NavRecorder().nav)))


def test_a_service_past_its_end_says_when_it_ended_and_is_not_eligible(
    db: sqlite_utils.Database, man: Returnee
) -> None:
    vm = ServiceDetailViewModel(db, at(TODAY), "danida/facej", man.id)
    assert vm.status_banner == "This service ended on December 31, 2024."
    verdict = vm.verdict()
    assert verdict is not None and verdict[0] is Status.NOT_ELIGIBLE and "This service has ended." in verdict[2]
    assert "This service ended on December 31, 2024." in shown(vm)
    assert vm.period == "Period stated by the source: “Durée du projet 2019 - 2024”"
    before = ServiceDetailViewModel(db, at(IN_2023), "danida/facej", man.id)
    assert before.status_banner is None
    assert before.verdict() is not None and "This service has ended." not in before.verdict()[2]  # type: ignore[index]


def test_a_recorded_end_without_a_date_and_a_plan_are_said_too(db: sqlite_utils.Database) -> None:
    assert ServiceDetailViewModel(db, at(TODAY), "luxdev/adel").status_banner == (
        "This service ended on November 30, 2022."
    )
    markala = ServiceDetailViewModel(db, at(TODAY), "cfp-markala/transformation-cereales")
    assert markala.status_banner == "This service has not opened yet."
    assert "Le CFP de Markala sera ouvert dans quelques mois" in shown(markala)


def test_old_facts_say_call_to_confirm(db: sqlite_utils.Database) -> None:
    senou = "cfp-senou/menuiserie-bois"
    vm = ServiceDetailViewModel(db, at(TODAY), senou)
    assert vm.freshness == "Information from December 31, 2022 — call to confirm."
    assert vm.freshness in shown(vm)
    assert ServiceDetailViewModel(db, at(dt.datetime(2023, 12, 31, tzinfo=dt.UTC)), senou).freshness is None
    assert ServiceDetailViewModel(db, at(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)), senou).freshness is not None


def test_the_fee_is_the_registration_fee_this_person_pays(
    db: sqlite_utils.Database, man: Returnee, woman: Returnee
) -> None:
    cap = "centre-pere-michel/cap-mecanique-auto"
    for person, fee in ((man, 2500), (woman, 1000)):
        vm = ServiceDetailViewModel(db, at(TODAY), cap, person.id)
        assert vm.fee_summary == f"Registration from {format_fcfa(fee)}"
        assert vm.fee_summary in shown(vm)
    anyone = ServiceDetailViewModel(db, at(TODAY), cap)
    assert anyone.fee_summary == f"Registration from {format_fcfa(1000)}"
    assert any(c.endswith("(men and boys only)") for c in anyone.costs)
    assert any(c.endswith("(women and girls only)") for c in anyone.costs)


def test_a_stamp_or_a_tuition_is_no_registration_fee(db: sqlite_utils.Database) -> None:
    assert ServiceDetailViewModel(db, at(TODAY), "cfp-markala/transformation-cereales").fee_summary is None
    literacy = ServiceDetailViewModel(db, at(TODAY), "cfp-missabougou/alphabetisation")
    assert literacy.fee_summary == f"Registration from {format_fcfa(10000)}"
    assert not [c for c in literacy.costs if "formation professionnelle" in c.lower() or "infirmerie" in c.lower()]
    masonry = ServiceDetailViewModel(db, at(TODAY), "cfp-missabougou/maconnerie")
    assert masonry.fee_summary is None and len(masonry.costs) == 3
    assert ServiceDetailViewModel(db, at(TODAY), "ecica/formation-courte-migrants").fee_summary == "Free"


def test_an_inferred_entry_says_so_and_gives_the_national_focal_points(db: sqlite_utils.Database) -> None:
    vm = ServiceDetailViewModel(db, at(TODAY), "anpe-dr-kayes/orientation-migrants-retour")
    assert vm.inferred is not None and "fiche partenaire-15" in vm.inferred
    assert vm.inferred_from is not None and "11 directions régionales" in vm.inferred_from
    assert [c.who.split(",")[0] for c in vm.contacts] == ["Sambal Sidibé", "Bréhima Sidibé Noumbary"]
    page = shown(vm)
    assert vm.inferred in page and vm.inferred_from in page and "Good to know" in page
    assert ServiceDetailViewModel(db, at(TODAY), "anpe/intermediation-offres-emploi").inferred is None


def test_caveats_returnees_and_target_groups_are_shown(db: sqlite_utils.Database) -> None:
    vm = ServiceDetailViewModel(db, at(TODAY), "croix-rouge-malienne/appui-psychosocial")
    page = shown(vm)
    assert any("Croix-Rouge danoise" in c for c in vm.caveats) and "Croix-Rouge danoise" in page
    words, quote = vm.serves_returnees
    assert words == "Has worked with returning migrants" and quote and quote[:40] in page
    assert vm.target_groups and vm.target_groups.startswith("For: ") and vm.target_groups in page
    silent = ServiceDetailViewModel(db, at(TODAY), "banque-mondiale/padel")
    assert silent.serves_returnees == (
        "The source does not say whether it has worked with returning migrants",
        None,
    )


def test_contact_details_are_labelled_text_for_a_screen_reader(db: sqlite_utils.Database) -> None:
    vm = ServiceDetailViewModel(db, at(TODAY), "cfp-senou/menuiserie-bois")
    heard = labels(service_detail_view(vm, NavRecorder().nav))
    assert "Phone: +223/66.89.68.87" in heard and "E-mail: djibrillam@yahoo.fr" in heard
