"""Forms for the scheduling screens. Every id a form receives is resolved inside the user's
location scope; anything else is a validation error (400), never a 500."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.core.concurrency import VersionedForm
from mesoclinic.core.models import Device, Location, Room, Weekday
from mesoclinic.patients.models import Patient

from . import selectors
from .models import Appointment

MAX_DAYS_AHEAD = 730
DEFAULT_MINUTES = {Appointment.Kind.CONSULTATION: (0, 30), Appointment.Kind.TREATMENT: (30, 30)}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


def _bounded_date(value: date | None, *, allow_past_days: int = 366) -> date | None:
    if value is None:
        return None
    today = timezone.localdate()
    if not today - timedelta(days=allow_past_days) <= value <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise forms.ValidationError("Choose a date within two years from today.")
    return value


class ScopedLocationField(forms.ModelChoiceField):
    def __init__(self, *, scope: frozenset[int], **kwargs: Any) -> None:
        super().__init__(queryset=Location.objects.filter(pk__in=scope, is_active=True).order_by("name"), empty_label=None, **kwargs)


class ListChoiceField(forms.ChoiceField):
    """A choice among model instances read once (a plain list): rendering and validating it cost no
    queries. ModelChoiceField reads its queryset again for each — through a server-side cursor on
    PostgreSQL, three round trips a field — which was a third of the calendar page's time."""

    def __init__(self, *, objects: list[Any], label_from: Callable[[Any], str], empty_label: str | None = None, **kwargs: Any) -> None:
        self.objects = {str(obj.pk): obj for obj in objects}
        choices = [("", empty_label)] if empty_label is not None else []
        choices += [(key, label_from(obj)) for key, obj in self.objects.items()]
        super().__init__(choices=choices, required=empty_label is None, **kwargs)

    def clean(self, value: Any) -> Any:
        key = super().clean(value)
        return self.objects.get(key) if key else None


class CalendarForm(forms.Form):
    """The calendar's filters (a GET form): location, day and optional practitioner, room or device.

    The location's practitioners, rooms and devices are read once here (`people`, `rooms`,
    `devices`), for the filters and for the calendar's columns."""

    on = forms.DateField(required=False, widget=DateInput(), label="Day")
    by = forms.ChoiceField(
        choices=[("practitioner", "Practitioners"), ("room", "Rooms"), ("device", "Devices")], required=False, label="Columns"
    )

    def __init__(self, data: Any, *, scope: frozenset[int], location: Location) -> None:
        super().__init__(data)
        self.people: list[User] = list(selectors.practitioners_at(location))
        self.rooms: list[Room] = list(selectors.rooms_at(location))
        self.devices: list[Device] = list(selectors.devices_at(location))
        locations = list(Location.objects.filter(pk__in=scope).order_by("name")) if len(scope) > 1 else [location]
        self.fields = {
            "location": ListChoiceField(objects=locations, label_from=lambda place: place.name),
            "on": self.fields["on"],
            "practitioner": ListChoiceField(
                objects=self.people, label_from=lambda user: user.get_full_name() or user.username, empty_label="All practitioners"
            ),
            "room": ListChoiceField(objects=self.rooms, label_from=lambda room: room.name, empty_label="All rooms"),
            "device": ListChoiceField(
                objects=self.devices, label_from=lambda device: f"{device.model} #{device.serial_number}", empty_label="All devices"
            ),
            "by": self.fields["by"],
        }

    def clean_on(self) -> date | None:
        return _bounded_date(self.cleaned_data.get("on"), allow_past_days=3660)


class PatientField(forms.IntegerField):
    """A patient id, resolved within the user's scope."""

    def __init__(self, *, scope: frozenset[int], **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput, **kwargs)
        self.scope = scope

    def clean(self, value: Any) -> Patient | None:
        number = super().clean(value)
        if number is None:
            return None
        try:
            return Patient.objects.get(pk=number, location_id__in=self.scope)
        except Patient.DoesNotExist:
            raise forms.ValidationError("Choose a patient from your locations.") from None


class BookingDetailsForm(forms.Form):
    """What is being booked: the slot picker's query (GET) and the first half of the booking (POST)."""

    patient = forms.IntegerField(widget=forms.HiddenInput)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    kind = forms.ChoiceField(choices=Appointment.Kind.choices, initial=Appointment.Kind.TREATMENT)
    numbing_minutes = forms.IntegerField(min_value=0, max_value=120, initial=30, label="Numbing (minutes)")
    procedure_minutes = forms.IntegerField(min_value=5, max_value=240, initial=30, label="Procedure (minutes)")
    needs_device = forms.BooleanField(required=False, label="Needs a Dermapen")
    practitioner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone")
    on = forms.DateField(widget=DateInput(), label="Date")

    def __init__(self, data: Any, *, scope: frozenset[int], location: Location | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.scope = scope
        self.fields["patient"] = PatientField(scope=scope)
        self.fields["location"] = ScopedLocationField(scope=scope)
        if location is not None:
            self.fields["practitioner"].queryset = selectors.practitioners_at(location)  # type: ignore[attr-defined]

    def clean_on(self) -> date | None:
        day = _bounded_date(self.cleaned_data.get("on"), allow_past_days=0)
        return day


@dataclass(frozen=True)
class ChosenSlot:
    starts_at: datetime
    practitioner: User
    room: Room
    device: Device | None


def parse_slot(value: str, *, location: Location) -> ChosenSlot:
    """A slot picked from the list ("start|practitioner|room|device"), resolved at `location`."""
    try:
        start_text, practitioner_text, room_text, device_text = value.split("|")
        starts_at = datetime.fromisoformat(start_text)
        practitioner_id, room_id = int(practitioner_text), int(room_text)
        device_id = int(device_text) if device_text else None
    except ValueError:
        raise forms.ValidationError("Choose one of the free times.") from None
    if timezone.is_naive(starts_at) or max(practitioner_id, room_id, device_id or 0) >= 2**63:
        raise forms.ValidationError("Choose one of the free times.")
    practitioner = selectors.practitioners_at(location).filter(pk=practitioner_id).first()
    room = Room.objects.filter(pk=room_id, location=location).first()
    device = Device.objects.filter(pk=device_id, location=location).first() if device_id is not None else None
    if practitioner is None or room is None or (device_id is not None and device is None):
        raise forms.ValidationError("That practitioner, room or device is not at this location.")
    return ChosenSlot(starts_at=starts_at, practitioner=practitioner, room=room, device=device)


class SlotChoiceForm(forms.Form):
    """The chosen free time (POST), plus notes."""

    slot = forms.CharField(max_length=120, error_messages={"required": "Choose one of the free times."})
    notes = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, data: Any, *, location: Location, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.location = location

    def clean_slot(self) -> ChosenSlot:
        return parse_slot(self.cleaned_data["slot"], location=self.location)


class RescheduleForm(forms.Form):
    """Where to look for a new time (GET) — the slot itself comes through SlotChoiceForm."""

    on = forms.DateField(widget=DateInput(), label="New date")
    practitioner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone")

    def __init__(self, data: Any, *, location: Location, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["practitioner"].queryset = selectors.practitioners_at(location)  # type: ignore[attr-defined]

    def clean_on(self) -> date | None:
        return _bounded_date(self.cleaned_data.get("on"), allow_past_days=0)


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=300, label="Why is it cancelled?", help_text="For example: the patient called, unwell.")


class WaitlistForm(forms.Form):
    patient = forms.IntegerField(widget=forms.HiddenInput)
    location = forms.ModelChoiceField(queryset=Location.objects.none(), empty_label=None)
    earliest_on = forms.DateField(widget=DateInput(), label="Wanted from")
    latest_on = forms.DateField(widget=DateInput(), label="Wanted until")
    practitioner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Anyone")
    kind = forms.ChoiceField(choices=Appointment.Kind.choices, initial=Appointment.Kind.TREATMENT)
    numbing_minutes = forms.IntegerField(min_value=0, max_value=120, initial=30, label="Numbing (minutes)")
    procedure_minutes = forms.IntegerField(min_value=5, max_value=240, initial=30, label="Procedure (minutes)")
    needs_device = forms.BooleanField(required=False, label="Needs a Dermapen")
    notes = forms.CharField(max_length=300, required=False)

    def __init__(self, data: Any, *, scope: frozenset[int], location: Location | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["patient"] = PatientField(scope=scope)
        self.fields["location"] = ScopedLocationField(scope=scope)
        if location is not None:
            self.fields["practitioner"].queryset = selectors.practitioners_at(location)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("earliest_on", "latest_on"):
            if data.get(name) is not None:
                try:
                    data[name] = _bounded_date(data[name], allow_past_days=0)
                except forms.ValidationError as error:
                    self.add_error(name, error)
        if data.get("earliest_on") and data.get("latest_on") and data["earliest_on"] > data["latest_on"]:
            self.add_error("latest_on", "The last wanted date must not be before the first.")
        return data


class WorkingHoursForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Practitioner")
    weekday = forms.TypedChoiceField(choices=Weekday.choices, coerce=int)
    starts_at = forms.TimeField(widget=TimeInput(), label="From")
    ends_at = forms.TimeField(widget=TimeInput(), label="Until")

    def __init__(self, data: Any, *, location: Location, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["user"].queryset = selectors.practitioners_at(location)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("starts_at") and data.get("ends_at") and data["starts_at"] >= data["ends_at"]:
            self.add_error("ends_at", "The end must be after the start.")
        return data


class TimeOffForm(forms.Form):
    user = forms.ModelChoiceField(queryset=User.objects.none(), label="Practitioner")
    first_on = forms.DateField(widget=DateInput(), label="From (date)")
    first_time = forms.TimeField(widget=TimeInput(), required=False, label="From (time)", help_text="Empty: the whole day.")
    last_on = forms.DateField(widget=DateInput(), label="Until (date)")
    last_time = forms.TimeField(widget=TimeInput(), required=False, label="Until (time)", help_text="Empty: the end of that day.")
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, data: Any, *, location: Location, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.location = location
        self.fields["user"].queryset = selectors.practitioners_at(location)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first_on, last_on = data.get("first_on"), data.get("last_on")
        if first_on is None or last_on is None:
            return data
        try:
            _bounded_date(first_on), _bounded_date(last_on)
        except forms.ValidationError as error:
            self.add_error("first_on", error)
            return data
        start = (
            datetime.combine(first_on, data["first_time"], tzinfo=self.location.zone)
            if data.get("first_time")
            else self.location.start_of_day(first_on)
        )
        end = (
            datetime.combine(last_on, data["last_time"], tzinfo=self.location.zone)
            if data.get("last_time")
            else self.location.start_of_day(last_on + timedelta(days=1))
        )
        if start >= end:
            self.add_error("last_on", "The end must be after the start.")
        data["starts_at"], data["ends_at"] = start, end
        return data


class ClosureForm(forms.Form):
    first_on = forms.DateField(widget=DateInput(), label="Closed from")
    last_on = forms.DateField(widget=DateInput(), label="Closed until (inclusive)", required=False, help_text="Empty: one day.")
    reason = forms.CharField(max_length=200)

    def __init__(self, data: Any, *, location: Location, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.location = location

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first_on = data.get("first_on")
        if first_on is None:
            return data
        last_on = data.get("last_on") or first_on
        try:
            _bounded_date(first_on), _bounded_date(last_on)
        except forms.ValidationError as error:
            self.add_error("first_on", error)
            return data
        if last_on < first_on:
            self.add_error("last_on", "The last day must not be before the first.")
            return data
        data["starts_at"] = self.location.start_of_day(first_on)
        data["ends_at"] = self.location.start_of_day(last_on + timedelta(days=1))
        return data


class WaitlistRemoveForm(VersionedForm, forms.Form):
    """The waitlist's Remove button, given `record=` the entry: removing an entry booked since the list was loaded is refused."""

    shown_fields = ("status",)


class PolicyForm(VersionedForm, forms.Form):
    """Given `record=` the location's policy (its values as `initial`): a save from a stale page is refused (StaleEdit)."""

    edits_record_fields = True
    numbing_in_waiting_area = forms.BooleanField(
        required=False, label="Numbing happens in the waiting area (the room and practitioner are free meanwhile)"
    )
    slot_minutes = forms.IntegerField(min_value=5, max_value=60, label="Offer start times every (minutes)")
