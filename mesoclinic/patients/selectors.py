"""Reads of the patient registry. Every read takes the caller's location scope explicitly."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet

from mesoclinic.core import audit, phones
from mesoclinic.core.models import AuditEvent, Location
from mesoclinic.core.text import digits, fold

from .models import Patient

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")
RECORD_NUMBER = re.compile(r"^mc\d+$", re.IGNORECASE)
MAX_QUERY_LENGTH = 100
SEARCH_ORDER = ("family_key", "given_key", "id")


@dataclass(frozen=True)
class SearchPage:
    patients: list[Patient]
    page: int
    has_next: bool
    query: str


def parse_date(text: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _name_match(tokens: list[str]) -> Q:
    if len(tokens) == 1:
        return Q(family_key__startswith=tokens[0]) | Q(given_key__startswith=tokens[0])
    match = Q()
    for split in range(1, len(tokens)):
        first, last = " ".join(tokens[:split]), " ".join(tokens[split:])
        match |= Q(given_key__startswith=first, family_key__startswith=last)
        match |= Q(family_key__startswith=first, given_key__startswith=last)
    return match


def search_alternatives(query: str, regions: Sequence[str] = (phones.DEFAULT_REGION,)) -> list[Q]:
    """Turn what the receptionist typed into filters (see `query_kind`).

    A patient matches if any alternative matches. A one-word name gives two alternatives (family
    name, given name) so that each runs as an ordered index scan that stops after one page. A phone
    number is read as dialled in each of `regions` (the countries of the caller's locations) and
    matched on the start of the stored E.164 digits ("07700 900123" finds +44 7700 900123).
    """
    text = query.strip()[:MAX_QUERY_LENGTH]
    kind = query_kind(text)
    if kind == "all":
        return [Q()]
    if kind == "date_of_birth":
        return [Q(date_of_birth=parse_date(text))]
    if kind == "record_number":
        return [Q(record_number__startswith=text.upper())]
    if kind == "email":
        return [Q(email_key=text.strip().casefold())]
    if kind == "phone":
        number = digits(text)
        keys = {number} | {key for region in regions if (key := phones.search_digits(text, region))}
        match = Q(record_number=f"MC{int(number):07d}")
        for key in sorted(keys):
            match |= Q(phone_key__startswith=key)
        return [match]
    tokens = fold(text).split(" ")
    if len(tokens) == 1:
        return [Q(family_key__startswith=tokens[0]), Q(given_key__startswith=tokens[0])]
    return [_name_match(tokens)]


def query_kind(query: str) -> str:
    """What kind of search `query` is: all, email, date_of_birth, record_number, phone or name."""
    text = query.strip()[:MAX_QUERY_LENGTH]
    if not text:
        return "all"
    if "@" in text:
        return "email"
    if parse_date(text) is not None:
        return "date_of_birth"
    if RECORD_NUMBER.match(text):
        return "record_number"
    number = digits(text)
    if len(number) >= 3 and len(number) >= len(re.sub(r"[\s+()\-]", "", text)):
        return "phone"
    return "name"


def search_filter(query: str, regions: Sequence[str] = (phones.DEFAULT_REGION,)) -> Q:
    """All of `search_alternatives` as one filter."""
    combined = Q()
    for alternative in search_alternatives(query, regions):
        combined |= alternative
    return combined


def phone_regions(scope: frozenset[int]) -> list[str]:
    """The countries of the caller's locations, whose dialling rules a typed phone number may follow (one query)."""
    locations = Location.objects.filter(pk__in=scope).only("country", "time_zone")
    return sorted({location.phone_region for location in locations}) or [phones.DEFAULT_REGION]


def patients_in_scope(scope: frozenset[int]) -> QuerySet[Patient]:
    return Patient.objects.filter(location_id__in=scope).select_related("location")


def search_patients(*, ctx: audit.AuditContext, scope: frozenset[int], query: str, page: int = 1, page_size: int = 25) -> SearchPage:
    """One page of patients matching `query` in the caller's locations; writes one audit row."""
    page = max(1, page)
    offset = (page - 1) * page_size
    wanted = offset + page_size + 1
    found: dict[int, Patient] = {}
    regions = phone_regions(scope) if query_kind(query) == "phone" else ()
    for alternative in search_alternatives(query, regions):  # one or two queries (a phone number: one more), whatever the data
        for patient in patients_in_scope(scope).filter(alternative).order_by(*SEARCH_ORDER)[:wanted]:
            found[patient.pk] = patient
    # Byte order, as the database sorts the C-collated keys (see docs/decisions/0005).
    ordered = sorted(found.values(), key=lambda patient: (patient.family_key, patient.given_key, patient.pk))
    rows = ordered[offset:wanted]
    shown = rows[:page_size]
    # The row names the patients whose names were shown (that is the read), not the typed text,
    # which may itself be a name; a one-location user's search is filed under that location.
    audit.record(
        ctx,
        action=AuditEvent.Action.SEARCH,
        object_type="patient",
        location_id=next(iter(scope)) if len(scope) == 1 else None,
        detail={"kind": query_kind(query), "page": page, "patient_ids": [patient.pk for patient in shown]},
    )
    return SearchPage(patients=shown, page=page, has_next=len(rows) > page_size, query=query)


MAX_ID = 2**63 - 1  # ids are 64-bit; a larger number in a URL can name no patient


def get_patient(*, scope: frozenset[int], pk: int) -> Patient:
    """The patient, if their home location is in scope; otherwise Patient.DoesNotExist (a 404)."""
    if not 0 < pk <= MAX_ID:
        raise Patient.DoesNotExist(f"no patient {pk}")
    return patients_in_scope(scope).get(pk=pk)


def view_patient(*, ctx: audit.AuditContext, scope: frozenset[int], pk: int, screen: str = "chart") -> Patient:
    """Fetch a patient for display and record that it was viewed."""
    patient = get_patient(scope=scope, pk=pk)
    record_view(ctx=ctx, patient=patient, screen=screen)
    return patient


def record_view(*, ctx: audit.AuditContext, patient: Patient, screen: str) -> None:
    """Record that `patient`'s data was shown on `screen` (one audit row)."""
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        location_id=patient.location_id,
        detail={"screen": screen},
    )


def likely_duplicates(*, scope: frozenset[int], patient: Patient, limit: int = 5) -> list[Patient]:
    """Patients in scope who look like the same person: same name and birth date, or same birth date and phone or e-mail."""
    same_person = Q(family_key=patient.family_key, given_key=patient.given_key, date_of_birth=patient.date_of_birth)
    if patient.phone_key:
        same_person |= Q(phone_key=patient.phone_key, date_of_birth=patient.date_of_birth)
    if patient.email:
        same_person |= Q(email__iexact=patient.email, date_of_birth=patient.date_of_birth)
    candidates = patients_in_scope(scope).filter(same_person)
    if patient.pk:
        candidates = candidates.exclude(pk=patient.pk)
    return list(candidates[:limit])


def audit_for_patient(*, patient: Patient, limit: int = 20) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(patient_id=patient.pk).order_by("-at", "-id")[:limit])
