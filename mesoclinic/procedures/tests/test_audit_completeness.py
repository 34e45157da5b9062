"""Every session screen, read or write, leaves its audit rows — and a refused write leaves no write row.

The table must name every URL of the `procedures` namespace (`test_every_view_has_audit_cases`).
Rows are compared as (action, object_type, patient); a sign-off also lets stock, scheduling,
courses and aftercare write their own rows, so those cases list the rows that must be among them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.urls import URLPattern, get_resolver, reverse

from mesoclinic.core.models import AuditEvent
from mesoclinic.procedures import services

from .conftest import TEN
from .factories import chart_fully

pytestmark = pytest.mark.django_db
A = AuditEvent.Action
REC = "procedure-record"


@dataclass
class World:
    clinic: Any
    open: Any  # an open record with nothing charted
    charted: Any  # every step but the sign-off
    signed: Any


@dataclass(frozen=True)
class Case:
    method: str
    url: Callable[[World], str]
    status: int
    rows: list[tuple[str, str]]
    data: Callable[[World], dict] | None = None
    htmx: bool = False
    subset: bool = False  # other apps add rows too
    who: str = "nurse"


def at(name: str, which: str = "open", *extra: Any) -> Callable[[World], str]:
    return lambda w: reverse(f"procedures:{name}", args=[getattr(w, which).pk, *extra])


def amend_data(w: World) -> dict:
    from mesoclinic.procedures.amendments import amendable_fields

    target = next(f.key for f in amendable_fields(w.signed) if f.field == "passes")
    return {"target": target, "new_value": "4", "reason": "Recounted the passes."}


CASES: dict[str, dict[str, Case]] = {
    "list": {
        "page": Case("get", lambda w: reverse("procedures:list"), 200, [(A.VIEW, "schedule")]),
        "bad-date": Case("get", lambda w: reverse("procedures:list") + "?on=x", 400, []),
    },
    "open": {
        "existing": Case("get", lambda w: reverse("procedures:open", args=[w.open.appointment_id]), 302, []),
        "form": Case(
            "get",
            lambda w: reverse("procedures:open", args=[w.clinic.appointment(at=w.open.appointment.starts_at.replace(hour=15)).pk]),
            200,
            [(A.VIEW, "appointment")],
        ),
        "open": Case(
            "post",
            lambda w: reverse("procedures:open", args=[w.clinic.appointment(at=w.open.appointment.starts_at.replace(hour=15)).pk]),
            302,
            [(A.VIEW, "appointment"), (A.UPDATE, "appointment"), (A.CREATE, REC)],
        ),
    },
    "detail": {
        "chart": Case("get", at("detail"), 200, [(A.VIEW, REC)]),
        "chart-htmx": Case("get", at("detail"), 200, [(A.VIEW, REC)], htmx=True),
        "signed": Case("get", at("detail", "signed"), 200, [(A.VIEW, REC)]),
        "receptionist": Case("get", at("detail"), 403, [], who="receptionist"),
    },
    "step": {
        "save": Case("post", at("step", "open", "consent"), 302, [(A.UPDATE, REC)], data=lambda w: {"consent-confirmed": "on"}),
        "save-htmx": Case(
            "post",
            at("step", "open", "consent"),
            200,
            [(A.UPDATE, REC), (A.VIEW, REC)],
            data=lambda w: {"consent-confirmed": "on"},
            htmx=True,
        ),
        "invalid": Case("post", at("step", "open", "consent"), 400, [(A.VIEW, REC)], data=lambda w: {}),
        "refused": Case("post", at("step", "open", "antisepsis"), 409, [(A.VIEW, REC)], data=lambda w: {"antisepsis-confirmed": "on"}),
    },
    "treatment-delete": {
        "remove": Case(
            "post",
            lambda w: reverse("procedures:treatment-delete", args=[w.charted.pk, w.charted.treatments.get().pk]),
            302,
            [(A.DELETE, REC)],
        ),
        "unknown": Case("post", at("treatment-delete", "charted", 999999), 400, [(A.VIEW, REC)]),
    },
    "sign": {
        "confirm-page": Case("get", at("sign", "charted"), 200, [(A.VIEW, REC)]),
        "sign": Case(
            "post",
            at("sign", "charted"),
            302,
            [(A.UPDATE, "lot"), (A.UPDATE, REC), (A.UPDATE, "appointment")],
            subset=True,
            data=lambda w: {"confirmed": "yes"},
        ),
        "missing-steps": Case("post", at("sign", "open"), 409, [(A.VIEW, REC)], data=lambda w: {"confirmed": "yes"}),
    },
    "amend": {
        "form": Case("get", at("amend", "signed"), 200, [(A.VIEW, REC)]),
        "amend": Case("post", at("amend", "signed"), 302, [(A.UPDATE, REC)], data=amend_data),
        "invalid": Case("post", at("amend", "signed"), 400, [(A.VIEW, REC)], data=lambda w: {"target": "", "new_value": "", "reason": ""}),
    },
}


def test_every_view_has_audit_cases():
    _prefix, resolver = get_resolver().namespace_dict["procedures"]
    names = {pattern.name for pattern in resolver.url_patterns if isinstance(pattern, URLPattern)}
    assert names == set(CASES), f"add audit cases for {sorted(names - set(CASES))}"


@pytest.fixture
def world(clinic, clock) -> World:
    start = TEN
    signed = chart_fully(clinic.nurse_ctx, clinic.record(at=start), clock, lot=clinic.lot)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=signed)
    charted = chart_fully(clinic.nurse_ctx, clinic.record(at=start + timedelta(hours=1)), clock, lot=clinic.lot)
    return World(clinic=clinic, open=clinic.record(at=start + timedelta(hours=2)), charted=charted, signed=signed)


@pytest.mark.parametrize(("name", "label"), [pytest.param(n, label, id=f"{n}-{label}") for n, cases in CASES.items() for label in cases])
def test_each_screen_leaves_its_audit_rows(client, world, name, label):
    case = CASES[name][label]
    user = getattr(world.clinic, case.who)
    client.force_login(user)
    url = case.url(world)
    before = set(AuditEvent.objects.values_list("id", flat=True))
    send = client.post if case.method == "post" else client.get
    kwargs = {"data": case.data(world)} if case.data else {}
    response = send(url, headers={"HX-Request": "true"} if case.htmx else {}, **kwargs)
    assert response.status_code == case.status
    new = list(AuditEvent.objects.exclude(id__in=before).order_by("id"))
    written = [(event.action, event.object_type) for event in new]
    if case.subset:
        assert set(case.rows) <= set(written)
    else:
        assert written == case.rows
    assert all(event.actor == user for event in new)
    patient_rows = [event for event in new if event.object_type == REC]
    assert all(event.patient_id == world.clinic.patient.pk for event in patient_rows)
    if case.status >= 400:
        assert not [event for event in new if event.action in (A.CREATE, A.UPDATE, A.DELETE)]
