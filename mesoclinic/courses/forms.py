from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms

from mesoclinic.accounts.models import User
from mesoclinic.catalog.models import Area, Concern, Protocol, Technique
from mesoclinic.core.concurrency import VersionedForm
from mesoclinic.core.models import Location

from .models import MAX_INTERVAL_DAYS, MAX_SESSIONS
from .planner import Choice, ProposedSession, qualified_practitioners

PLAN_HORIZON_DAYS = 366


class ProtocolChoiceForm(forms.Form):
    """Step one of prescribing (a GET form): which protocol. The rest of the form depends on it."""

    protocol = forms.ModelChoiceField(queryset=Protocol.objects.none(), empty_label="Choose a protocol…")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["protocol"].queryset = Protocol.objects.filter(is_active=True).order_by("position", "name")  # type: ignore[attr-defined]


class PractitionerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.get_full_name() or obj.username} ({obj.get_role_display()})"


class PrescribeCourseForm(forms.Form):
    """Step two: the course itself, for one protocol. The service has the last word on every rule."""

    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None, label="Sessions at")
    concern = forms.ModelChoiceField(queryset=Concern.objects.none(), empty_label=None, label="Concern treated")
    areas = forms.ModelMultipleChoiceField(
        queryset=Area.objects.none(), to_field_name="key", widget=forms.CheckboxSelectMultiple, label="Areas"
    )
    techniques = forms.ModelMultipleChoiceField(
        queryset=Technique.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        label="Techniques",
        help_text="A Dermapen technique books a free Dermapen for every session.",
    )
    sessions = forms.IntegerField(min_value=1, max_value=MAX_SESSIONS, label="Number of sessions")
    interval_min_days = forms.IntegerField(min_value=1, max_value=MAX_INTERVAL_DAYS, label="Shortest interval (days)")
    interval_max_days = forms.IntegerField(min_value=1, max_value=MAX_INTERVAL_DAYS, label="Longest interval (days)")
    preferred_practitioner = PractitionerChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Anyone qualified", label="Preferred practitioner"
    )

    allergy_reason = forms.CharField(
        label="Allergy: why this protocol is acceptable anyway",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A product of this protocol holds an ingredient the patient is allergic to. Kept on the course.",
    )

    def __init__(
        self,
        *args: Any,
        protocol: Protocol,
        scope: frozenset[int],
        default_location: Location | None,
        allergies: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.protocol = protocol
        fields = self.fields
        if not allergies:  # asked only when the protocol's products hold one of the patient's allergens
            del fields["allergy_reason"]
        fields["location"].queryset = Location.objects.filter(pk__in=scope, is_active=True)  # type: ignore[attr-defined]
        fields["concern"].queryset = protocol.concerns.filter(is_active=True)  # type: ignore[attr-defined]
        fields["areas"].queryset = Area.objects.filter(protocol_areas__protocol=protocol).order_by("position", "name")  # type: ignore[attr-defined]
        fields["techniques"].queryset = protocol.techniques.filter(is_active=True).order_by("method", "name")  # type: ignore[attr-defined]
        qualified = User.objects.none()
        for location_id in sorted(scope):
            qualified = qualified | qualified_practitioners(protocol=protocol, location=Location(pk=location_id))
        fields["preferred_practitioner"].queryset = qualified.distinct().order_by("last_name", "first_name", "id")  # type: ignore[attr-defined]
        sessions_range = f"{protocol.sessions_min}–{protocol.sessions_max}"
        interval_range = f"{protocol.interval_min_days}–{protocol.interval_max_days}"
        fields["sessions"].help_text = f"The protocol allows {sessions_range} sessions."
        fields["sessions"].widget.attrs.update(min=protocol.sessions_min, max=protocol.sessions_max)
        for name in ("interval_min_days", "interval_max_days"):
            fields[name].help_text = f"The protocol sets {interval_range} days between sessions; you may narrow it, not widen it."
            fields[name].widget.attrs.update(min=protocol.interval_min_days, max=protocol.interval_max_days)
        if not self.is_bound:
            self.initial.setdefault("sessions", protocol.sessions_max)
            self.initial.setdefault("interval_min_days", protocol.interval_min_days)
            self.initial.setdefault("interval_max_days", protocol.interval_max_days)
            if default_location is not None and default_location.pk in scope:
                self.initial.setdefault("location", default_location.pk)
            concerns = list(fields["concern"].queryset[:2])  # type: ignore[attr-defined]
            if len(concerns) == 1:
                self.initial.setdefault("concern", concerns[0].pk)
            areas = list(fields["areas"].queryset[:2])  # type: ignore[attr-defined]
            if len(areas) == 1:
                self.initial.setdefault("areas", [areas[0].key])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("interval_min_days"), data.get("interval_max_days")
        if low is not None and high is not None and low > high:
            self.add_error("interval_max_days", "The longest interval cannot be shorter than the shortest.")
        return data


class PlanForm(forms.Form):
    """When to start planning (a GET form on the course page)."""

    start_on = forms.DateField(label="First session from", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    at_time = forms.TimeField(
        label="Preferred time",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M"),
        help_text="Optional: later sessions keep the first session's time when it is free.",
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_start_on(self) -> date:
        day: date = self.cleaned_data["start_on"]
        if day < self.today:
            raise forms.ValidationError("Plan from today or later.")
        if day > self.today + timedelta(days=PLAN_HORIZON_DAYS):
            raise forms.ValidationError("Plan at most a year ahead.")
        return day


class ProposalForm(forms.Form):
    """The proposal table as posted: a date, a time and a practitioner for every session being booked."""

    start_on = forms.DateField(required=False, widget=forms.HiddenInput)  # the planning start date (session 1's window)

    def __init__(self, *args: Any, numbers: list[int], practitioners: list[User], today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.numbers = numbers
        self.today = today
        choices = [(user.pk, str(user)) for user in practitioners]
        for number in numbers:
            self.fields[f"s{number}-on"] = forms.DateField(
                label=f"Session {number} date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
            )
            self.fields[f"s{number}-at"] = forms.TimeField(
                label=f"Session {number} time", widget=forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M")
            )
            self.fields[f"s{number}-practitioner"] = forms.TypedChoiceField(
                label=f"Session {number} practitioner", choices=choices, coerce=int
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for number in self.numbers:
            day = data.get(f"s{number}-on")
            if day is not None and not self.today <= day <= self.today + timedelta(days=PLAN_HORIZON_DAYS * 2):
                self.add_error(f"s{number}-on", "Choose a date from today, within two years.")
        return data

    def clean_start_on(self) -> date | None:
        day: date | None = self.cleaned_data.get("start_on")
        if day is not None and not self.today <= day <= self.today + timedelta(days=PLAN_HORIZON_DAYS):
            return None  # a stale page: plan session 1's window from today
        return day

    def choices(self) -> dict[int, Choice]:
        data = self.cleaned_data
        return {n: Choice(on=data[f"s{n}-on"], at=data[f"s{n}-at"], practitioner_id=data[f"s{n}-practitioner"]) for n in self.numbers}

    @staticmethod
    def initial_for(rows: list[ProposedSession], start_on: date | None = None) -> dict[str, Any]:
        initial: dict[str, Any] = {"start_on": start_on}
        for row in rows:
            if row.fixed or row.local_starts_at is None:
                continue
            initial[f"s{row.number}-on"] = row.local_starts_at.date()
            initial[f"s{row.number}-at"] = row.local_starts_at.time().replace(second=0, microsecond=0)
            if row.slot is not None:
                initial[f"s{row.number}-practitioner"] = row.slot.practitioner_id
        return initial


class MoveSessionForm(forms.Form):
    on = forms.DateField(label="New date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    at = forms.TimeField(label="New time", widget=forms.TimeInput(attrs={"type": "time", "step": 900}, format="%H:%M"))
    practitioner = forms.TypedChoiceField(label="Practitioner", coerce=int)

    def __init__(self, *args: Any, practitioners: list[User], today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["practitioner"].choices = [(user.pk, str(user)) for user in practitioners]  # type: ignore[attr-defined]

    def clean_on(self) -> date:
        day: date = self.cleaned_data["on"]
        if not self.today <= day <= self.today + timedelta(days=PLAN_HORIZON_DAYS * 2):
            raise forms.ValidationError("Choose a date from today, within two years.")
        return day

    def choice(self) -> Choice:
        data = self.cleaned_data
        return Choice(on=data["on"], at=data["at"], practitioner_id=data["practitioner"])


class StopCourseForm(VersionedForm, forms.Form):
    """Given `record=` the course: a stop decided on a course booked or moved since is refused (StaleEdit)."""

    shown_fields = ("status",)
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 2}), label="Why is the course stopped?")


def default_start(today: date) -> date:
    return today + timedelta(days=1)
