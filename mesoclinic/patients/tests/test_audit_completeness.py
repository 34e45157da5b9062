"""Every patient view, read or write, leaves exactly the expected audit rows — and nothing for a refused write.

The table below must name every URL of the `patients` namespace: a new patient view without a
case here fails `test_every_patient_view_has_audit_cases`.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory, form_data

pytestmark = pytest.mark.django_db
A = AuditEvent.Action


@dataclass
class World:
    user: Any
    location: Any
    patient: Patient  # at the user's location
    stranger: Patient  # at another location

    def newest(self) -> Patient:
        return Patient.objects.latest("id")


Row = tuple[str, str, "int | None", Any, "int | None", dict]


@dataclass(frozen=True)
class Case:
    method: str
    url: Callable[[World], str]
    status: int
    rows: Callable[[World], list[Row]]
    data: Callable[[World], dict] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def viewed(screen: str, whose: str = "patient") -> Callable[[World], list[Row]]:
    def rows(w: World) -> list[Row]:
        p = getattr(w, whose)
        return [(A.VIEW, "patient", p.pk, w.user, p.location_id, {"screen": screen})]

    return rows


def nothing(w: World) -> list[Row]:
    return []


def created(overridden: bool) -> Callable[[World], list[Row]]:
    return lambda w: [(A.CREATE, "patient", w.newest().pk, w.user, w.location.pk, {"duplicate_warning_overridden": overridden})]


def searched(kind: str) -> Callable[[World], list[Row]]:
    # A search names the patients it showed (not the typed text), under the user's one location.
    return lambda w: [(A.SEARCH, "patient", None, w.user, w.location.pk, {"kind": kind, "page": 1, "patient_ids": [w.patient.pk]})]


def at(name: str, whose: str = "patient") -> Callable[[World], str]:
    return lambda w: reverse(f"patients:{name}", args=[getattr(w, whose).pk])


def new_person(w: World) -> dict:
    return form_data(w.location, given_name="Ana", family_name="Núñez", email="ana@example.com", phone="")


def same_person(w: World) -> dict:
    p = w.patient
    return form_data(w.location, given_name=p.given_name, family_name=p.family_name, date_of_birth=p.date_of_birth.isoformat())


CASES: dict[str, dict[str, Case]] = {
    "list": {
        "page": Case("get", lambda w: reverse("patients:list"), 200, searched("all")),
        "search": Case("get", lambda w: reverse("patients:list") + "?q=zoe", 200, searched("name")),
        "htmx-search": Case("get", lambda w: reverse("patients:list") + "?q=zoe", 200, searched("name"), headers={"HX-Request": "true"}),
        "bad-page": Case("get", lambda w: reverse("patients:list") + "?page=x", 400, nothing),
    },
    "new": {
        "form": Case("get", lambda w: reverse("patients:new"), 200, nothing),
        "register": Case("post", lambda w: reverse("patients:new"), 302, created(False), data=new_person),
        "invalid": Case("post", lambda w: reverse("patients:new"), 400, nothing, data=lambda w: form_data(w.location, family_name="")),
        "duplicate-warning": Case("post", lambda w: reverse("patients:new"), 409, viewed("duplicate-warning"), data=same_person),
        "duplicate-confirmed": Case(
            "post", lambda w: reverse("patients:new"), 302, created(True), data=lambda w: {**same_person(w), "confirm_not_duplicate": "on"}
        ),
    },
    "detail": {
        "page": Case("get", at("detail"), 200, viewed("chart")),
        "other-location": Case("get", at("detail", "stranger"), 404, nothing),
    },
    "edit": {
        "form": Case("get", at("edit"), 200, viewed("edit")),
        "save": Case(
            "post",
            at("edit"),
            302,
            lambda w: [(A.UPDATE, "patient", w.patient.pk, w.user, w.location.pk, {"fields": ["family_name", "notes"]})],
            data=lambda w: form_data(
                given_name=w.patient.given_name,
                family_name="Núñez",
                date_of_birth=w.patient.date_of_birth.isoformat(),
                phone=w.patient.phone,
                email=w.patient.email,
                notes="Moved house",
                fitzpatrick=w.patient.fitzpatrick,
                sex=w.patient.sex,
            ),
        ),
        "save-unchanged": Case(
            "post",
            at("edit"),
            302,
            nothing,
            data=lambda w: form_data(
                given_name=w.patient.given_name,
                family_name=w.patient.family_name,
                date_of_birth=w.patient.date_of_birth.isoformat(),
                phone=w.patient.phone,
                email=w.patient.email,
                fitzpatrick=w.patient.fitzpatrick,
                sex=w.patient.sex,
            ),
        ),
        "invalid": Case("post", at("edit"), 400, viewed("edit"), data=lambda w: form_data(date_of_birth="not a date")),
        "other-location": Case("post", at("edit", "stranger"), 404, nothing, data=lambda w: form_data()),
    },
}


def patient_url_names() -> set[str]:
    _prefix, resolver = get_resolver().namespace_dict["patients"]
    names: set[str] = set()

    def walk(patterns: list) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"unnamed patient URL {pattern.pattern}: name it and add audit cases"
                names.add(pattern.name)

    walk(resolver.url_patterns)
    return names


def test_every_patient_view_has_audit_cases():
    names = patient_url_names()
    assert names, "the patients namespace has no URLs?"
    missing = names - set(CASES)
    assert not missing, f"patient views without an audit case in {__name__}.CASES: {sorted(missing)}"
    assert not set(CASES) - names, "cases for URLs that no longer exist"
    for name, cases in CASES.items():
        assert any(case.status < 400 for case in cases.values()), f"{name} has no successful case"


@pytest.fixture
def world(client, receptionist, location, other_location) -> World:
    client.force_login(receptionist)
    return World(
        user=receptionist,
        location=location,
        patient=PatientFactory(
            location=location,
            given_name="Zoë",
            family_name="Ölçer",
            date_of_birth=datetime.date(1988, 6, 2),
            fitzpatrick="II",
            sex="female",
        ),
        stranger=PatientFactory(location=other_location, given_name="Ana", family_name="Silva"),
    )


@pytest.mark.parametrize(
    ("name", "label"), [pytest.param(name, label, id=f"{name}-{label}") for name, cases in CASES.items() for label in cases]
)
def test_each_read_and_write_leaves_exactly_the_expected_audit_rows(client, world, name, label):
    case = CASES[name][label]
    before = set(AuditEvent.objects.values_list("id", flat=True))
    send = client.post if case.method == "post" else client.get
    kwargs = {"data": case.data(world)} if case.data else {}

    response = send(case.url(world), headers=case.headers, **kwargs)

    assert response.status_code == case.status
    written = [
        (e.action, e.object_type, e.patient_id, e.actor, e.location_id, e.detail)
        for e in AuditEvent.objects.exclude(id__in=before).order_by("id")
    ]
    assert written == case.rows(world)
    for event in AuditEvent.objects.exclude(id__in=before):
        assert (event.actor_label, event.ip_address, event.path) == (world.user.username, "127.0.0.1", response.wsgi_request.path)
    if case.status >= 400:
        assert not AuditEvent.objects.exclude(id__in=before).filter(action__in=[A.CREATE, A.UPDATE, A.DELETE]).exists()
