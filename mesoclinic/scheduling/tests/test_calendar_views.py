from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.tests.factories import LocationFactory, RoomFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import selectors

from .conftest import at
from .factories import AppointmentFactory


def fill_day(clinic, count: int, day: int = 2, hour: int = 8):
    for n in range(count):
        AppointmentFactory(
            location=clinic.location,
            patient=PatientFactory(location=clinic.location),
            practitioner=clinic.nurse if n % 2 else clinic.doctor,
            room=clinic.room if n % 2 else clinic.room2,
            starts_at=at(day, hour) + timedelta(minutes=30 * (n // 2)),
        )


def test_the_day_calendar_shows_the_days_appointments_in_local_time(client, clinic):
    AppointmentFactory(location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(2, 10))
    client.force_login(clinic.ctx.actor)
    response = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, "on": "2026-03-02"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "10:00–10:30 HART" in body
    assert "Nadia Brooks" in body and "Daniela Ortega" in body  # one column per practitioner
    event = AuditEvent.objects.filter(object_type="schedule").latest("id")
    assert event.detail == {"screen": "day", "on": "2026-03-02", "appointments": 1}


def test_the_day_calendar_can_show_rooms_or_devices_as_columns_and_filter(client, clinic):
    AppointmentFactory(location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room2, starts_at=at(2, 11))
    client.force_login(clinic.ctx.actor)
    by_room = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, "on": "2026-03-02", "by": "room"}).content.decode()
    assert "Room A" in by_room and "Room B" in by_room
    filtered = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, "on": "2026-03-02", "room": clinic.room.pk})
    assert "HART" not in filtered.content.decode()


def test_the_day_calendar_query_count_does_not_grow_with_the_appointments(client, clinic, django_assert_max_num_queries):
    client.force_login(clinic.ctx.actor)
    url = reverse("scheduling:day")
    params = {"location": clinic.location.pk, "on": "2026-03-02"}
    fill_day(clinic, 2)
    with CaptureQueriesContext(connection) as few:
        client.get(url, params)
    fill_day(clinic, 36, day=2, hour=9)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url, params).status_code == 200
    assert len(many) == len(few)


def test_the_week_calendar_lists_each_day_with_local_times(client, clinic):
    AppointmentFactory(
        location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(4, 9, 15)
    )
    client.force_login(clinic.ctx.actor)
    response = client.get(reverse("scheduling:week"), {"location": clinic.location.pk, "on": "2026-03-05"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Week of 2 March 2026" in body
    assert "<strong>09:15</strong> HART" in body


def test_the_week_calendar_query_count_does_not_grow(client, clinic):
    client.force_login(clinic.ctx.actor)
    url = reverse("scheduling:week")
    params = {"location": clinic.location.pk, "on": "2026-03-02"}
    fill_day(clinic, 2)
    with CaptureQueriesContext(connection) as few:
        client.get(url, params)
    for day in (3, 4, 5):
        fill_day(clinic, 10, day=day)
    with CaptureQueriesContext(connection) as many:
        client.get(url, params)
    assert len(many) == len(few)


def test_appointments_for_day_uses_one_query(clinic, django_assert_num_queries):
    fill_day(clinic, 20)
    with django_assert_num_queries(1):
        rows = selectors.appointments_for_day(scope=frozenset({clinic.location.pk}), location=clinic.location, on=date(2026, 3, 2))
        names = [(a.patient.family_name, a.practitioner.last_name, a.room.name, a.device) for a in rows]
    assert len(names) == 20


def test_a_location_outside_the_users_scope_answers_404(client, clinic):
    client.force_login(clinic.ctx.actor)
    other = LocationFactory()
    for name in ("scheduling:day", "scheduling:week"):
        assert client.get(reverse(name), {"location": other.pk}).status_code == 404
        assert client.get(reverse(name), {"location": "abc"}).status_code == 404
        assert client.get(reverse(name), {"location": "9" * 40}).status_code == 404


def test_bad_filters_answer_400_and_still_show_the_calendar(client, clinic):
    client.force_login(clinic.ctx.actor)
    other_room = RoomFactory(location=LocationFactory())
    for params in ({"on": "not-a-date"}, {"room": other_room.pk}, {"practitioner": "x"}, {"on": "3000-01-01"}, {"by": "patient"}):
        response = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, **params})
        assert response.status_code == 400, params
        assert b"Some filters were not understood" in response.content


def test_the_calendar_needs_a_signed_in_user_with_the_schedule_permission(client, clinic):
    assert client.get(reverse("scheduling:day")).status_code == 302
    admin = UserFactory(role=Role.ADMIN, locations=[clinic.location])
    client.force_login(admin)
    assert client.get(reverse("scheduling:day")).status_code == 403


def test_the_htmx_request_gets_only_the_calendar_fragment(client, clinic):
    client.force_login(clinic.ctx.actor)
    response = client.get(reverse("scheduling:day"), {"location": clinic.location.pk}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="calendar">')
    assert "<html" not in body


def test_the_patient_page_lists_the_patients_appointments(client, clinic):
    AppointmentFactory(location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(3, 10))
    client.force_login(clinic.ctx.actor)
    response = client.get(reverse("patients:detail", args=[clinic.patient.pk]))
    body = response.content.decode()
    assert "Appointments" in body
    assert "Tue 3 Mar 2026 10:00" in body
    assert "Book an appointment" in body


@pytest.mark.parametrize("path", ["scheduling:home", "scheduling:day", "scheduling:week"])
def test_the_schedule_opens_for_a_receptionist(client, clinic, path):
    client.force_login(clinic.ctx.actor)
    response = client.get(reverse(path), follow=True)
    assert response.status_code == 200


def test_names_on_the_calendar_are_escaped(client, clinic):
    patient = PatientFactory(location=clinic.location, given_name='<img src=x onerror="alert(1)">', family_name="<b>O'Brien</b>")
    AppointmentFactory(location=clinic.location, patient=patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(2, 10))
    client.force_login(clinic.ctx.actor)
    for name in ("scheduling:day", "scheduling:week"):
        body = client.get(reverse(name), {"location": clinic.location.pk, "on": "2026-03-02"}).content.decode()
        assert "<B>O" not in body and "<b>O" not in body and "<img" not in body, name
        assert "&lt;B&gt;O&#x27;BRIEN&lt;/B&gt;" in body, name


def test_the_toolbar_keeps_the_chosen_filters_selected(client, clinic):
    client.force_login(clinic.ctx.actor)
    body = client.get(
        reverse("scheduling:day"), {"location": clinic.location.pk, "practitioner": clinic.doctor.pk, "by": "room"}
    ).content.decode()
    assert f'<option value="{clinic.doctor.pk}" selected>Daniela Ortega</option>' in body
    assert '<option value="room" selected>Rooms</option>' in body
    assert '<select name="practitioner" id="id_practitioner">' in body


def test_the_week_view_caps_each_busy_day_and_links_to_the_day_view(client, clinic, monkeypatch):
    from mesoclinic.scheduling import views

    monkeypatch.setattr(views, "WEEK_PER_DAY", 5)
    fill_day(clinic, 12, day=3)
    client.force_login(clinic.ctx.actor)
    body = client.get(reverse("scheduling:week"), {"location": clinic.location.pk, "on": "2026-03-03"}).content.decode()
    assert "(5+)" in body and "More on the day view" in body
    assert body.count('<li class="treatment">') == 5


def test_a_former_practitioners_and_a_retired_rooms_bookings_keep_their_names(client, clinic):
    """The calendar takes names from the filters' lists; bookings outside them are named all the same."""
    AppointmentFactory(location=clinic.location, patient=clinic.patient, practitioner=clinic.nurse, room=clinic.room, starts_at=at(2, 10))
    clinic.nurse.is_active = False
    clinic.nurse.save(update_fields=["is_active"])
    clinic.room.is_active = False
    clinic.room.save(update_fields=["is_active"])
    client.force_login(clinic.ctx.actor)
    body = client.get(reverse("scheduling:day"), {"location": clinic.location.pk, "on": "2026-03-02"}).content.decode()
    assert "Nadia Brooks" in body and clinic.room.name in body
    week = client.get(reverse("scheduling:week"), {"location": clinic.location.pk, "on": "2026-03-02"}).content.decode()
    assert "10:00</strong> HART, A. · Brooks" in week
