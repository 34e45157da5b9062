from __future__ import annotations

from django import forms

from .models import MAX_ANSWER_TEXT, MAX_NOTE, CheckIn


class CheckInAnswerForm(forms.Form):
    """The patient's one question, on the public page (no sign-in)."""

    answer = forms.ChoiceField(
        label="Has the redness settled?",
        choices=CheckIn.Answer.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the answer that fits best.", "invalid_choice": "Choose one of the answers shown."},
    )
    text = forms.CharField(
        label="Anything you want to tell us (optional)",
        required=False,
        max_length=MAX_ANSWER_TEXT,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example where, since when, or what you notice.",
    )

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        if "\x00" in text:
            raise forms.ValidationError("The text contains a character that cannot be stored.")
        return text.strip()


class CloseFollowUpForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: called the patient, redness settling, no further action.",
        error_messages={"required": "Write what was done before closing the follow-up."},
    )

    def clean_note(self) -> str:
        note: str = self.cleaned_data["note"].strip()
        if not note or "\x00" in note:
            raise forms.ValidationError("Write what was done before closing the follow-up.")
        return note
