"""Property test: any sequence of book / reschedule / cancel keeps every invariant.

A model of the active bookings runs beside the real services. After every step: the services
accepted exactly what the model says is free (no double booking, and no false refusal), and the
table holds no overlap for any practitioner, room, device or patient. Runs on SQLite (the
serialised check) and on PostgreSQL (the exclusion constraints).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, rule, run_state_machine_as_test

from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import Appointment, SchedulingPolicy

from .conftest import at
from .invariants import overlaps

pytestmark = pytest.mark.django_db

STARTS = [at(2, 8) + timedelta(minutes=15 * n) for n in range(16)]  # 08:00–11:45 on Monday 2 March 2026


def clash(a, b) -> bool:
    resources = a["practitioner"] == b["practitioner"] or a["room"] == b["room"] or (a["device"] is not None and a["device"] == b["device"])
    resource_overlap = a["resource_start"] < b["end"] and b["resource_start"] < a["end"]
    patient_overlap = a["patient"] == b["patient"] and a["start"] < b["end"] and b["start"] < a["end"]
    return (resources and resource_overlap) or patient_overlap


def machine_for(clinic):
    patients = [clinic.patient, PatientFactory(location=clinic.location), PatientFactory(location=clinic.location)]
    practitioners = [clinic.nurse, clinic.doctor]
    rooms = [clinic.room, clinic.room2]

    class BookingMachine(RuleBasedStateMachine):
        booked = Bundle("booked")

        def __init__(self) -> None:
            super().__init__()
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.model: dict[int, dict] = {}
            self.waiting_area = False

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

        @initialize(waiting_area=st.booleans())
        def policy(self, waiting_area):
            self.waiting_area = waiting_area
            SchedulingPolicy.objects.update_or_create(location=clinic.location, defaults={"numbing_in_waiting_area": waiting_area})

        def planned(self, *, patient, practitioner, room, device, start, numbing, procedure):
            end = start + timedelta(minutes=numbing + procedure)
            resource_start = start + timedelta(minutes=numbing) if self.waiting_area else start
            return {
                "patient": patient.pk,
                "practitioner": practitioner.pk,
                "room": room.pk,
                "device": device.pk if device else None,
                "start": start,
                "resource_start": resource_start,
                "end": end,
            }

        def free(self, wanted, *, ignoring=None) -> bool:
            return not any(clash(wanted, other) for pk, other in self.model.items() if pk != ignoring)

        @rule(
            target=booked,
            patient=st.sampled_from(patients),
            practitioner=st.sampled_from(practitioners),
            room=st.sampled_from(rooms),
            with_device=st.booleans(),
            start=st.sampled_from(STARTS),
            numbing=st.sampled_from([0, 30]),
            procedure=st.sampled_from([15, 30, 60]),
        )
        def book(self, patient, practitioner, room, with_device, start, numbing, procedure):
            device = clinic.dermapen if with_device else None
            wanted = self.planned(
                patient=patient, practitioner=practitioner, room=room, device=device, start=start, numbing=numbing, procedure=procedure
            )
            expected_free = self.free(wanted)
            try:
                appointment = services.book_appointment(
                    ctx=clinic.ctx,
                    location=clinic.location,
                    patient=patient,
                    practitioner=practitioner,
                    room=room,
                    device=device,
                    starts_at=start,
                    kind=Appointment.Kind.TREATMENT,
                    numbing_minutes=numbing,
                    procedure_minutes=procedure,
                )
            except services.SlotUnavailable:
                assert not expected_free, "refused a free slot"
                return None
            assert expected_free, "accepted an overlapping booking"
            self.model[appointment.pk] = wanted
            return appointment.pk

        @rule(pk=booked, start=st.sampled_from(STARTS))
        def reschedule(self, pk, start):
            if pk is None or pk not in self.model:
                return
            appointment = Appointment.objects.get(pk=pk)
            current = self.model[pk]
            wanted = {**current, "start": start, "end": start + (current["end"] - current["start"])}
            wanted["resource_start"] = start + (current["resource_start"] - current["start"])
            expected_free = self.free(wanted, ignoring=pk)
            try:
                services.reschedule_appointment(ctx=clinic.ctx, appointment=appointment, starts_at=start)
            except services.SlotUnavailable:
                assert not expected_free, "refused a free new time"
                return
            assert expected_free, "moved onto an overlapping time"
            self.model[pk] = wanted

        @rule(pk=consumes(booked))
        def cancel(self, pk):
            if pk is None or pk not in self.model:
                return
            services.cancel_appointment(ctx=clinic.ctx, appointment=Appointment.objects.get(pk=pk), reason="property test")
            del self.model[pk]

        @invariant()
        def no_overlaps_and_the_table_matches_the_model(self):
            assert overlaps() == []
            active = dict(Appointment.objects.filter(status__in=Appointment.ACTIVE).values_list("pk", "starts_at"))
            assert active == {pk: booking["start"] for pk, booking in self.model.items()}

    return BookingMachine


def test_any_sequence_of_book_reschedule_cancel_keeps_every_invariant(clinic):
    run_state_machine_as_test(
        machine_for(clinic),
        settings=settings(max_examples=25, stateful_step_count=15, deadline=None, suppress_health_check=[HealthCheck.too_slow]),
    )
