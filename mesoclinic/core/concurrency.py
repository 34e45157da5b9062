"""Refusing an edit made from a stale copy of a record (optimistic concurrency), written once for every app.

A record that two people can edit carries a `version` (`version_field()`, checked `>= 1` by
`version_at_least_one()`); every service write moves it on (`bump()` on the locked row, or
`F("version") + 1` in an `update()`). The edit form (`VersionedForm`) carries the version it was
loaded at in a hidden field, and the values it was loaded with as Django's hidden initials. The
service locks the row and calls `check_version()`, which raises `StaleEdit` when someone saved in
between: nothing is written. The view then calls `form.refuse_stale(error)`, which lists what
changed field by field, keeps the user's own changes in the form, takes the other person's where
the user had not touched the field, and moves the hidden version on, so a second save is deliberate.
See docs/decisions/0027-refusing-stale-edits.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Q
from django.http import QueryDict

VERSION = "version"


def version_field() -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        default=1,
        db_default=1,  # rows inserted in bulk (demo data) start at 1 too
        editable=False,
        help_text="Moves on with every saved change; an edit form started from an older one is refused.",
    )


def version_at_least_one(prefix: str) -> models.CheckConstraint:
    """The named constraint `<app>_<model>_version_positive` (`prefix` is `<app>_<model>`)."""
    return models.CheckConstraint(condition=Q(version__gte=1), name=f"{prefix}_version_positive")


class StaleEdit(Exception):
    """The record was saved by someone else after this edit was loaded; nothing was written.

    `current` is the record as it is now (read under the row lock)."""

    message = "Someone else saved this record after you opened it, so your changes were not saved."

    def __init__(self, current: models.Model, expected: int) -> None:
        super().__init__(f"{self.message} (you loaded version {expected}, it is now version {current.version})")  # type: ignore[attr-defined]
        self.current = current
        self.expected = expected
        self.version: int = current.version  # type: ignore[attr-defined]


def check_version(row: models.Model, expected_version: int | None) -> None:
    """Call on the row locked with select_for_update: refuse the edit if it was loaded at another version.

    `None` skips the check (a caller that did not load the record for a person to edit)."""
    if expected_version is not None and row.version != expected_version:  # type: ignore[attr-defined]
        raise StaleEdit(row, expected_version)


def bump(row: models.Model) -> None:
    """Move a locked row's version on; save it with the rest of the change."""
    row.version += 1  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Change:
    """One field that changed since the form was loaded, as text to show the user."""

    label: str
    loaded: str | None  # None when the form did not carry what was loaded
    now: str
    yours: str | None  # None when the form does not edit this field
    kept_yours: bool  # the user had changed it too: their value stays in the form

    def __str__(self) -> str:
        said = (
            f"{self.label}: you loaded “{self.loaded}”, it is now “{self.now}”"
            if self.loaded is not None
            else f"{self.label}: it is now “{self.now}”"
        )
        if self.yours is None:
            return said
        if self.kept_yours:
            return f"{said} — your value “{self.yours}” is kept in the form: check it before saving again"
        return f"{said} — the form now shows it"


def _model_field(model: type[models.Model], name: str) -> models.Field[Any, Any] | None:
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if isinstance(field, models.Field) else None


def _text(model_field: models.Field[Any, Any] | None, value: Any) -> str:
    """A value as the user would recognise it: the choice's label, yes/no, a readable date."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if model_field is not None and model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, datetime):
        return f"{value:%d %b %Y %H:%M}"
    if isinstance(value, date):
        return f"{value:%d %b %Y}"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _capitalised(label: object) -> str:
    text = str(label)
    return text[:1].upper() + text[1:]


def _same(field: forms.Field, a: Any, b: Any) -> bool:
    def norm(value: Any) -> Any:
        value = field.prepare_value(value)
        return "" if value is None else str(value) if not isinstance(value, list | tuple) else [str(v) for v in value]

    return bool(norm(a) == norm(b))


def _data_for(field: forms.Field, value: Any) -> list[str]:
    """What a browser would post for `value` in `field`."""
    if isinstance(field, forms.BooleanField):
        return ["on"] if value else []
    prepared = field.prepare_value(value)
    if isinstance(prepared, list | tuple):
        return [str(item) for item in prepared]
    return ["" if prepared is None else str(prepared)]


def _initial_for(field: forms.Field, value: Any) -> list[str]:
    """What a hidden initial holds for `value` (a hidden boolean says True or False)."""
    if isinstance(field, forms.BooleanField):
        return [str(bool(value))]
    return _data_for(field, value)


class VersionedForm:
    """Mixin for the edit form of a versioned record: put it before `forms.ModelForm` / `forms.Form`.

    A ModelForm's record is its `instance`; a plain form is given `record=`. The record fields the
    form edits carry their loaded value as a hidden initial; `shown_fields` names record fields the
    form does not edit but whose change matters to the user (e.g. a lot's count under an
    adjustment): their loaded value travels in a hidden `loaded_<name>` field.
    """

    shown_fields: ClassVar[tuple[str, ...]] = ()
    edits_record_fields: ClassVar[bool] = False  # a plain form whose fields are the record's (initial = the record's values)
    fields: dict[str, forms.Field]
    data: Any
    cleaned_data: dict[str, Any]
    record: Any

    def __init__(self, *args: Any, record: models.Model | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A ModelForm edits its instance's fields; a plain form given `record=` edits none of them.
        self._edits_record = record is None or self.edits_record_fields
        self.record = record if record is not None else self.instance  # type: ignore[attr-defined]
        self.fields[VERSION] = forms.IntegerField(
            widget=forms.HiddenInput,
            required=False,
            min_value=1,
            initial=self.record.version,
            error_messages={
                "invalid": "This form is damaged: open the record again.",
                "min_value": "This form is damaged: open the record again.",
            },
        )
        for name in self.edited_fields():
            self.fields[name].show_hidden_initial = True
        for name in self.shown_fields:
            value = getattr(self.record, name)
            self.fields[f"loaded_{name}"] = forms.CharField(
                widget=forms.HiddenInput, required=False, initial="" if value is None else str(value), strip=False
            )

    @property
    def expected_version(self) -> int | None:
        """The version the form was loaded at (None when an old page posted without one)."""
        return self.cleaned_data.get(VERSION)

    def edited_fields(self) -> list[str]:
        if not self._edits_record:
            return []
        model = type(self.record)
        return [name for name in self.fields if name != VERSION and _model_field(model, name) is not None]

    def _loaded(self, name: str, field: forms.Field) -> tuple[bool, Any]:
        key = self.add_initial_prefix(name)  # type: ignore[attr-defined]
        if key not in self.data:
            return False, None
        try:
            return True, field.to_python(self._widget_data_value(field.hidden_widget(), key))  # type: ignore[attr-defined]
        except ValidationError:
            return False, None

    def refuse_stale(self, stale: StaleEdit) -> list[Change]:
        """Explain a refused save and make the form ready for a deliberate second one.

        For each field that changed meanwhile: if the user had left it as loaded, the form takes
        the new value; if they had changed it too, their value stays. The hidden version and
        loaded values move on to the record as it is now."""
        current = stale.current
        model = type(current)
        data = QueryDict(mutable=True)
        for key in self.data:
            values = self.data.getlist(key) if isinstance(self.data, QueryDict) else self.data[key]
            data.setlist(key, [str(value) for value in values] if isinstance(values, list | tuple) else [str(values)])
        changes: list[Change] = []
        for name in self.edited_fields():
            field = self.fields[name]
            model_field = _model_field(model, name)
            now = getattr(current, name)
            known, loaded = self._loaded(name, field)
            yours = self.cleaned_data.get(name)
            data.setlist(self.add_initial_prefix(name), _initial_for(field, now))  # type: ignore[attr-defined]
            if known and _same(field, loaded, now):
                continue
            if not known and _same(field, yours, now):
                continue
            kept = not known or not _same(field, yours, loaded)
            if not kept:
                data.setlist(self.add_prefix(name), _data_for(field, now))  # type: ignore[attr-defined]
            label = _capitalised(field.label or (model_field.verbose_name if model_field else name))
            changes.append(
                Change(
                    label=label,
                    loaded=_text(model_field, loaded) if known else None,
                    now=_text(model_field, now),
                    yours=_text(model_field, yours),
                    kept_yours=kept,
                )
            )
        for name in self.shown_fields:
            model_field = _model_field(model, name)
            now = getattr(current, name)
            key = self.add_prefix(f"loaded_{name}")  # type: ignore[attr-defined]
            raw = self.data.get(key)
            data[key] = "" if now is None else str(now)
            loaded = model_field.to_python(raw) if model_field is not None and raw not in (None, "") else None
            if loaded is not None and loaded == now:
                continue
            label = _capitalised(model_field.verbose_name if model_field else name)
            changes.append(
                Change(
                    label=label,
                    loaded=_text(model_field, loaded) if loaded is not None else None,
                    now=_text(model_field, now),
                    yours=None,
                    kept_yours=False,
                )
            )
        data[self.add_prefix(VERSION)] = str(stale.version)  # type: ignore[attr-defined]
        self.data = data
        self.add_error(None, StaleEdit.message)  # type: ignore[attr-defined]
        if not changes:
            self.add_error(None, "It changed in a part this form does not show: look at the record again, then save again.")  # type: ignore[attr-defined]
        for change in changes:
            self.add_error(None, str(change))  # type: ignore[attr-defined]
        return changes
