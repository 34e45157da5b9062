from __future__ import annotations

import re
from typing import Any

from django import forms

from . import engine
from .services import MAX_OVERRIDE_REASON, MIN_OVERRIDE_REASON

ANSWER_CHOICES = [(value.value, label) for value, label in engine.ANSWER_LABELS.items()]
REQUIRED_ANSWER = "Answer this question (choose “Not sure” if the patient does not know)."
AREA_KEY = re.compile(r"^[-a-zA-Z0-9_]{1,60}$")


class QuestionnaireForm(forms.Form):
    """One yes / no / not sure question per field, named by the question's key."""

    def __init__(self, *args: Any, questions: list[dict[str, Any]], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "answers")
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            self.fields[question["key"]] = forms.ChoiceField(
                label=question["text"],
                help_text=question.get("help_text", ""),
                choices=ANSWER_CHOICES,
                widget=forms.RadioSelect,
                error_messages={"required": REQUIRED_ANSWER, "invalid_choice": "Answer yes, no or not sure."},
            )

    def rows(self) -> list[tuple[forms.BoundField, dict[str, Any]]]:
        return [(self[question["key"]], question) for question in self.questions]

    def answers(self) -> dict[str, str]:
        return {key: value for key, value in self.cleaned_data.items() if value}


class AreasForm(forms.Form):
    """The areas treated today (for the per-session re-screen)."""

    areas = forms.MultipleChoiceField(
        label="Areas treated today",
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose the area(s) treated today.", "invalid_choice": "“%(value)s” is not a treatment area."},
    )

    def __init__(self, *args: Any, area_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["areas"].choices = area_choices  # type: ignore[attr-defined]


def parse_area_keys(raw: str) -> list[str] | None:
    """“scalp,face” → ["scalp", "face"]; None when any part is not a key."""
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    if not keys or len(keys) > 20 or not all(AREA_KEY.match(key) for key in keys):
        return None
    return list(dict.fromkeys(keys))


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label="Clinical reason for the override",
        min_length=MIN_OVERRIDE_REASON,
        max_length=MAX_OVERRIDE_REASON,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Why treatment is safe for this patient despite the contraindication. Kept in the record and the audit trail.",
        error_messages={
            "required": "Write the clinical reason for the override.",
            "min_length": f"Write the clinical reason for the override (at least {MIN_OVERRIDE_REASON} characters).",
            "max_length": f"Keep the reason under {MAX_OVERRIDE_REASON} characters.",
        },
    )
