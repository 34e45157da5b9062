"""Working time, appointments, the waitlist and practitioners' calendar feeds.

The invariant that matters most — no practitioner, room, device or patient in two overlapping
active appointments — is guarded by the database: on PostgreSQL by exclusion constraints that
migration 0002 installs (`scheduling_appointment_no_<resource>_overlap`), on SQLite by the booking
service's check inside an IMMEDIATE (write-locked) transaction. See docs/decisions/0008.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from mesoclinic.core.concurrency import version_at_least_one, version_field
from mesoclinic.core.models import Device, Location, Room, Weekday
from mesoclinic.patients.models import Patient

# The longest an appointment may last: bounds the index range scans of overlap queries.
MAX_APPOINTMENT_MINUTES = 8 * 60


class SchedulingPolicy(models.Model):
    """How a location schedules. A location without a row uses the defaults below."""

    location = models.OneToOneField(Location, on_delete=models.CASCADE, related_name="scheduling_policy")
    numbing_in_waiting_area = models.BooleanField(
        default=False,
        help_text="The numbing cream works while the patient waits outside: the room and practitioner are needed only "
        "after the numbing time.",
    )
    slot_minutes = models.PositiveSmallIntegerField(
        default=15,
        validators=[MinValueValidator(5), MaxValueValidator(60)],
        help_text="Start times offered by the slot finder are this many minutes apart.",
    )
    version = version_field()

    class Meta:
        verbose_name_plural = "scheduling policies"
        constraints = [
            models.CheckConstraint(condition=Q(slot_minutes__gte=5, slot_minutes__lte=60), name="scheduling_schedulingpolicy_slot_valid"),
            version_at_least_one("scheduling_schedulingpolicy"),
        ]

    def __str__(self) -> str:
        return f"Scheduling policy of {self.location}"


class WorkingHours(models.Model):
    """One working period of a practitioner at a location on a weekday, in the location's wall-clock time."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="working_hours")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    starts_at = models.TimeField()
    ends_at = models.TimeField()

    class Meta:
        ordering = ["location", "user", "weekday", "starts_at"]
        verbose_name_plural = "working hours"
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="scheduling_workinghours_starts_before_ends"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="scheduling_workinghours_weekday_valid"),
        ]
        indexes = [models.Index(fields=["location", "user", "weekday"], name="sched_hours_location_user")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}–{self.ends_at:%H:%M}"


class TimeOff(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "time off"
        constraints = [models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="scheduling_timeoff_starts_before_ends")]
        indexes = [models.Index(fields=["user", "ends_at"], name="sched_timeoff_user_end")]

    def __str__(self) -> str:
        return f"{self.user} off {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}"


class Closure(models.Model):
    """A location closed for a day or a stretch of time (holiday, works), on top of its opening hours."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="closures")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="scheduling_closure_starts_before_ends")]
        indexes = [models.Index(fields=["location", "ends_at"], name="sched_closure_location_end")]

    def __str__(self) -> str:
        return f"{self.location} closed {self.starts_at:%Y-%m-%d %H:%M}–{self.ends_at:%Y-%m-%d %H:%M}: {self.reason}"


class Appointment(models.Model):
    """A booking of a patient with a practitioner, a room and, when the technique needs one, a device.

    `starts_at`–`ends_at` is the patient's time (arrival, numbing, procedure). The practitioner, room
    and device are needed from `resource_starts_at`: the same as `starts_at`, or after the numbing
    wait when the location lets it happen in the waiting area. Intervals are half-open.
    """

    class Kind(models.TextChoices):
        CONSULTATION = "consultation", "Consultation"
        TREATMENT = "treatment", "Treatment session"

    class Status(models.TextChoices):
        BOOKED = "booked", "Booked"
        CHECKED_IN = "checked_in", "Checked in"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "Did not attend"

    # location, patient and practitioner are indexed by the composite (…, starts_at) indexes below.
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments", db_index=False)
    room = models.ForeignKey(Room, on_delete=models.PROTECT, related_name="appointments")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="appointments", null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.TREATMENT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    starts_at = models.DateTimeField()
    resource_starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    numbing_minutes = models.PositiveSmallIntegerField(default=0)
    procedure_minutes = models.PositiveSmallIntegerField()
    protocol_key = models.CharField(max_length=80, blank=True, help_text="The catalog protocol this session follows, if any.")
    series_key = models.CharField(max_length=64, blank=True, help_text="Appointments booked together as one series share this key.")
    notes = models.TextField(blank=True, max_length=1000)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    cancelled_reason = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    ACTIVE = (Status.BOOKED, Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(starts_at__lt=F("ends_at")), name="scheduling_appointment_starts_before_ends"),
            models.CheckConstraint(
                condition=Q(resource_starts_at__gte=F("starts_at"), resource_starts_at__lt=F("ends_at")),
                name="scheduling_appointment_resource_time_within",
            ),
            models.CheckConstraint(condition=Q(procedure_minutes__gt=0), name="scheduling_appointment_procedure_time_positive"),
            models.CheckConstraint(
                condition=~Q(status="cancelled") | Q(cancelled_at__isnull=False), name="scheduling_appointment_cancel_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["location", "starts_at"], name="sched_appt_location_start"),
            models.Index(fields=["practitioner", "starts_at"], name="sched_appt_practitioner"),
            models.Index(fields=["patient", "starts_at"], name="sched_appt_patient"),
            models.Index(fields=["series_key", "starts_at"], name="sched_appt_series", condition=~Q(series_key="")),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at

    def local_starts_at(self) -> datetime:
        return self.location.local(self.starts_at)

    def local_ends_at(self) -> datetime:
        return self.location.local(self.ends_at)


class WaitlistEntry(models.Model):
    """A patient who wants an earlier (or any) slot between two dates."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        BOOKED = "booked", "Booked"
        REMOVED = "removed", "Removed"

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="waitlist")
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="waitlist_entries")
    practitioner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", help_text="Leave empty for anyone."
    )
    kind = models.CharField(max_length=20, choices=Appointment.Kind.choices, default=Appointment.Kind.TREATMENT)
    numbing_minutes = models.PositiveSmallIntegerField(default=0)
    procedure_minutes = models.PositiveSmallIntegerField(default=30)
    needs_device = models.BooleanField(default=False)
    earliest_on = models.DateField()
    latest_on = models.DateField()
    notes = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = version_field()

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "waitlist entries"
        constraints = [
            models.CheckConstraint(condition=Q(earliest_on__lte=F("latest_on")), name="scheduling_waitlistentry_dates_in_order"),
            models.CheckConstraint(condition=Q(procedure_minutes__gt=0), name="scheduling_waitlistentry_procedure_time_positive"),
            version_at_least_one("scheduling_waitlistentry"),
        ]
        indexes = [models.Index(fields=["location", "status", "latest_on"], name="sched_waitlist_open")]

    def __str__(self) -> str:
        return f"{self.patient} wants {self.earliest_on}–{self.latest_on}"

    def wants(self, day: date) -> bool:
        return self.earliest_on <= day <= self.latest_on


class WaitlistOffer(models.Model):
    """A freed slot offered to a waitlisted patient (the receptionist books it if they accept)."""

    class Status(models.TextChoices):
        OPEN = "open", "Offered"
        BOOKED = "booked", "Booked"
        DECLINED = "declined", "Declined or gone"

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    freed_appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="waitlist_offers")
    starts_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "freed_appointment"], name="scheduling_waitlistoffer_once_per_slot"),
        ]

    def __str__(self) -> str:
        return f"Offer of {self.starts_at:%Y-%m-%d %H:%M} to {self.entry.patient}"


class CalendarFeed(models.Model):
    """A practitioner's private iCalendar feed. Only a hash of the secret token is stored."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token_hash"], name="scheduling_calendarfeed_token_unique")]

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
