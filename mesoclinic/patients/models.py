from __future__ import annotations

from datetime import date
from typing import Any

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from mesoclinic.catalog.models import Ingredient
from mesoclinic.core.concurrency import version_at_least_one, version_field
from mesoclinic.core.models import Location
from mesoclinic.core.phones import national, to_e164
from mesoclinic.core.text import digits, fold

phone_validator = RegexValidator(
    r"^\+?[0-9 ()\-]{6,20}$", "Enter a phone number: digits, spaces, brackets or dashes, optionally starting with +."
)


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "female", "Female"
        MALE = "male", "Male"
        OTHER = "other", "Other"
        UNKNOWN = "unknown", "Not stated"

    class Fitzpatrick(models.TextChoices):
        I = "I", "I — always burns, never tans"  # noqa: E741
        II = "II", "II — usually burns, tans minimally"
        III = "III", "III — sometimes burns, tans gradually"
        IV = "IV", "IV — burns minimally, tans well"
        V = "V", "V — rarely burns, tans darkly"
        VI = "VI", "VI — never burns"

    class Channel(models.TextChoices):
        EMAIL = "email", "E-mail"
        SMS = "sms", "SMS"
        PHONE = "phone", "Phone call"
        NONE = "none", "No messages"

    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="patients", help_text="The patient's home clinic.")
    record_number = models.CharField(max_length=20, editable=False)
    given_name = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=10, choices=Sex.choices, default=Sex.UNKNOWN)
    phone = models.CharField(max_length=30, blank=True, validators=[phone_validator])
    email = models.EmailField("e-mail", blank=True)
    address = models.TextField(blank=True, max_length=500)
    fitzpatrick = models.CharField("Fitzpatrick skin type", max_length=3, choices=Fitzpatrick.choices, blank=True)
    preferred_channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    consents_to_reminders = models.BooleanField(default=True)
    consents_to_marketing = models.BooleanField(default=False)
    notes = models.TextField(blank=True, max_length=2000)
    # Recorded allergies: the catalog's ingredients (checked against each product's ingredients when a
    # course is prescribed and when a product is charted) and what the catalog cannot name, as text.
    allergy_ingredients: models.ManyToManyField[Ingredient, Any] = models.ManyToManyField(
        Ingredient, related_name="+", blank=True, verbose_name="allergic to (catalog ingredients)"
    )
    allergy_notes = models.TextField(
        "other allergies",
        blank=True,
        default="",
        db_default="",
        max_length=1000,
        help_text="Allergies the catalog does not list (e.g. latex, plasters, lidocaine).",
    )

    # Search keys, derived from the fields above on every save (see `refresh_search_keys`).
    family_key = models.CharField(max_length=100, editable=False, default="")
    given_key = models.CharField(max_length=100, editable=False, default="")
    phone_key = models.CharField(max_length=30, editable=False, default="")
    email_key = models.CharField(max_length=254, editable=False, default="")
    # Set when a stored number could not be read as a phone number of the home clinic's country (migration 0005).
    phone_needs_review = models.BooleanField(default=False, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = version_field()

    class Meta:
        ordering = ["family_key", "given_key", "id"]
        constraints = [
            models.UniqueConstraint(fields=["record_number"], name="patients_patient_record_number_unique"),
            models.CheckConstraint(condition=~Q(given_name="") & ~Q(family_name=""), name="patients_patient_names_present"),
            version_at_least_one("patients_patient"),
        ]
        # The key columns use the "C" collation on PostgreSQL (migration 0003), so these plain
        # b-tree indexes serve both `LIKE 'prefix%'` and ORDER BY, whatever the database's locale.
        indexes = [
            models.Index(fields=["location", "family_key", "given_key", "id"], name="patients_family_key"),
            models.Index(fields=["location", "given_key"], name="patients_given_key"),
            models.Index(fields=["location", "phone_key"], name="patients_phone_key"),
            models.Index(fields=["location", "date_of_birth"], name="patients_dob"),
            models.Index(fields=["location", "email_key"], name="patients_email_key"),
        ]

    def __str__(self) -> str:
        return f"{self.family_name.upper()}, {self.given_name} ({self.record_number})"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def refresh_search_keys(self) -> None:
        self.family_key = fold(self.family_name)[:100]
        self.given_key = fold(self.given_name)[:100]
        self.phone_key = digits(self.phone)[:30]
        self.email_key = self.email.strip().casefold()[:254]

    def normalise_phone(self) -> None:
        """Store the phone number as E.164, read as dialled at the home clinic; keep one that cannot be read, flagged."""
        if not self.phone:
            self.phone_needs_review = False
            return
        e164 = to_e164(self.phone, self.location.phone_region)
        self.phone, self.phone_needs_review = (e164, False) if e164 else (self.phone, True)

    @property
    def phone_display(self) -> str:
        """The number as dialled in the home clinic's country (another country's number in international format)."""
        return national(self.phone, self.location.phone_region) if self.phone else ""

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
