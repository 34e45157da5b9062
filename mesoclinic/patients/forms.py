from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone

from mesoclinic.catalog.models import Ingredient
from mesoclinic.core import phones
from mesoclinic.core.concurrency import VersionedForm
from mesoclinic.core.models import Location

from .models import Patient
from .services import EDITABLE_FIELDS


class PatientForm(forms.ModelForm):
    allergy_ingredients = forms.ModelMultipleChoiceField(
        label="Allergic to (catalog ingredients)",
        queryset=Ingredient.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Checked against each product's ingredients when a course is prescribed and when a product is charted.",
        error_messages={"invalid_choice": "Choose ingredients from the list.", "invalid_pk_value": "Choose ingredients from the list."},
    )

    class Meta:
        model = Patient
        fields = EDITABLE_FIELDS
        widgets = {
            "date_of_birth": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 3}),
            "allergy_notes": forms.Textarea(attrs={"rows": 2}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
        }
        help_texts = {"fitzpatrick": "Skin phototype; guides pigmentation risk and depth choices."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fitzpatrick"].choices = [("", "Not recorded"), *Patient.Fitzpatrick.choices]  # type: ignore[attr-defined]
        self.fields["allergy_ingredients"].queryset = Ingredient.objects.filter(is_active=True).order_by("name")  # type: ignore[attr-defined]
        if self.instance.pk is not None and not self.is_bound:
            self.initial["allergy_ingredients"] = list(self.instance.allergy_ingredients.values_list("pk", flat=True))
        names = [name for name in self.fields if name != "allergy_ingredients"]
        names.insert(names.index("allergy_notes"), "allergy_ingredients")  # the two allergy fields together
        self.order_fields(names)

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
        location = data.get("location") or getattr(self.instance, "location", None)
        if data.get("phone") and isinstance(location, Location):
            region = location.phone_region
            e164 = phones.to_e164(data["phone"], region)
            if e164 is None:
                self.add_error(
                    "phone",
                    f"Enter a phone number that can be dialled: “{data['phone']}” cannot be one in {region}. Write it as dialled "
                    f"at {location.name} (for example {phones.example(region)}), or with its country code (for example +33 6 12 34 56 78).",
                )
            else:
                data["phone"] = e164
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
