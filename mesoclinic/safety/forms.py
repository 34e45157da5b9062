from __future__ import annotations

from typing import Any, cast

from django import forms

from mesoclinic.core.concurrency import VersionedForm
from mesoclinic.core.models import Location
from mesoclinic.procedures.models import ProcedureRecord

from .models import MAX_TEXT, AdverseEvent, RecallContact
from .selectors import EventFilter


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise forms.ValidationError("The text contains a character that cannot be stored.")
    return value.strip()


class AdverseEventForm(forms.Form):
    event_type = forms.ChoiceField(label="Type", choices=AdverseEvent.Type.choices)
    description = forms.CharField(label="What happened", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}))
    onset_at = forms.DateTimeField(
        label="Onset",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text="When it started, in the clinic's local time.",
    )
    severity = forms.ChoiceField(choices=AdverseEvent.Severity.choices)
    treatment = forms.CharField(label="Treatment given", required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.ChoiceField(choices=AdverseEvent.Outcome.choices, initial=AdverseEvent.Outcome.ONGOING)
    areas = forms.TypedMultipleChoiceField(
        label="Areas involved", coerce=int, widget=forms.CheckboxSelectMultiple, error_messages={"required": "Choose at least one area."}
    )
    usages = forms.TypedMultipleChoiceField(
        label="Products and lots involved",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each line is one product of the session with its own lot (a mixture has one line per product).",
    )

    def __init__(self, *args: Any, record: ProcedureRecord, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.record = record
        cast(forms.ChoiceField, self.fields["areas"]).choices = [
            (t.pk, f"{t.area.name} ({t.get_method_display().lower()})") for t in record.treatments.all()
        ]
        cast(forms.ChoiceField, self.fields["usages"]).choices = [
            (u.pk, f"{u.product.name} — lot {u.lot.lot_number}, {u.volume_ml} ml ({u.treatment.area.name})")
            for u in record.product_usages.all()
        ]

    def clean_description(self) -> str:
        return _no_nul(self.cleaned_data["description"])

    def clean_treatment(self) -> str:
        return _no_nul(self.cleaned_data["treatment"])


class CloseEventForm(VersionedForm, forms.Form):
    """Given `record=` the event: a review of an event changed since the page was loaded is refused (StaleEdit)."""

    shown_fields = ("event_type", "severity", "description", "treatment", "outcome")
    causality = forms.ChoiceField(choices=[("", "Choose…"), *AdverseEvent.Causality.choices])
    outcome = forms.ChoiceField(
        label="Outcome at review",
        choices=[(value, label) for value, label in AdverseEvent.Outcome.choices if value != AdverseEvent.Outcome.ONGOING],
    )
    review_note = forms.CharField(label="Review note", max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_review_note(self) -> str:
        note = _no_nul(self.cleaned_data["review_note"])
        if not note:
            raise forms.ValidationError("Write the review note.")
        return note


class RecallContactForm(forms.Form):
    method = forms.ChoiceField(label="How", choices=RecallContact.Method.choices)
    note = forms.CharField(required=False, max_length=500)

    def clean_note(self) -> str:
        return _no_nul(self.cleaned_data["note"])


class EventFilterForm(forms.Form):
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    location = forms.TypedChoiceField(label="Location", required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any"), *AdverseEvent.Status.choices])

    def __init__(self, *args: Any, scope: frozenset[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        locations = Location.objects.filter(pk__in=scope).order_by("name").values_list("pk", "name")
        cast(forms.ChoiceField, self.fields["location"]).choices = [("", "All my locations"), *locations]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("“From” must not be after “To”.")
        return data

    def to_filter(self) -> EventFilter:
        data = self.cleaned_data
        return EventFilter(
            since=data.get("since"), until=data.get("until"), location_id=data.get("location"), status=data.get("status") or ""
        )
