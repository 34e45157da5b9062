"""The organisation, its locations, rooms and devices, and the append-only audit trail.

`core` imports no other app: everything else hangs off these tables.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .times import local


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone (for example Europe/London).")


def validate_country(value: str) -> None:
    from .phones import is_region

    if value and not is_region(value):
        raise ValidationError(f"“{value}” is not a two-letter country code (for example GB, FR, US).")


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Location(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="locations")
    name = models.CharField(max_length=200)
    code = models.SlugField(max_length=20, help_text="Short code used in record numbers, e.g. LDN.")
    time_zone = models.CharField(max_length=64, default="Europe/London", validators=[validate_time_zone])
    country = models.CharField(
        max_length=2,
        blank=True,
        validators=[validate_country],
        help_text="ISO 3166 country code (e.g. GB): patients' phone numbers are read and shown as dialled there. "
        "Blank: the country of the time zone.",
    )
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="core_location_code_unique"),
            models.UniqueConstraint(fields=["organisation", "name"], name="core_location_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def phone_region(self) -> str:
        """The country whose dialling rules apply to this location's patients' phone numbers."""
        from .phones import region_for_zone

        return self.country.upper() if self.country else region_for_zone(self.time_zone)

    def local(self, moment: datetime) -> datetime:
        """`moment` as this location's wall-clock time; templates show it as is (core/times.py)."""
        return local(moment, self.zone)

    def start_of_day(self, day: date) -> datetime:
        """The aware instant at which `day` begins in this location (DST-safe)."""
        return datetime.combine(day, time.min, tzinfo=self.zone)


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class OpeningHours(models.Model):
    """One opening period of a location on a weekday, in the location's wall-clock time."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["location", "weekday", "opens_at"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(opens_at__lt=models.F("closes_at")), name="core_openinghours_opens_before_closes"),
            models.CheckConstraint(condition=Q(weekday__gte=0, weekday__lte=6), name="core_openinghours_weekday_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


class Room(models.Model):
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="rooms")
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["location", "name"]
        constraints = [models.UniqueConstraint(fields=["location", "name"], name="core_room_name_unique")]

    def __str__(self) -> str:
        return f"{self.name} ({self.location})"


class Device(models.Model):
    class Kind(models.TextChoices):
        DERMAPEN = "dermapen", "Dermapen (microneedling pen)"
        CENTRIFUGE = "centrifuge", "Centrifuge"
        OTHER = "other", "Other"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="devices")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DERMAPEN)
    model = models.CharField(max_length=100)
    serial_number = models.CharField(max_length=100)
    in_service = models.BooleanField(default=True, help_text="Out-of-service devices cannot be booked.")

    class Meta:
        ordering = ["location", "kind", "model"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "serial_number"], name="core_device_serial_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.model} #{self.serial_number}"


class AuditEvent(models.Model):
    """One read or write of a record, kept for ever.

    Append-only: the database refuses UPDATE and DELETE on this table (triggers installed by
    migration 0002) and TRUNCATE (0003, PostgreSQL), and no code path in Mesoclinic issues any of
    them. The row is written in the
    same transaction as the change it describes.
    """

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        SEARCH = "search", "Searched"
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        EXPORT = "export", "Exported"
        OVERRIDE = "override", "Overrode"
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGN_OUT = "sign_out", "Signed out"

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_constraint=False
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="The user name at the time, kept if the user is renamed.")
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True, help_text="The patient whose record was touched, if any.")
    location_id = models.BigIntegerField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["patient_id", "-at"], name="core_audit_patient_at"),
            models.Index(fields=["actor", "-at"], name="core_audit_actor_at"),
            models.Index(fields=["location_id", "-at"], name="core_audit_location_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_id}"


class Sequence(models.Model):
    """A named counter (e.g. patient record numbers). Advanced under a row lock by `core.services.take_numbers`."""

    name = models.CharField(max_length=40, primary_key=True)
    last_value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.last_value}"
