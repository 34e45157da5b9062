from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from mesoclinic.core.concurrency import VersionedForm
from mesoclinic.core.models import Location
from mesoclinic.inventory.models import Lot
from mesoclinic.procedures.models import ProcedureRecord, ProductUsage

from .models import MAX_TEXT, AdverseEvent, RecallContact
from .reaction_codes import LIST_NAME, ReactionCode
from .selectors import EventFilter


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise forms.ValidationError("The text contains a character that cannot be stored.")
    return value.strip()


def _originally(usage: ProductUsage) -> str:
    before = getattr(usage, "as_signed", {})
    return f"; amended, originally {'; '.join(before.values())}" if before else ""


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
    reaction_code = forms.ChoiceField(
        label="Reaction (coded)",
        choices=[("", "Choose…"), *ReactionCode.choices],
        help_text=LIST_NAME + ".",
        error_messages={"required": "Choose the coded reaction."},
    )
    serious_death = forms.BooleanField(label="Resulted in death", required=False)
    serious_life_threatening = forms.BooleanField(label="Life-threatening", required=False)
    serious_hospitalisation = forms.BooleanField(label="Caused or prolonged hospitalisation", required=False)
    serious_disability = forms.BooleanField(label="Disability or incapacity", required=False)
    serious_congenital_anomaly = forms.BooleanField(label="Congenital anomaly", required=False)
    serious_other = forms.BooleanField(
        label="Other medically important condition",
        required=False,
        help_text="Seriousness criteria: tick any that apply to a serious event.",
    )
    reporter_name = forms.CharField(label="Reporter", max_length=160, required=False, help_text="Leave empty to report as yourself.")
    reporter_role = forms.CharField(label="Reporter's role", max_length=80, required=False, help_text="e.g. doctor, nurse, patient.")
    areas = forms.TypedMultipleChoiceField(label="Areas involved", coerce=int, required=False, widget=forms.CheckboxSelectMultiple)
    usages = forms.TypedMultipleChoiceField(
        label="Suspected products and lots",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Each line is one product of the session with its own lot, as the record reads now (a mixture has one line per product).",
    )
    lots = forms.TypedMultipleChoiceField(
        label="Other suspected lots",
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The numbing cream of the session; without a session, any product or numbing-cream lot of the clinic.",
    )

    def __init__(
        self, *args: Any, record: ProcedureRecord | None, usages: Sequence[ProductUsage] = (), lots: Sequence[Lot] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.record = record
        treatments = list(record.treatments.all()) if record is not None else []
        cast(forms.ChoiceField, self.fields["areas"]).choices = [
            (t.pk, f"{t.area.name} ({t.get_method_display().lower()})") for t in treatments
        ]
        cast(forms.ChoiceField, self.fields["usages"]).choices = [
            (u.pk, f"{u.product.name} — lot {u.lot.lot_number}, {u.volume_ml.normalize():f} ml ({u.treatment.area.name})"
             + _originally(u))
            for u in usages
        ]  # fmt: skip
        cast(forms.ChoiceField, self.fields["lots"]).choices = [(lot.pk, f"{lot.item_name} — lot {lot.lot_number}") for lot in lots]
        for name in ("areas", "usages", "lots"):
            if not cast(forms.ChoiceField, self.fields[name]).choices:
                del self.fields[name]

    def clean_description(self) -> str:
        return _no_nul(self.cleaned_data["description"])

    def clean_treatment(self) -> str:
        return _no_nul(self.cleaned_data["treatment"])


class RegulatorReportForm(forms.Form):
    regulator_reported_on = forms.DateField(label="Reported to the regulator on", widget=forms.DateInput(attrs={"type": "date"}))
    regulator_channel = forms.ChoiceField(label="How", choices=[("", "Choose…"), *AdverseEvent.RegulatorChannel.choices])
    regulator_reference = forms.CharField(
        label="Reference number", max_length=60, required=False, help_text="The Yellow Card reference, if given."
    )

    def clean_regulator_reference(self) -> str:
        return _no_nul(self.cleaned_data["regulator_reference"])


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
