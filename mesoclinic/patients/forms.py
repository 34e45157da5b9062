from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from mesoclinic.core.concurrency import VersionedForm
from mesoclinic.core.models import Location

from .models import Patient
from .services import EDITABLE_FIELDS


class PatientForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = EDITABLE_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        help_texts = {"fitzpatrick": "Skin phototype; guides pigmentation risk and depth choices."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fitzpatrick"].choices = [("", "Not recorded"), *Patient.Fitzpatrick.choices]  # type: ignore[attr-defined]

    def clean_date_of_birth(self) -> date:
        born: date = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today:
            raise forms.ValidationError("The date of birth cannot be in the future.")
        if born.year < 1900:
            raise forms.ValidationError("Enter a date of birth after 1900.")
        return born

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        channel = data.get("preferred_channel")
        if channel == Patient.Channel.EMAIL and not data.get("email"):
            self.add_error("email", "An e-mail address is needed when e-mail is the preferred channel.")
        if channel in (Patient.Channel.SMS, Patient.Channel.PHONE) and not data.get("phone"):
            self.add_error("phone", "A phone number is needed for SMS or phone contact.")
        return data


class EditPatientForm(VersionedForm, PatientForm):
    """The edit form: carries the version and values it was loaded with, so a save from a stale copy is refused."""


class RegisterPatientForm(PatientForm):
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None, label="Home clinic")
    confirm_not_duplicate = forms.BooleanField(
        required=False, label="I have checked the similar patients above: this is a different person."
    )

    class Meta(PatientForm.Meta):
        fields = ("location", *EDITABLE_FIELDS)  # type: ignore[assignment]

    def __init__(self, *args: Any, scope: frozenset[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = Location.objects.filter(pk__in=scope, is_active=True)  # type: ignore[attr-defined]
        self.order_fields(["location"])

    def hide_duplicate_confirmation(self) -> None:
        """No similar patients are shown, so the "I have checked" box would make no sense: keep it out of sight."""
        self.fields["confirm_not_duplicate"].widget = forms.HiddenInput()
