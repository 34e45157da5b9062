"""Prescribed courses: the protocol, the areas, the planned sessions and their windows.

A course is what a doctor prescribes (protocol, areas, how many sessions, how far apart); its
sessions are booked as scheduling appointments. Progress is derived from those appointments
(how many are completed), never stored as a counter. See docs/decisions/0013 and 0014.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from mesoclinic.catalog.models import Area, CatalogVersion, Concern, Protocol, Technique
from mesoclinic.core.concurrency import version_at_least_one, version_field
from mesoclinic.core.models import Location
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.models import Appointment

MAX_SESSIONS = 52
MAX_INTERVAL_DAYS = 365


class Qualification(models.Model):
    """A practitioner may deliver a protocol. The course planner proposes only qualified practitioners."""

    practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="protocol_qualifications")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["protocol", "practitioner"]
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "practitioner"], name="courses_qualification_unique", violation_error_message="Already qualified."
            )
        ]

    def __str__(self) -> str:
        return f"{self.practitioner} may deliver {self.protocol}"


class Course(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Prescribed, not booked yet"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped"

    OPEN = (Status.PLANNED, Status.ACTIVE)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="courses", db_index=False)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="courses", help_text="Where the sessions take place.")
    concern = models.ForeignKey(Concern, on_delete=models.PROTECT, related_name="+")
    protocol = models.ForeignKey(Protocol, on_delete=models.PROTECT, related_name="+")
    catalog_version = models.ForeignKey(
        CatalogVersion, on_delete=models.PROTECT, related_name="+", help_text="The catalog as it was when the course was prescribed."
    )
    areas: models.ManyToManyField[Area, Any] = models.ManyToManyField(Area, related_name="+")
    techniques: models.ManyToManyField[Technique, Any] = models.ManyToManyField(
        Technique, related_name="+", help_text="The protocol's techniques the doctor chose; a Dermapen technique books a Dermapen."
    )
    sessions_planned = models.PositiveSmallIntegerField()
    interval_min_days = models.PositiveSmallIntegerField()
    interval_max_days = models.PositiveSmallIntegerField()
    preferred_practitioner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    prescribed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prescribed_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stop_reason = models.CharField(max_length=300, blank=True)
    summary = models.TextField(max_length=5000, blank=True, help_text="The end-of-course summary (written when the course closes).")
    allergy_acknowledgement = models.TextField(
        max_length=1000,
        blank=True,
        default="",
        db_default="",
        help_text="Why the prescribing doctor accepted a product holding an ingredient the patient is recorded as allergic to.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    version = version_field()

    class Meta:
        ordering = ["-prescribed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(sessions_planned__gte=1, sessions_planned__lte=MAX_SESSIONS), name="courses_course_sessions_in_range"
            ),
            models.CheckConstraint(
                condition=Q(interval_min_days__gte=1, interval_max_days__lte=MAX_INTERVAL_DAYS)
                & Q(interval_min_days__lte=F("interval_max_days")),
                name="courses_course_interval_ordered",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["planned", "active", "completed", "stopped"]), name="courses_course_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="stopped") | Q(stopped_at__isnull=False) & ~Q(stop_reason=""), name="courses_course_stop_has_reason"
            ),
            version_at_least_one("courses_course"),
        ]
        indexes = [models.Index(fields=["patient", "-prescribed_at"], name="courses_course_patient")]

    def __str__(self) -> str:
        return f"{self.protocol} × {self.sessions_planned} for patient {self.patient_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def interval_label(self) -> str:
        if self.interval_min_days == self.interval_max_days:
            return f"every {self.interval_min_days} days"
        return f"every {self.interval_min_days}–{self.interval_max_days} days"


class CourseSession(models.Model):
    """One planned session of a course. Its state comes from its appointment (see `state`)."""

    class State(models.TextChoices):
        TO_BOOK = "to_book", "Not booked"
        BOOKED = "booked", "Booked"
        DONE = "done", "Done"
        MISSED = "missed", "Cancelled or missed: book again"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveSmallIntegerField()
    appointment = models.OneToOneField(Appointment, on_delete=models.PROTECT, null=True, blank=True, related_name="course_session")
    window_opens_on = models.DateField(null=True, blank=True, help_text="First local date this session may take place.")
    window_closes_on = models.DateField(null=True, blank=True, help_text="Last local date this session may take place.")

    class Meta:
        ordering = ["course", "number"]
        constraints = [
            models.UniqueConstraint(fields=["course", "number"], name="courses_coursesession_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="courses_coursesession_number_positive"),
            models.CheckConstraint(
                condition=Q(window_opens_on__isnull=True, window_closes_on__isnull=True)
                | Q(window_opens_on__isnull=False, window_closes_on__isnull=False, window_opens_on__lte=F("window_closes_on")),
                name="courses_coursesession_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"Session {self.number} of course {self.course_id}"

    @property
    def state(self) -> str:
        """Derived from the appointment: not booked, booked (to come or under way), done, or missed."""
        appointment = self.appointment
        if appointment is None:
            return self.State.TO_BOOK
        if appointment.status == Appointment.Status.COMPLETED:
            return self.State.DONE
        if appointment.status in (Appointment.Status.CANCELLED, Appointment.Status.NO_SHOW):
            return self.State.MISSED
        return self.State.BOOKED

    def get_state_display(self) -> str:
        return str(self.State(self.state).label)

    @property
    def holds_time(self) -> bool:
        """Booked or done: the session has its date (anchors the next window)."""
        return self.state in (self.State.BOOKED, self.State.DONE)

    def in_window(self, day: date) -> bool:
        if self.window_opens_on is None or self.window_closes_on is None:
            return True
        return self.window_opens_on <= day <= self.window_closes_on


class WindowOverride(models.Model):
    """A doctor moved a session outside its window, with a reason (decision 24). Written once, never edited."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="window_overrides")
    session_number = models.PositiveSmallIntegerField()
    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="+")
    moved_to_on = models.DateField(help_text="The local date the session moved to.")
    window_opens_on = models.DateField()
    window_closes_on = models.DateField()
    reason = models.CharField(max_length=300)
    overridden_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    overridden_at = models.DateTimeField()

    class Meta:
        ordering = ["-overridden_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="courses_windowoverride_reason_present"),
            models.CheckConstraint(condition=Q(window_opens_on__lte=F("window_closes_on")), name="courses_windowoverride_window_ordered"),
        ]

    def __str__(self) -> str:
        return f"Session {self.session_number} of course {self.course_id} moved outside its window to {self.moved_to_on}"
