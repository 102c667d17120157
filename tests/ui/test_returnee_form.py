"""The returnee form: problems under their fields and nothing stored; search before create; edit in place."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import flet as ft
import pytest
import sqlite_utils

from field_app.domain.returnees import Returnee
from field_app.returnees.form import FIELDS
from field_app.storage.outbox import entries
from field_app.storage.returnees import get_returnee, list_returnees
from field_app.ui import routes
from field_app.ui.viewmodels.returnee_form import LABELS, Outcome, ReturneeFormViewModel
from field_app.ui.views.returnee_form import returnee_form_view
from tests.ui.conftest import NOW
from tests.ui.helpers import NavRecorder, button, by_key, fire, labels, texts

pytestmark = pytest.mark.usefixtures("english")
Clock = Callable[[], dt.datetime]


def fill(vm: ReturneeFormViewModel, **values: object) -> None:
    for name, value in values.items():
        vm.set(name, value)


def test_form_offers_every_field() -> None:
    assert set(LABELS) == set(FIELDS)


def test_problems_are_per_field_and_nothing_is_stored(db: sqlite_utils.Database, clock: Clock) -> None:
    vm = ReturneeFormViewModel(db, clock)
    fill(vm, given_name="Awa", phone="12", return_date="2031-01-01")
    assert vm.submit() is Outcome.INVALID
    assert set(vm.errors) >= {"family_name", "sex", "region", "age", "phone", "return_date", "consent"}
    assert "given_name" not in vm.errors
    assert vm.summary.startswith(f"Please correct these {len(vm.errors)} fields: Family name, Sex, Age, Phone, ")
    assert list_returnees(db) == [] and entries(db) == []


def test_age_or_birth_date_whichever_the_switch_shows(db: sqlite_utils.Database, clock: Clock) -> None:
    vm = ReturneeFormViewModel(db, clock)
    fill(vm, given_name="Awa", family_name="Diarra", sex="F", region="bamako", consent=True, age="30")
    vm.set_age_mode("birth_date")
    assert vm.submit() is Outcome.INVALID and "birth_date" in vm.errors  # the age typed is not sent
    fill(vm, birth_date="1995-04-02")
    assert vm.submit() is Outcome.SAVED and vm.saved_id
    stored = get_returnee(db, vm.saved_id)
    assert stored.birth_date == dt.date(1995, 4, 2) and stored.age is None


def test_a_new_region_clears_a_place_outside_it(db: sqlite_utils.Database, clock: Clock) -> None:
    vm = ReturneeFormViewModel(db, clock)
    fill(vm, region="kayes", locality="kita")
    assert any(o.key == "kita" for o in vm.locality_options())
    fill(vm, region="kayes")
    assert vm.values["locality"] == "kita"
    fill(vm, region="mopti")
    assert vm.values["locality"] is None and all(o.key != "kita" for o in vm.locality_options())


def test_search_before_create(db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee) -> None:
    vm = ReturneeFormViewModel(db, clock)
    fill(vm, given_name="Fatoumata", family_name="Traore", sex="F", age="22", region="kayes", consent=True)
    assert vm.submit() is Outcome.DUPLICATES
    assert [d.returnee_id for d in vm.duplicates] == [fatoumata.id]
    assert len(list_returnees(db)) == 1  # nothing stored until the agent answers
    assert vm.register_as_new() is Outcome.SAVED
    assert len(list_returnees(db)) == 2 and vm.saved_id != fatoumata.id


def test_edit_is_prefilled_and_saved_as_a_new_version(
    db: sqlite_utils.Database, clock: Clock, fatoumata: Returnee
) -> None:
    vm = ReturneeFormViewModel(db, clock, fatoumata.id)
    assert vm.editing and vm.title == "Edit Fatoumata Traoré"
    assert vm.values["given_name"] == "Fatoumata" and vm.values["documents"] == ["id_card"]
    assert vm.values["age"] == "22" and vm.age_mode == "age"
    vm.toggle("documents", "birth_certificate", True)
    fill(vm, reads_french="yes", phone="76 12 34 56")
    assert vm.submit() is Outcome.SAVED and vm.saved_id == fatoumata.id
    stored = get_returnee(db, fatoumata.id)
    assert stored.version == 2 and stored.reads_french is True and stored.phone == "+22376123456"
    assert [d.value for d in stored.documents] == ["id_card", "birth_certificate"]


def test_view_shows_each_problem_under_its_field(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    view = returnee_form_view(ReturneeFormViewModel(db, clock), recorder.nav)
    fire(by_key(view, "given_name", ft.TextField), "change", value="Awa")
    fire(button(view, "Register"))
    assert by_key(view, "family_name", ft.TextField).error == "Family name is required."
    assert by_key(view, "given_name", ft.TextField).error is None
    assert by_key(view, "region", ft.Dropdown).error_text
    shown = texts(view)
    assert "Consent is required: the record is kept only if the person agrees." in shown
    assert any(t.startswith("Please correct these") for t in shown)
    assert recorder.went == [] and list_returnees(db) == []


def test_view_registers_then_opens_the_returnee_page(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    view = returnee_form_view(ReturneeFormViewModel(db, clock), recorder.nav)
    fire(by_key(view, "given_name", ft.TextField), "change", value="Fatoumata")
    fire(by_key(view, "family_name", ft.TextField), "change", value="Traoré")
    fire(by_key(view, "sex", ft.RadioGroup), "change", value="F")
    fire(by_key(view, "age", ft.TextField), "change", value="22")
    fire(by_key(view, "region", ft.Dropdown), "select", value="kayes")
    place = by_key(view, "locality", ft.Dropdown)
    assert any(o.key == "kayes" for o in place.options)  # the places of the region chosen
    fire(place, "select", value="kayes")
    fire(by_key(view, "id_card", ft.Chip), "select", selected=True)
    fire(by_key(view, "consent", ft.Checkbox), "change", value=True)
    fire(button(view, "Register"))
    [stored] = list_returnees(db)
    assert recorder.went == [routes.returnee(stored.id)]
    assert stored.locality == "kayes" and [d.value for d in stored.documents] == ["id_card"]


def test_view_asks_is_this_the_same_person(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder, fatoumata: Returnee
) -> None:
    vm = ReturneeFormViewModel(db, clock)
    fill(vm, given_name="Fatoumata", family_name="Traoré", sex="F", age="23", region="kayes", consent=True)
    view = returnee_form_view(vm, recorder.nav)
    fire(button(view, "Register"))
    [dialog] = recorder.dialogs
    assert "Fatoumata Traoré" in texts(dialog)
    fire(button(dialog, "Yes, open this record"))
    assert recorder.went == [routes.returnee(fatoumata.id)] and recorder.dialogs == []
    assert len(list_returnees(db)) == 1
    fire(button(view, "Register"))
    fire(button(recorder.dialogs[0], "No, register as new"))
    assert len(list_returnees(db)) == 2 and recorder.went[-1] == routes.returnee(vm.saved_id or "")


def test_required_fields_are_marked_for_eyes_and_ears(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    view = returnee_form_view(ReturneeFormViewModel(db, clock), recorder.nav)
    assert "Fields marked * are required." in texts(view)
    for name in ("given_name", "family_name", "age"):
        field = by_key(view, name, ft.TextField)
        assert isinstance(field.label, ft.Text), name
        assert field.label.value == f"{LABELS[name]} *" and field.label.semantics_label == f"{LABELS[name]}, required"
    for name in ("phone", "trade_before"):
        assert by_key(view, name, ft.TextField).label == LABELS[name]  # optional: no mark
    assert "Sex, required" in labels(view) and "Region of return, required" in labels(view)
    assert "Reads French" in labels(view) and "Reads French, required" not in labels(view)
    consent = by_key(view, "consent", ft.Checkbox)
    assert isinstance(consent.label, ft.Text) and consent.label.semantics_label == "The person agrees, required"


def test_dates_are_typed_in_the_languages_order_or_picked(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder
) -> None:
    vm = ReturneeFormViewModel(db, clock)
    view = returnee_form_view(vm, recorder.nav)
    back = by_key(view, "return_date", ft.TextField)
    assert back.hint_text == "MM/DD/YYYY, or the calendar"  # English: the month first
    fire(by_key(view, "return_date-calendar", ft.IconButton))
    [picker] = recorder.dialogs
    assert isinstance(picker, ft.DatePicker) and picker.last_date == NOW.date()
    fire(picker, "change", value=dt.datetime(2024, 11, 2))  # what Flet's DatePicker gives
    assert back.value == "11/02/2024" and vm.values["return_date"] == dt.date(2024, 11, 2)
    fire(by_key(view, "age_mode", ft.Switch), "change", value=True)
    birth = by_key(view, "birth_date", ft.TextField)
    assert birth.visible and not by_key(view, "age", ft.TextField).visible
    fire(birth, "change", value="3/25/1999")
    fill(vm, given_name="Awa", family_name="Diarra", sex="F", region="kayes", consent=True)
    assert vm.submit() is Outcome.SAVED and vm.saved_id
    stored = get_returnee(db, vm.saved_id)
    assert (stored.birth_date, stored.return_date) == (dt.date(1999, 3, 25), dt.date(2024, 11, 2))
    edit = returnee_form_view(ReturneeFormViewModel(db, clock, stored.id), recorder.nav)
    assert by_key(edit, "birth_date", ft.TextField).value == "03/25/1999"  # shown as typed here, not ISO


def test_a_date_typed_badly_says_how_to_write_it(db: sqlite_utils.Database, clock: Clock) -> None:
    vm = ReturneeFormViewModel(db, clock)
    fill(vm, return_date="2024/11/02")
    assert vm.submit() is Outcome.INVALID
    assert vm.errors["return_date"] == "Not a date: write it as MM/DD/YYYY, e.g. 03/25/1999."


def test_long_lists_are_folded_saying_what_they_hold(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder, fatoumata: Returnee
) -> None:
    view = returnee_form_view(ReturneeFormViewModel(db, clock), recorder.nav)
    for name in ("sectors", "documents", "vulnerabilities"):
        section = by_key(view, f"{name}-section", ft.ExpansionTile)
        assert section.expanded is False and texts(section.subtitle) == ["None chosen"]
    documents = by_key(view, "documents-section", ft.ExpansionTile)
    fire(by_key(documents, "id_card", ft.Chip), "select", selected=True)
    fire(by_key(documents, "birth_certificate", ft.Chip), "select", selected=True)
    assert texts(documents.subtitle) == ["2 chosen: identity card, birth certificate"]
    edit = returnee_form_view(ReturneeFormViewModel(db, clock, fatoumata.id), recorder.nav)
    assert by_key(edit, "documents-section", ft.ExpansionTile).expanded is True  # she holds one: open
    assert by_key(edit, "vulnerabilities-section", ft.ExpansionTile).expanded is False


def test_the_duplicate_warning_says_why_each_person_matched(
    db: sqlite_utils.Database, clock: Clock, recorder: NavRecorder, fatoumata: Returnee
) -> None:
    vm = ReturneeFormViewModel(db, clock)
    # the same name in the same region, eight years older: found whatever the age (issue 9)
    fill(vm, given_name="Fatoumata", family_name="Traore", sex="F", age="30", region="kayes", consent=True)
    view = returnee_form_view(vm, recorder.nav)
    fire(button(view, "Register"))
    [dialog] = recorder.dialogs
    [row] = vm.duplicates
    assert row.returnee_id == fatoumata.id and "same name, same region" in row.reasons
    assert texts(by_key(dialog, f"why-{fatoumata.id}")) == [row.why]
    assert row.why.startswith("Why: same name, same region")
