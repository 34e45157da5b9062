"""In Chromium, the golden path's session day: a nurse opens the chart from the day's sessions,
re-screens, confirms consent and photos, numbs at 10:00 — injections stay locked until 10:30 —
swabs, and with the clock moved past the wait charts Dermapen rolling at 1 mm with the product's
lot, volume and cartridge, records the redness and signs. The stock moves (the lot's ledger shows
the use) and the course shows "1 of 6". The server's clock is frozen (time-machine, tick=False)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from playwright.sync_api import expect

from mesoclinic.courses.tests.factories import hair_clinic, screen
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.tests.screens import snap
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.scheduling.tests.factories import DeviceFactory, PatientFactory, RoomFactory

from .browser_steps import chart_up_to_the_injections, record_mild_redness, swab_after_the_wait
from .conftest import LONDON, Clinic
from .factories import book_hair_course, cartridge_lot, make_lot, product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DAY = date(2026, 3, 10)


def test_a_nurse_charts_the_session_day_and_signs(page, sign_in, request, location, receptionist):
    with time_machine.travel(datetime(2026, 3, 9, 12, 0, tzinfo=LONDON), tick=False) as clock:
        doctor, nurse = hair_clinic(location)
        patient = PatientFactory(location=location, given_name="Amelia", family_name="Hart")
        screen(doctor, patient)
        clinic = Clinic(
            location=location,
            doctor=doctor,
            nurse=nurse,
            receptionist=receptionist,
            room=RoomFactory(location=location, name="Room A"),
            dermapen=DeviceFactory(location=location, serial_number="DP4-LDN-001"),
            patient=patient,
            lot=make_lot(location, product=product(), quantity="20", lot_number="HRC-2602", expires_on=DAY + timedelta(days=300)),
            soon_lot=make_lot(location, product=product(), quantity="10", lot_number="HRC-2501", expires_on=DAY + timedelta(days=30)),
            medicine_lot=make_lot(location, product=product("hair_loss_medicine_solution"), quantity="10", lot_number="MED-1"),
            cartridge_lot=cartridge_lot(location, lot_number="CART-77"),
        )
        course, appointments = book_hair_course(clinic, start_on=DAY, at=time(10, 0))
        assert appointments[0].practitioner == nurse and clinic.location.local(appointments[0].starts_at).time() == time(10, 0)
        clock.move_to(datetime(2026, 3, 10, 9, 58, tzinfo=LONDON))

        sign_in(nurse)
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions", exact=True).click()
        page.get_by_role("link", name="Open the chart").first.click()
        page.get_by_role("button", name="Open the chart").click()
        page.wait_for_url(re.compile(r"/sessions/\d+/$"))
        record = ProcedureRecord.objects.get()
        expect(page.get_by_text("0 of 8")).to_be_visible()

        # 1–6. Re-screen, consent and photos (placeholders), numbing at 10:00, the swab: locked until 10:30.
        chart_up_to_the_injections(page, clock, numbing_at=datetime(2026, 3, 10, 10, 0, tzinfo=LONDON))
        snap(page, request, "locked")

        clock.move_to(datetime(2026, 3, 10, 10, 31, tzinfo=LONDON))
        page.reload()
        swab_after_the_wait(page)
        area = page.locator("#step-treatment")
        area.get_by_label("Technique").select_option("dermapen_rolling")
        area.get_by_label("Needle depth (mm)").fill("1.6")  # deeper than the scalp's 0.5–1.5 mm
        area.get_by_label("Passes").fill("3")
        area.get_by_label("Dermapen speed").fill("8")
        assert area.get_by_label("Lot of product 1").input_value() == str(clinic.soon_lot.pk)  # the soonest-expiring lot first
        area.get_by_label("Volume of product 1 (ml)").fill("2.5")
        area.get_by_label("Needles or cartridges 1").select_option(str(clinic.cartridge_lot.pk))
        area.get_by_label("How many (1)").fill("1")
        area.get_by_role("button", name="Save this area").click()
        summary = page.locator("#step-treatment [data-error-summary]")  # the card's errors, all at once, in view and focused
        summary.get_by_role("link", name="Needle depth (mm): 1.6 mm is outside the protocol's depth for Scalp (0.5–1.5 mm).").wait_for()
        expect(summary).to_be_focused()
        expect(summary).to_be_in_viewport()
        expect(page.get_by_role("alert").filter(has_text="That was not saved")).to_be_visible()
        snap(page, request, "depth-refused")
        area = page.locator("#step-treatment")
        area.get_by_label("Needle depth (mm)").fill("1.0")
        area.get_by_role("button", name="Save this area").click()
        page.locator("#step-treatment .done-badge").wait_for()
        assert "HRC-2501" in page.locator("#step-treatment article").inner_text()
        # 7. Reactions.
        record_mild_redness(page)
        snap(page, request, "ready-to-sign")

        # 8. Sign-off.
        clock.move_to(datetime(2026, 3, 10, 10, 50, tzinfo=LONDON))
        page.get_by_role("link", name="Review and sign the session…").click()
        page.get_by_role("button", name="Sign and lock the record").click()
        page.get_by_text("Signed. The record is locked").wait_for()
        expect(page.get_by_text("1 of 6")).to_be_visible()
        record.refresh_from_db()
        assert record.status == ProcedureRecord.Status.SIGNED
        assert Lot.objects.get(pk=clinic.soon_lot.pk).on_hand == Decimal("7.50")
        snap(page, request, "signed")

        page.goto(reverse("inventory:lot-detail", args=[clinic.soon_lot.pk]))
        ledger = page.locator("table").last.inner_text()
        assert "Used in a session" in ledger and "-2.5" in ledger and f"Session record {record.pk} · Amelia HART" in ledger
        snap(page, request, "lot-ledger")

        page.goto(reverse("courses:detail", args=[course.pk]))
        expect(page.get_by_text("1 of 6").first).to_be_visible()
