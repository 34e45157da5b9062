from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from mesoclinic.catalog.models import Concern, Technique
from mesoclinic.core.models import AuditEvent
from mesoclinic.courses.models import Course
from mesoclinic.courses.planner import plan_course
from mesoclinic.scheduling.models import Appointment

from .conftest import LONDON
from .factories import AppointmentFactory, PatientFactory, hair, prescribe_hair, screen

pytestmark = pytest.mark.django_db


def prescribe_data(clinic, **overrides):
    data = {
        "location": clinic.location.pk,
        "concern": Concern.objects.get(key="hair_loss").pk,
        "areas": ["scalp"],
        "techniques": [Technique.objects.get(key="dermapen_rolling").pk],
        "sessions": 6,
        "interval_min_days": 28,
        "interval_max_days": 28,
        "preferred_practitioner": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def new_url(patient, protocol=None):
    url = f"{reverse('courses:new')}?patient={patient.pk}"
    return url + (f"&protocol={protocol.pk}" if protocol else "")


def proposal_data(rows, **overrides):
    data = {}
    for row in rows:
        if row.fixed:
            continue
        local = row.slot.starts_at.astimezone(LONDON)
        data[f"s{row.number}-on"] = local.date().isoformat()
        data[f"s{row.number}-at"] = local.strftime("%H:%M")
        data[f"s{row.number}-practitioner"] = str(row.slot.practitioner_id)
    data.update(overrides)
    return data


def test_the_patient_page_offers_a_doctor_to_prescribe_and_lists_courses(client, clinic):
    prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    client.force_login(clinic.doctor)

    page = client.get(reverse("patients:detail", args=[clinic.patient.pk]))

    assert page.status_code == 200
    body = page.content.decode()
    assert "Prescribe a course" in body
    assert "0 of 4" in body
    assert "Session 1 not booked" in body


def test_the_prescription_form_shows_the_screening_verdict_and_prescribes(client, clinic):
    client.force_login(clinic.doctor)

    step1 = client.get(new_url(clinic.patient))
    step2 = client.get(new_url(clinic.patient, hair()))
    posted = client.post(new_url(clinic.patient, hair()), prescribe_data(clinic))

    assert step1.status_code == 200 and "Choose a protocol" in step1.content.decode()
    assert step2.status_code == 200
    assert "Scalp" in step2.content.decode() and "Eligible" in step2.content.decode()
    course = Course.objects.get()
    assert posted.status_code == 302 and posted["Location"] == reverse("courses:detail", args=[course.pk])
    assert (course.sessions_planned, course.interval_min_days, course.interval_max_days) == (6, 28, 28)


def test_the_form_blocks_a_patient_the_screening_does_not_allow(client, clinic):
    patient = PatientFactory(location=clinic.location)
    screen(clinic.doctor, patient, pregnancy=True)
    client.force_login(clinic.doctor)

    page = client.get(new_url(patient, hair()))
    posted = client.post(new_url(patient, hair()), prescribe_data(clinic))

    assert "does not allow this protocol" in page.content.decode()
    assert "disabled" in page.content.decode()
    assert posted.status_code == 409
    assert "Pregnancy" in posted.content.decode()
    assert not Course.objects.exists()


def test_the_course_page_proposes_every_session_and_books_them_in_one_click(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=6)
    client.force_login(clinic.receptionist)

    page = client.get(reverse("courses:detail", args=[course.pk]) + "?start_on=2026-03-03&at_time=10:30")
    rows = plan_course(course=course, start_on=date(2026, 3, 3), at_time=__import__("datetime").time(10, 30))
    booked = client.post(reverse("courses:book", args=[course.pk]), proposal_data(rows))

    body = page.content.decode()
    assert page.status_code == 200
    assert "Book all 6 sessions" in body
    assert body.count("Proposed</span>") == 6
    assert "DP-TEST-1" in body
    assert booked.status_code == 302
    assert Appointment.objects.filter(patient=clinic.patient).count() == 6
    assert Course.objects.get().status == Course.Status.ACTIVE
    shown = client.get(reverse("courses:detail", args=[course.pk])).content.decode()
    assert "Move<span" in shown and "0 of 6" in shown


def test_changing_a_row_rechecks_it_and_shows_why_it_cannot_be_booked(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    rows = plan_course(course=course, start_on=date(2026, 3, 3))
    busy = rows[1].slot
    AppointmentFactory(location=clinic.location, practitioner_id=busy.practitioner_id, room=clinic.room2, starts_at=busy.starts_at)
    client.force_login(clinic.receptionist)

    checked = client.post(reverse("courses:check", args=[course.pk]), proposal_data(rows), HTTP_HX_REQUEST="true")
    refused = client.post(reverse("courses:book", args=[course.pk]), proposal_data(rows))

    body = checked.content.decode()
    assert checked.status_code == 200
    assert "<html" not in body  # the htmx fragment only
    assert "Session 2:" in body and "are not all free" in body
    assert "Free that day:" in body
    assert refused.status_code == 400
    assert not Appointment.objects.filter(patient=clinic.patient).exists()


def test_a_row_outside_its_window_is_flagged(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    rows = plan_course(course=course, start_on=date(2026, 3, 3))
    moved = (rows[2].slot.starts_at.astimezone(LONDON) + timedelta(days=3)).date().isoformat()
    client.force_login(clinic.receptionist)

    checked = client.post(reverse("courses:check", args=[course.pk]), proposal_data(rows, **{"s3-on": moved}))

    assert checked.status_code == 200
    assert "Session 3: Outside this session&#x27;s window" in checked.content.decode()


def test_a_slot_taken_between_proposal_and_booking_answers_409_with_a_new_proposal(client, clinic, monkeypatch):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    rows = plan_course(course=course, start_on=date(2026, 3, 3))
    client.force_login(clinic.receptionist)
    taken = rows[2].slot
    from mesoclinic.courses import services

    real = services.book_course

    def racing(**kwargs):  # another receptionist takes session 3's slot after the rows were checked
        AppointmentFactory(
            location=clinic.location, practitioner_id=taken.practitioner_id, room_id=taken.room_id, starts_at=taken.starts_at
        )
        return real(**kwargs)

    monkeypatch.setattr(services, "book_course", racing)
    response = client.post(reverse("courses:book", args=[course.pk]), proposal_data(rows))

    body = response.content.decode()
    assert response.status_code == 409
    assert "Session 3&#x27;s slot was just taken" in body
    assert "Nothing was booked" in body
    assert not Appointment.objects.filter(patient=clinic.patient).exists()
    assert "Book all 4 sessions" in body


def test_moving_a_booked_session_previews_and_shifts_the_later_ones(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4, interval=(21, 28))
    from mesoclinic.courses.services import book_course

    rows = plan_course(course=course, start_on=date(2026, 3, 3), at_time=__import__("datetime").time(10, 30))
    book_course(ctx=clinic.ctx, course=course, proposals=rows)
    client.force_login(clinic.receptionist)
    url = reverse("courses:session-move", args=[course.pk, 2])
    data = {"on": "2026-03-31", "at": "10:30", "practitioner": str(rows[1].slot.practitioner_id)}

    form = client.get(url)
    preview = client.post(url, data)
    done = client.post(url, {**data, "confirm": "1"})

    assert form.status_code == 200
    assert preview.status_code == 200
    assert "shift 2 later sessions" in preview.content.decode()
    assert done.status_code == 302
    days = [a.starts_at.astimezone(LONDON).date() for a in Appointment.objects.filter(patient=clinic.patient).order_by("starts_at")]
    assert days == [date(2026, 3, 3), date(2026, 3, 31), date(2026, 4, 21), date(2026, 5, 12)]


def test_a_doctor_stops_a_course_and_its_future_sessions_are_cancelled(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    from mesoclinic.courses.services import book_course

    book_course(ctx=clinic.ctx, course=course, proposals=plan_course(course=course, start_on=date(2026, 3, 3)))
    client.force_login(clinic.doctor)

    response = client.post(reverse("courses:stop", args=[course.pk]), {"reason": "Patient moved abroad."})

    assert response.status_code == 302
    course.refresh_from_db()
    assert course.status == Course.Status.STOPPED
    assert set(Appointment.objects.filter(patient=clinic.patient).values_list("status", flat=True)) == {"cancelled"}


def test_every_course_read_is_audited(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    client.force_login(clinic.receptionist)
    before = AuditEvent.objects.filter(object_type="course", action=AuditEvent.Action.VIEW).count()

    client.get(reverse("courses:detail", args=[course.pk]))
    client.post(reverse("courses:check", args=[course.pk]), {})

    events = AuditEvent.objects.filter(object_type="course", action=AuditEvent.Action.VIEW).order_by("id")[before:]
    assert [e.detail["screen"] for e in events] == ["course", "course-plan"]
    assert all(e.patient_id == clinic.patient.pk and e.actor == clinic.receptionist for e in events)
