"""The returnee form (new or edit). Every field of `field_app.returnees.form.FIELDS`; logic in the view model.

Problems come back one per field and are shown under that field, with a summary at the top and by the
button. A possible duplicate opens a dialog: "Is this the same person?".
"""

from __future__ import annotations

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
    LABELS,
    NOT_ASKED,
    Outcome,
    ReturneeFormViewModel,
)
from field_app.ui.views.common import Nav, button, chips, dropdown, error_text, handler, heading, note, screen

NONE_CHOSEN = Option(NOT_ASKED, "—")


def returnee_form_view(vm: ReturneeFormViewModel, nav: Nav) -> ft.View:
    """Build the form; `show_errors` is called after each submit to put each problem under its field."""
    show: dict[str, Callable[[str | None], None]] = {}

    def label(name: str) -> str:
        return _(LABELS[name])

    def text(name: str, *, hint: str | None = None, keyboard: ft.KeyboardType = ft.KeyboardType.TEXT) -> ft.TextField:
        value = vm.values.get(name)
        box = ft.TextField(
            label=label(name),
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

    def under(name: str, control: ft.Control, *, caption: bool = True) -> ft.Control:
        """A control with a caption above and its own error line below (radios, chips, checkbox)."""
        err = error_text("")

        def set_error(msg: str | None) -> None:
            err.value, err.visible = msg or "", bool(msg)

        show[name] = set_error
        top = [ft.Text(label(name), size=14, weight=ft.FontWeight.W_500)] if caption else []
        return ft.Column([*top, control, err], spacing=2)

    def radios(name: str, options: list[Option], value: str | None) -> ft.Control:
        group = ft.RadioGroup(
            value=value,
            on_change=lambda e: vm.set(name, e.control.value or ""),
            content=ft.Row([ft.Radio(value=o.key, label=o.text) for o in options], wrap=True),
            key=name,
        )
        return under(name, group)

    def pick(name: str, options: list[Option], on_select: Callable[[Any], Any] | None = None) -> ft.Control:
        """A dropdown; optional fields offer "—" (nothing chosen) first."""

        def chosen(e: Any) -> None:
            vm.set(name, e.control.value or "")

        required = name == "region"
        choices = options if required else [NONE_CHOSEN, *options]
        value = vm.values.get(name) or (None if required else NOT_ASKED)
        dd, wrapper = dropdown(label(name), choices, value, on_select or chosen)
        dd.key = name

        def set_error(msg: str | None) -> None:
            dd.error_text = msg

        show[name] = set_error
        return wrapper

    def multi(name: str) -> ft.Control:
        return under(name, chips(vm.multi_options(name), vm.values[name], lambda code, on: vm.toggle(name, code, on)))

    # -- fields --------------------------------------------------------------------------------------------
    age = text("age", keyboard=ft.KeyboardType.NUMBER)
    birth = text("birth_date", hint=_("YYYY-MM-DD, e.g. 1999-03-25"), keyboard=ft.KeyboardType.DATETIME)

    def show_age_mode() -> None:
        age.visible = vm.age_mode == "age"
        birth.visible = vm.age_mode == "birth_date"

    def on_mode(e: Any) -> None:
        vm.set_age_mode("birth_date" if e.control.value else "age")
        show_age_mode()

    show_age_mode()
    mode = ft.Switch(label=_("The birth date is known"), value=vm.age_mode == "birth_date", on_change=on_mode)

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

    consent = ft.Checkbox(
        label=_(CONSENT_LABEL),
        value=bool(vm.values.get("consent")),
        on_change=lambda e: vm.set("consent", bool(e.control.value)),
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
                ft.Text(d.name, weight=ft.FontWeight.W_600),
                note(d.detail),
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
        summary_top,
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
        text("return_date", hint=_("YYYY-MM-DD, e.g. 2024-11-02"), keyboard=ft.KeyboardType.DATETIME),
        heading(_("Skills and needs")),
        pick("education", vm.education_options()),
        radios("reads_french", vm.reads_french_options(), vm.reads_french_key()),
        text("trade_before"),
        multi("sectors"),
        multi("documents"),
        multi("vulnerabilities"),
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
