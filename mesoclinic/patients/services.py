"""Every write to the patient registry. Each runs in one transaction with its audit row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction

from mesoclinic.core import audit
from mesoclinic.core.concurrency import bump, check_version
from mesoclinic.core.models import AuditEvent, Location
from mesoclinic.core.services import take_numbers

from . import selectors
from .models import Patient

RECORD_PREFIX = "MC"
EDITABLE_FIELDS = (
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "address",
    "fitzpatrick",
    "preferred_channel",
    "consents_to_reminders",
    "consents_to_marketing",
    "notes",
    "allergy_notes",
)
ALLERGY_FIELD = "allergy_ingredients"  # many-to-many: compared and set apart from the plain fields


def _allergies_changed(patient: Patient, data: Mapping[str, Any]) -> bool:
    if ALLERGY_FIELD not in data:
        return False
    return {item.pk for item in data[ALLERGY_FIELD]} != set(patient.allergy_ingredients.values_list("pk", flat=True))


class LikelyDuplicate(Exception):
    """Registration stopped because similar patients exist; the caller may confirm and retry."""

    def __init__(self, candidates: list[Patient]) -> None:
        super().__init__(f"{len(candidates)} similar patient(s) already registered")
        self.candidates = candidates


def format_record_number(number: int) -> str:
    return f"{RECORD_PREFIX}{number:07d}"


def _serialise_registrations_like(patient: Patient) -> None:
    """Make registrations that could be duplicates of each other take turns, until the end of the transaction.

    Every rule of `selectors.likely_duplicates` needs the same birth date, so the birth date is
    the key. On PostgreSQL a transaction-level advisory lock on it; SQLite needs nothing more, as
    its IMMEDIATE transactions already let one writer in at a time (decision 0004)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"patients.register:{patient.date_of_birth.isoformat()}"])


def register_patient(
    *,
    ctx: audit.AuditContext,
    location: Location,
    data: Mapping[str, Any],
    scope: frozenset[int],
    confirm_not_duplicate: bool = False,
) -> Patient:
    """Register a patient at `location`. Raises LikelyDuplicate unless the user confirmed.

    The duplicate check and the insert run in one transaction, serialised with every other
    registration that could be the same person, so registrations sent at once cannot all pass the
    check. The similar patients named in a LikelyDuplicate are shown to the user, so each gets a view
    audit row (screen "duplicate-warning"), committed although nothing is registered.
    """
    if location.pk not in scope:
        raise PermissionDenied("the location is not one of the caller's locations")
    patient = Patient(location=location, **{name: data[name] for name in EDITABLE_FIELDS if name in data})
    patient.normalise_phone()
    patient.refresh_search_keys()
    candidates: list[Patient] = []
    with transaction.atomic():
        if not confirm_not_duplicate:
            _serialise_registrations_like(patient)
            candidates = selectors.likely_duplicates(scope=scope, patient=patient)
        if candidates:
            for candidate in candidates:
                selectors.record_view(ctx=ctx, patient=candidate, screen="duplicate-warning")
        else:
            patient.record_number = format_record_number(take_numbers("patient", 1)[0])
            patient.full_clean(exclude=["version"])
            patient.save()
            if data.get(ALLERGY_FIELD):
                patient.allergy_ingredients.set(data[ALLERGY_FIELD])
            audit.record(
                ctx,
                action=AuditEvent.Action.CREATE,
                object_type="patient",
                object_id=patient.pk,
                patient_id=patient.pk,
                location_id=location.pk,
                detail={"duplicate_warning_overridden": confirm_not_duplicate},
            )
    if candidates:
        raise LikelyDuplicate(candidates)
    return patient


def update_patient(*, ctx: audit.AuditContext, patient: Patient, data: Mapping[str, Any], expected_version: int | None = None) -> Patient:
    """Apply edits; the audit row names the fields that changed (not their values).

    With `expected_version` (the version the edit form was loaded at), an edit made from a stale copy
    is refused with StaleEdit and nothing is written."""
    with transaction.atomic():
        locked = Patient.objects.select_for_update().get(pk=patient.pk)
        check_version(locked, expected_version)
        changed = [name for name in EDITABLE_FIELDS if name in data and getattr(locked, name) != data[name]]
        if _allergies_changed(locked, data):
            changed.append(ALLERGY_FIELD)
        if not changed:
            return locked
        for name in changed:
            if name == ALLERGY_FIELD:
                locked.allergy_ingredients.set(data[name])
            else:
                setattr(locked, name, data[name])
        locked.normalise_phone()
        locked.refresh_search_keys()
        locked.full_clean(exclude=["version"])  # the version is the service's, not the user's
        bump(locked)
        locked.save()
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="patient",
            object_id=locked.pk,
            patient_id=locked.pk,
            location_id=locked.location_id,
            detail={"fields": changed},
        )
    return locked
