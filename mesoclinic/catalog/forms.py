"""Forms for the medical director's catalog pages.

Each form checks what it can see (sessions, intervals, depths, product approvals) with a field
message; the database constraints and `services.validate_catalog` back them up for everything else.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models

from .models import (
    AftercareRule,
    Area,
    AreaKind,
    Concern,
    ContraindicationRule,
    Ingredient,
    ProcedureStep,
    Product,
    Protocol,
    ProtocolArea,
    ProtocolIngredient,
    Question,
    Technique,
)

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


class LabelledChoices(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def label_from_instance(self, obj: models.Model) -> str:
        name = str(obj)
        return name if getattr(obj, "is_active", True) else f"{name} (inactive)"


class LabelledChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: models.Model) -> str:
        name = str(obj)
        return name if getattr(obj, "is_active", True) else f"{name} (inactive)"


class CatalogForm(forms.ModelForm):
    """Base for every catalog item form: a change note, the version the edit started from, a fixed key."""

    change_note = forms.CharField(
        label="What changed and why", required=False, max_length=300, help_text="Shown in the version history. Optional."
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    many_to_many: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "key" in self.fields:
            self.fields["key"].disabled = True
            self.fields["key"].help_text = "The permanent identifier; it cannot be changed."

    def item_fields(self) -> dict[str, Any]:
        """The item's own fields (not the many-to-many lists, note or version)."""
        skip = {*self.many_to_many, "change_note", "expected_version"}
        return {name: value for name, value in self.cleaned_data.items() if name not in skip}

    def related(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.many_to_many}


class ConcernForm(CatalogForm):
    class Meta:
        model = Concern
        fields = ("key", "name", "description", "position", "is_active")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class IngredientForm(CatalogForm):
    class Meta:
        model = Ingredient
        fields = ("key", "name", "kind", "description", "is_active")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class AreaForm(CatalogForm):
    class Meta:
        model = Area
        fields = ("key", "name", "kind", "description", "position", "is_active")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class TechniqueForm(CatalogForm):
    class Meta:
        model = Technique
        fields = ("key", "name", "method", "mode", "description", "is_active")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class ProductForm(CatalogForm):
    many_to_many = ("ingredients", "approved_concerns")
    ingredients = LabelledChoices(queryset=Ingredient.objects.all(), required=False)
    approved_concerns = LabelledChoices(
        queryset=Concern.objects.all(), required=False, help_text="The indications this product is approved for in this clinic."
    )

    class Meta:
        model = Product
        fields = (
            "key",
            "name",
            "manufacturer",
            "description",
            "ingredients",
            "approved_concerns",
            "water_soluble",
            "allergen_notes",
            "unit",
            "is_active",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "allergen_notes": forms.Textarea(attrs={"rows": 2})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk and "approved_concerns" in data:
            approved = {concern.pk for concern in data["approved_concerns"]}
            for protocol in Protocol.objects.filter(products=self.instance, is_active=True).prefetch_related("concerns"):
                for concern in protocol.concerns.all():
                    if concern.pk not in approved:
                        self.add_error(
                            "approved_concerns",
                            f"Protocol “{protocol.name}” uses this product for “{concern.name}”: keep it approved for that concern, "
                            "or change the protocol first.",
                        )
        return data


class ProtocolForm(CatalogForm):
    many_to_many = ("concerns", "techniques", "products")
    concerns = LabelledChoices(queryset=Concern.objects.all(), error_messages={"required": "Choose at least one concern."})
    techniques = LabelledChoices(queryset=Technique.objects.all(), error_messages={"required": "Choose at least one technique."})
    products = LabelledChoices(
        queryset=Product.objects.prefetch_related("approved_concerns"),
        required=False,
        help_text="Each product must be approved for every concern this protocol treats.",
    )

    class Meta:
        model = Protocol
        fields = (
            "key",
            "name",
            "family",
            "description",
            "concerns",
            "techniques",
            "products",
            "sessions_min",
            "sessions_max",
            "interval_min_days",
            "interval_max_days",
            "uses_topical_anaesthetic",
            "numbing_minutes",
            "early_start_role",
            "procedure_minutes",
            "uses_prp",
            "checkin_after_hours",
            "position",
            "is_active",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        labels = {
            "sessions_min": "Fewest sessions",
            "sessions_max": "Most sessions",
            "interval_min_days": "Shortest interval between sessions (days)",
            "interval_max_days": "Longest interval between sessions (days)",
            "numbing_minutes": "Numbing wait (minutes)",
            "procedure_minutes": "Procedure time (minutes)",
            "checkin_after_hours": "Check-in after (hours)",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        concerns = data.get("concerns") or []
        for product in data.get("products") or []:
            approved = {concern.pk for concern in product.approved_concerns.all()}
            missing = [concern.name for concern in concerns if concern.pk not in approved]
            if missing:
                self.add_error("products", f"“{product.name}” is not approved for {', '.join(missing)}.")
        return data


class ProtocolAreaForm(forms.ModelForm):
    area = LabelledChoice(queryset=Area.objects.all())

    class Meta:
        model = ProtocolArea
        fields = ("area", "depth_min_mm", "depth_max_mm")
        widgets = {
            "depth_min_mm": forms.NumberInput(attrs={"step": "0.05", "min": "0.05", "max": "3"}),
            "depth_max_mm": forms.NumberInput(attrs={"step": "0.05", "min": "0.05", "max": "3"}),
        }


class ProtocolIngredientForm(forms.ModelForm):
    ingredient = LabelledChoice(queryset=Ingredient.objects.all())

    class Meta:
        model = ProtocolIngredient
        fields = ("ingredient", "concentration", "concentration_unit", "note")


class BaseRowFormSet(forms.BaseInlineFormSet):
    def rows(self) -> list[dict[str, Any]]:
        return [form.cleaned_data for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]


ProtocolAreaFormSet = forms.inlineformset_factory(
    Protocol,
    ProtocolArea,
    form=ProtocolAreaForm,
    formset=BaseRowFormSet,
    extra=2,
    can_delete=True,
    min_num=1,
    validate_min=True,
    max_num=30,
    validate_max=True,
)
ProtocolIngredientFormSet = forms.inlineformset_factory(
    Protocol,
    ProtocolIngredient,
    form=ProtocolIngredientForm,
    formset=BaseRowFormSet,
    extra=2,
    can_delete=True,
    max_num=40,
    validate_max=True,
)


class AftercareRuleForm(CatalogForm):
    area = LabelledChoice(queryset=Area.objects.all(), required=False, help_text="One area, or leave empty and choose a kind of area.")

    class Meta:
        model = AftercareRule
        fields = ("key", "name", "area", "area_kind", "instruction", "duration_hours", "expected_effects", "is_active")
        widgets = {"instruction": forms.Textarea(attrs={"rows": 3}), "expected_effects": forms.Textarea(attrs={"rows": 3})}


class QuestionForm(CatalogForm):
    class Meta:
        model = Question
        fields = ("key", "text", "help_text", "rescreen", "session_only", "position", "is_active")


class ContraindicationRuleForm(CatalogForm):
    many_to_many = ("protocols", "areas")
    question = LabelledChoice(queryset=Question.objects.all())
    protocols = LabelledChoices(queryset=Protocol.objects.all(), required=False, help_text="Leave empty for every protocol.")
    areas = LabelledChoices(queryset=Area.objects.all(), required=False, help_text="Leave areas and kinds empty for every area.")
    area_kinds = forms.MultipleChoiceField(
        choices=AreaKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Kinds of area",
        help_text="At the treated site: the rule applies to every area of these kinds.",
    )

    class Meta:
        model = ContraindicationRule
        fields = (
            "key",
            "condition",
            "severity",
            "question",
            "protocols",
            "areas",
            "area_kinds",
            "description",
            "coding_system",
            "coding_code",
            "coding_display",
            "origin",
            "position",
            "is_active",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "coding_system": "Coded concept: system",
            "coding_code": "Coded concept: code",
            "coding_display": "Coded concept: display",
        }


class ProcedureStepForm(CatalogForm):
    after_step = LabelledChoice(queryset=ProcedureStep.objects.all(), required=False, help_text="A step that must come first.")

    class Meta:
        model = ProcedureStep
        fields = (
            "key",
            "position",
            "name",
            "description",
            "chart_step",
            "after_numbing_wait",
            "after_step",
            "min_minutes_after",
            "is_active",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class ImportForm(forms.Form):
    file = forms.FileField(label="Catalog file (JSON)", help_text="A file exported from Mesoclinic (up to 2 MB).")
    change_note = forms.CharField(label="What changed and why", required=False, max_length=300)
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 2 MB; a catalog export is much smaller.")
        return upload
