"""The returnee form (new or edit). Every field of `field_app.returnees.form.FIELDS`; logic in the view model.

Grouped in sections (the person, the return, skills, documents and needs, consent). Required fields carry a
visible "*" (explained at the top) and the word "required" in their accessible name. Dates are typed the way
the agent's language writes them (25/03/1999 in French) or picked with the calendar button (Flet's DatePicker).
The long lists that are usually empty (sectors of interest, documents held, vulnerabilities) are folded, each
saying what it holds, so the common case — no documents, no vulnerabilities — is about half as long as before.
Problems come back one per field and are shown under that field, with a summary at the top and by the button.
A possible duplicate opens a dialog: "Is this the same person?", with why each person was offered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Any

import flet as ft

from field_app.i18n import _
from field_app.ui import routes
from field_app.ui.viewmodels.common import Option
from field_app.ui.viewmodels.returnee_form import (
    CONSENT_LABEL,
    CONSENT_READ_OUT,
    FOLDED,
    LABELS,
    NOT_ASKED,
    Outcome,
    ReturneeFormViewModel,
)
from field_app.ui.views.common import (
    TOUCH,
    Nav,
    button,
    checkbox,
    chips,
    dropdown,
    error_text,
    handler,
    heading,
    note,
    radio_group,
    screen,
    switch,
)

NONE_CHOSEN = Option(NOT_ASKED, "—")
BIRTH_YEARS_BACK = 120  # the date picker's first year, before today


def required_label(text: str) -> ft.Text:
    """A field's label with a visible "*", read out as "…, required" (a screen reader says nothing useful for
    a star)."""
    return ft.Text(f"{text} *", semantics_label=_("{label}, required").format(label=text))


def returnee_form_view(vm: ReturneeFormViewModel, nav: Nav) -> ft.View:
    """Build the form; `show_errors` is called after each submit to put each problem under its field."""
    show: dict[str, Callable[[str | None], None]] = {}
    today = vm.today

    def label(name: str) -> str:
        return _(LABELS[name])

    def field_label(name: str) -> str | ft.Control:
        return required_label(label(name)) if vm.required(name) else label(name)

    def text(name: str, *, hint: str | None = None, keyboard: ft.KeyboardType = ft.KeyboardType.TEXT) -> ft.TextField:
        value = vm.values.get(name)
        box = ft.TextField(
            label=field_label(name),
            value="" if value is None else str(value),
            hint_text=hint,
            keyboard_type=keyboard,
            error_max_lines=3,
            on_change=lambda e: vm.set(name, e.control.value or ""),
            key=name,
        )

        def set_error(msg: str | None) -> None:
            box.error = msg

        show[name] = set_error
        return box

    def date_field(name: str, *, first: dt.date, opens_on: dt.date) -> ft.TextField:
        """A date typed in the agent's language's order, or picked with the calendar button beside it."""
        box = text(name, hint=_("{pattern}, or the calendar").format(pattern=vm.date_hint()))
        box.value = vm.date_text(name)
        box.keyboard_type = ft.KeyboardType.DATETIME

        def picked(e: Any) -> None:
            value = e.control.value
            if isinstance(value, dt.date):
                vm.set_date(name, value)
                box.value, box.error = vm.date_text(name), None

        def open_picker(e: Any) -> None:
            nav.show_dialog(
                ft.DatePicker(
                    value=vm.date_value(name),
                    first_date=first,
                    last_date=today,
                    current_date=vm.date_value(name) or opens_on,
                    date_picker_mode=ft.DatePickerMode.YEAR if name == "birth_date" else ft.DatePickerMode.DAY,
                    help_text=label(name),
                    on_change=picked,
                    key=f"{name}-picker",
                )
            )

        calendar = ft.IconButton(
            icon=ft.Icon(
                ft.Icons.CALENDAR_MONTH, semantics_label=_("{field}: choose in the calendar").format(field=label(name))
            ),
            width=TOUCH,
            height=TOUCH,
            on_click=open_picker,
            key=f"{name}-calendar",
        )
        box.suffix_icon = calendar
        return box

    def under(name: str, control: ft.Control, *, caption: bool = True) -> ft.Control:
        """A control with a caption above and its own error line below (radios, chips, checkbox)."""
        err = error_text("")

        def set_error(msg: str | None) -> None:
            err.value, err.visible = msg or "", bool(msg)

        show[name] = set_error
        top: list[ft.Control] = []
        if caption:
            top = [
                ft.Text(f"{label(name)} *" if vm.required(name) else label(name), size=14, weight=ft.FontWeight.W_500)
            ]
        return ft.Column([*top, control, err], spacing=2)

    def radios(name: str, options: list[Option], value: str | None) -> ft.Control:
        spoken = _("{label}, required").format(label=label(name)) if vm.required(name) else label(name)
        group = radio_group(options, value, lambda e: vm.set(name, e.control.value or ""), key=name, label=spoken)
        return under(name, group)

    def pick(name: str, options: list[Option], on_select: Callable[[Any], Any] | None = None) -> ft.Control:
        """A dropdown; optional fields offer "—" (nothing chosen) first."""

        def chosen(e: Any) -> None:
            vm.set(name, e.control.value or "")

        required = vm.required(name)
        choices = options if required else [NONE_CHOSEN, *options]
        value = vm.values.get(name) or (None if required else NOT_ASKED)
        words = f"{label(name)} *" if required else label(name)
        dd, wrapper = dropdown(words, choices, value, on_select or chosen)
        dd.key = name
        if required and isinstance(wrapper, ft.Row) and isinstance(wrapper.controls[0], ft.Semantics):
            wrapper.controls[0].label = _("{label}, required").format(label=label(name))

        def set_error(msg: str | None) -> None:
            dd.error_text = msg

        show[name] = set_error
        return wrapper

    def multi(name: str) -> ft.Control:
        return under(name, chips(vm.multi_options(name), vm.values[name], lambda code, on: vm.toggle(name, code, on)))

    def folded(name: str) -> ft.Control:
        """A long list shown folded: its name and what it holds; open it to choose."""
        summary = ft.Text(vm.chosen_text(name), size=13, color=ft.Colors.ON_SURFACE_VARIANT)

        def toggled(code: str, on: bool) -> None:
            vm.toggle(name, code, on)
            summary.value = vm.chosen_text(name)

        err = error_text("")

        def set_error(msg: str | None) -> None:
            err.value, err.visible = msg or "", bool(msg)
            if msg:
                tile.expanded = True

        show[name] = set_error
        tile = ft.ExpansionTile(
            title=ft.Text(label(name), size=15, weight=ft.FontWeight.W_500),
            subtitle=summary,
            expanded=bool(vm.values.get(name)),
            controls=[chips(vm.multi_options(name), vm.values[name], toggled), err],
            controls_padding=ft.Padding.only(left=8, right=8, bottom=8),
            tile_padding=ft.Padding.symmetric(horizontal=8),
            key=f"{name}-section",
        )
        return tile

    # -- fields --------------------------------------------------------------------------------------------
    age = text("age", keyboard=ft.KeyboardType.NUMBER)
    birth = date_field(
        "birth_date",
        first=today.replace(year=today.year - BIRTH_YEARS_BACK),
        opens_on=today.replace(year=today.year - 25, month=1, day=1),
    )

    def show_age_mode() -> None:
        age.visible = vm.age_mode == "age"
        birth.visible = vm.age_mode == "birth_date"

    def on_mode(e: Any) -> None:
        vm.set_age_mode("birth_date" if e.control.value else "age")
        show_age_mode()

    show_age_mode()
    _mode, mode = switch(_("The birth date is known"), vm.age_mode == "birth_date", on_mode, key="age_mode")

    place_dd, place = dropdown(
        label("locality"),
        [NONE_CHOSEN, *vm.locality_options()],
        vm.values.get("locality") or NOT_ASKED,
        lambda e: vm.set("locality", e.control.value or ""),
    )
    place_dd.key = "locality"
    show["locality"] = lambda msg: setattr(place_dd, "error_text", msg)

    def on_region(e: Any) -> None:
        vm.set("region", e.control.value or "")
        place_dd.options = [ft.DropdownOption(key=o.key, text=o.text) for o in [NONE_CHOSEN, *vm.locality_options()]]
        place_dd.value = vm.values.get("locality") or NOT_ASKED

    _consent, consent = checkbox(
        required_label(_(CONSENT_LABEL)),
        bool(vm.values.get("consent")),
        lambda e: vm.set("consent", bool(e.control.value)),
        key="consent",
    )
    summary_top = error_text("")
    summary_bottom = error_text("")

    def show_errors() -> None:
        for name, set_error in show.items():
            set_error(vm.errors.get(name))
        for s in (summary_top, summary_bottom):
            s.value, s.visible = vm.summary, bool(vm.summary)

    def open_record(returnee_id: str) -> None:
        nav.close_dialog()
        nav.go(routes.returnee(returnee_id))

    def register_new() -> None:
        nav.close_dialog()
        if vm.register_as_new() is Outcome.SAVED and vm.saved_id:
            nav.go(routes.returnee(vm.saved_id))

    def ask_duplicates() -> None:
        rows: list[ft.Control] = [note(_("Someone similar is already registered on this phone."))]
        for d in vm.duplicates:
            rows += [
                ft.Divider(height=1),
                ft.Text(d.name, weight=ft.FontWeight.W_600),
                note(d.detail),
                ft.Row(
                    [ft.Icon(ft.Icons.INFO_OUTLINE, size=16, color=ft.Colors.PRIMARY), note(d.why, size=13)],
                    spacing=6,
                    vertical_alignment=ft.CrossAxisAlignment.START,
                    wrap=True,
                    key=f"why-{d.returnee_id}",
                ),
                button(
                    _("Yes, open this record"),
                    handler(partial(open_record, d.returnee_id)),
                    kind="tonal",
                ),
            ]
        nav.show_dialog(
            ft.AlertDialog(
                modal=True,
                title=ft.Text(_("Is this the same person?")),
                content=ft.Column(rows, tight=True, spacing=6),
                scrollable=True,
                actions=[button(_("No, register as new"), handler(register_new), kind="outlined")],
            )
        )

    def on_submit(e: Any) -> None:
        outcome = vm.submit()
        show_errors()
        if outcome is Outcome.DUPLICATES:
            ask_duplicates()
        elif outcome is Outcome.SAVED and vm.saved_id:
            nav.go(routes.returnee(vm.saved_id))

    submit = button(_("Save the changes") if vm.editing else _("Register"), on_submit, icon=ft.Icons.CHECK, big=True)
    controls: list[ft.Control] = [
        note(_("Fields marked * are required."), size=13),
        summary_top,
        heading(_("The person")),
        text("given_name", keyboard=ft.KeyboardType.NAME),
        text("family_name", keyboard=ft.KeyboardType.NAME),
        radios("sex", vm.sex_options(), vm.values.get("sex")),
        mode,
        age,
        birth,
        text("phone", hint=_("Optional, e.g. 76 12 34 56"), keyboard=ft.KeyboardType.PHONE),
        multi("languages"),
        heading(_("Return")),
        pick("region", vm.region_options(), on_region),
        place,
        pick("returned_from", vm.country_options()),
        date_field("return_date", first=dt.date(1960, 1, 1), opens_on=today),
        heading(_("Skills and needs")),
        pick("education", vm.education_options()),
        radios("reads_french", vm.reads_french_options(), vm.reads_french_key()),
        text("trade_before"),
        *[folded(name) for name in FOLDED],
        heading(_("Consent")),
        ft.Container(
            note(_(CONSENT_READ_OUT), color=ft.Colors.ON_SURFACE, size=15),
            bgcolor=ft.Colors.SURFACE_CONTAINER_HIGHEST,
            padding=12,
            border_radius=8,
        ),
        under("consent", consent, caption=False),
        summary_bottom,
        submit,
    ]
    route = routes.edit_returnee(vm.existing.id) if vm.existing else routes.NEW_RETURNEE
    return screen(route, vm.title, controls)
