from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.core.tests.factories import DeviceFactory, LocationFactory, RoomFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling.models import Appointment
from mesoclinic.scheduling.slots import Slot

from .conftest import at
from .factories import AppointmentFactory, practitioner_at

URL = "/schedule/appointments/new/"


def details(clinic, **overrides):
    data = {
        "location": clinic.location.pk,
        "patient": clinic.patient.pk,
        "kind": "treatment",
        "numbing_minutes": 30,
        "procedure_minutes": 30,
        "on": "2026-03-03",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def slot_value(clinic, starts_at=None, practitioner=None, room=None, device=None):
    return Slot(
        starts_at=starts_at or at(3, 10),
        resource_starts_at=starts_at or at(3, 10),
        ends_at=starts_at or at(3, 11),
        practitioner_id=(practitioner or clinic.nurse).pk,
        room_id=(room or clinic.room).pk,
        device_id=device.pk if device else None,
    ).value


@pytest.fixture
def signed_in(client, clinic):
    client.force_login(clinic.ctx.actor)
    return client


def test_step_one_finds_the_patient(signed_in, clinic):
    response = signed_in.get(URL, {"location": clinic.location.pk, "q": "hart"})
    assert response.status_code == 200
    assert f"patient={clinic.patient.pk}" in response.content.decode()


def test_the_htmx_patient_search_returns_the_results_fragment(signed_in, clinic):
    for url in (URL, reverse("scheduling:waitlist-new")):
        response = signed_in.get(url, {"location": clinic.location.pk, "q": "hart"}, HTTP_HX_REQUEST="true")
        body = response.content.decode()
        assert response.status_code == 200 and body.lstrip().startswith('<div id="patient-results"'), url
        assert "Choose Amelia Hart" in body


def test_step_two_lists_free_times_for_the_chosen_day(signed_in, clinic):
    AppointmentFactory(location=clinic.location, practitioner=clinic.nurse, room=clinic.room, starts_at=at(3, 8))
    response = signed_in.get(URL, details(clinic, practitioner=clinic.nurse.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<strong>08:30</strong>" in body and "<strong>08:00</strong>" not in body  # 08:00–08:30 is taken
    assert body.count('name="slot"') == len(range(8 * 60 + 30, 19 * 60 + 1, 15))


def test_the_htmx_slot_request_returns_the_fragment(signed_in, clinic):
    response = signed_in.get(URL, details(clinic), HTTP_HX_REQUEST="true")
    assert response.content.decode().lstrip().startswith('<section class="card" id="slots"')


def test_booking_a_free_time_books_it_and_shows_the_appointment(signed_in, clinic):
    response = signed_in.post(URL, {**details(clinic), "slot": slot_value(clinic), "notes": "prefers mornings"})
    appointment = Appointment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scheduling:appointment-detail", args=[appointment.pk])
    assert (appointment.starts_at, appointment.practitioner, appointment.room, appointment.notes) == (
        at(3, 10),
        clinic.nurse,
        clinic.room,
        "prefers mornings",
    )
    page = signed_in.get(response["Location"])
    assert "Tuesday 3 March 2026, 10:00" in page.content.decode()


def test_a_slot_taken_meanwhile_answers_409_with_the_next_free_times(signed_in, clinic):
    AppointmentFactory(location=clinic.location, practitioner=clinic.nurse, room=clinic.room2, starts_at=at(3, 10))
    response = signed_in.post(URL, {**details(clinic), "slot": slot_value(clinic)})
    assert response.status_code == 409
    body = response.content.decode()
    assert "This slot is not free: Nadia Brooks is already booked then." in body
    assert "Next free times" in body
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    "bad",
    [
        {"numbing_minutes": "abc"},
        {"numbing_minutes": "-5"},
        {"procedure_minutes": "100000"},
        {"kind": "surgery"},
        {"on": "31/02/2026"},
        {"on": "2026-02-01"},  # in the past
        {"patient": "999999999"},
        {"patient": "9" * 30},
        {"slot": ""},
        {"slot": "garbage"},
        {"slot": "2026-03-03T10:00:00|x|1|"},
        {"slot": "2026-03-03T10:00:00|1|1|"},  # no time zone
        {"notes": "x" * 1001},
    ],
)
def test_bad_input_answers_400_and_books_nothing(signed_in, clinic, bad):
    data = {**details(clinic), "slot": slot_value(clinic), **bad}
    response = signed_in.post(URL, data)
    assert response.status_code == 400, bad
    assert not Appointment.objects.exists()


def test_another_locations_patient_room_or_practitioner_is_refused(signed_in, clinic):
    elsewhere = LocationFactory()
    cases = [
        {"patient": PatientFactory(location=elsewhere).pk},
        {"slot": slot_value(clinic, room=RoomFactory(location=elsewhere))},
        {"slot": slot_value(clinic, device=DeviceFactory(location=elsewhere))},
        {"slot": slot_value(clinic, practitioner=practitioner_at(elsewhere))},
        {"location": elsewhere.pk},
        {"location": "x"},
    ]
    for case in cases:
        response = signed_in.post(URL, {**details(clinic), "slot": slot_value(clinic), **case})
        assert response.status_code in (400, 404), case
    assert not Appointment.objects.exists()


def test_a_rule_refusal_is_a_clear_400(signed_in, clinic):
    response = signed_in.post(URL, {**details(clinic), "slot": slot_value(clinic, starts_at=at(3, 19, 30))})
    assert response.status_code == 400
    assert "is open 08:00–20:00 on Tuesdays" in response.content.decode()


def test_a_doctor_can_book_but_an_admin_cannot(client, clinic):
    client.force_login(clinic.doctor)
    assert client.get(URL).status_code == 200
    from mesoclinic.accounts.roles import Role
    from mesoclinic.accounts.tests.factories import UserFactory

    client.force_login(UserFactory(role=Role.ADMIN, locations=[clinic.location]))
    assert client.get(URL).status_code == 403


def test_another_locations_appointment_answers_404_everywhere(signed_in, clinic):
    elsewhere = LocationFactory()
    foreign = AppointmentFactory(location=elsewhere, starts_at=at(3, 10))
    for name in ("appointment-detail", "appointment-reschedule"):
        assert signed_in.get(reverse(f"scheduling:{name}", args=[foreign.pk])).status_code == 404
    for name in ("appointment-cancel", "appointment-check-in", "appointment-no-show", "series-shift"):
        assert signed_in.post(reverse(f"scheduling:{name}", args=[foreign.pk]), {"reason": "x", "from": "1"}).status_code == 404
    assert signed_in.get(reverse("scheduling:appointment-detail", args=[2**63])).status_code in (400, 404)


def test_pages_that_show_a_patient_write_an_audit_row(signed_in, clinic):
    from mesoclinic.core.models import AuditEvent

    signed_in.get(URL, details(clinic))
    signed_in.get(reverse("scheduling:waitlist-new"), {"location": clinic.location.pk, "patient": clinic.patient.pk})
    appointment = AppointmentFactory(
        location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(4, 10)
    )
    signed_in.get(reverse("scheduling:appointment-reschedule", args=[appointment.pk]))
    signed_in.get(reverse("scheduling:appointment-detail", args=[appointment.pk]))
    screens = list(AuditEvent.objects.filter(patient_id=clinic.patient.pk, action="view").values_list("object_type", "detail"))
    assert ("patient", {"screen": "booking"}) in screens
    assert ("patient", {"screen": "waitlist"}) in screens
    assert ("patient", {"screen": "reschedule"}) in screens
    assert any(kind == "appointment" for kind, _ in screens)


@pytest.mark.parametrize("params", [{"on": "garbage"}, {"on": "2020-01-01"}, {"practitioner": "x"}])
def test_the_reschedule_screen_answers_bad_input_with_400(signed_in, clinic, params):
    appointment = AppointmentFactory(
        location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(4, 10)
    )
    url = reverse("scheduling:appointment-reschedule", args=[appointment.pk])
    assert signed_in.get(url, params).status_code == 400
    assert signed_in.post(url, {"on": "2026-03-05", "slot": "nonsense", **params}).status_code == 400
    appointment.refresh_from_db()
    assert appointment.starts_at == at(4, 10)


def test_the_series_shift_screen_needs_a_valid_from(signed_in, clinic):
    appointment = AppointmentFactory(
        location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(4, 10)
    )
    url = reverse("scheduling:series-shift", args=[appointment.pk])
    for raw in ("", "abc", "9" * 40):
        assert signed_in.get(url, {"from": raw}).status_code == 400
