"""The golden path of docs/golden-path.md in Chromium, for one patient, end to end through the staff and
public screens — so a regression anywhere along the chain fails this one test.

Only the clinic is set up in Python (the default catalog; a London location open every day; a
doctor, a nurse, a receptionist and a manager; two rooms, a Dermapen; a lot of the hair cocktail and
one of Dermapen cartridges; who is qualified for the hair protocol). From then on every step is a
click on a screen, and each step works on what the previous one left:

* (registration) the receptionist registers Amelia Hart — the stand-in for step 1;
* step 2: the doctor finds her, screens her (every contraindication answered "no") and sees the
  verdict with its reasons;
* step 3: the doctor prescribes the hair course (scalp, Dermapen, 6 sessions every 4 weeks, the
  nurse preferred); the receptionist proposes from 10:00 and books all six in one step;
* step 5: on the day of session 1 the receptionist checks her in from the day calendar; the nurse
  opens *that* appointment's chart from the day's sessions, re-screens, numbs at 10:00 — the
  treatment stays locked until 10:30 — swabs, charts the scalp with the lot, records the redness
  and signs; the lot's ledger shows the use and the course shows "1 of 6";
* step 6: the aftercare e-mail leaves at sign-off with real times (the tests' task backend runs
  the delivery in-process; the real worker process is walked in aftercare's browser test), the
  nurse prints the handout PDF from the patient page, six hours later the check-in goes out (this
  test plays the worker with one outbox sweep), the patient answers "It is worse" on the public link, the follow-up is on the
  nurses' worklist and is recorded as an adverse event tied to the session and the lot;
* step 8: the manager searches the lot on the recall screen and finds this patient and session.

The server's clock is frozen and moved with time-machine (the live server runs in this process).

Not walked, because they are not built yet: step 1 (the public enquiry with self-screening),
step 4 (the consent form; the chart's consent card is a placeholder), step 7 (photos and scores
across the course; the chart's photos card is a placeholder) and step 9 (the FHIR export).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from playwright.sync_api import expect

from mesoclinic.aftercare.models import AftercareHandout, FollowUp
from mesoclinic.aftercare.tests.test_browser_aftercare_and_recall import render_pdf_page
from mesoclinic.conftest import ARTIFACTS
from mesoclinic.courses.models import Course
from mesoclinic.courses.tests.factories import DeviceFactory, RoomFactory, hair_clinic
from mesoclinic.inventory.models import Lot
from mesoclinic.messaging import delivery
from mesoclinic.messaging.senders import LocmemSmsBackend
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.screens import snap
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.procedures.tests.browser_steps import chart_up_to_the_injections, record_mild_redness, swab_after_the_wait
from mesoclinic.procedures.tests.factories import cartridge_lot, make_lot, product
from mesoclinic.safety.models import AdverseEvent
from mesoclinic.scheduling.models import Appointment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONDON = ZoneInfo("Europe/London")
HAIR = "Hair meso — vitamin and amino-acid cocktail"
LOT = "HRC-2602"
EMAIL = "amelia.hart@example.com"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in London in March 2026 (before the change to summer time on the 29th)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=LONDON)


def test_one_patient_walks_the_golden_path_from_screening_to_lot_recall(
    page, sign_in, live_server, location, receptionist, manager, request, settings
):
    settings.MESOCLINIC_PUBLIC_URL = live_server.url  # the links in messages point at this server
    settings.MESOCLINIC_SMS_BACKEND = "locmem"
    LocmemSmsBackend.reset()

    def shot(step: str) -> None:
        page.wait_for_load_state()  # a full-page shot taken before "load" can be cut short at the bottom
        snap(page, request, step)

    def as_user(user) -> None:
        """Another person at another screen: nobody is signed in, then `user` signs in."""
        page.context.clear_cookies()
        sign_in(user)

    def nav(name: str) -> None:
        page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()

    def open_patient(query: str = "hart amelia") -> None:
        nav("Patients")
        page.get_by_role("searchbox").fill(query)
        page.get_by_role("link", name="HART, Amelia").click()
        page.get_by_role("heading", name="Amelia HART").wait_for()

    with time_machine.travel(at(2, 8, 0), tick=False) as clock:
        # --- The clinic (the only set-up outside the screens) -----------------------------------
        doctor, nurse = hair_clinic(location)
        RoomFactory(location=location, name="Treatment room 1")
        RoomFactory(location=location, name="Treatment room 2")
        DeviceFactory(location=location, serial_number="DP4-LDN-001")
        make_lot(location, product=product(), quantity="20", lot_number=LOT, expires_on=at(2, 8).date() + timedelta(days=300))
        cartridges = cartridge_lot(location, lot_number="CART-77")

        # --- Registration (stand-in for step 1): the receptionist registers the patient ----------
        as_user(receptionist)
        nav("Patients")
        page.get_by_role("link", name="Register a patient").click()
        page.get_by_label("Given name").fill("Amelia")
        page.get_by_label("Family name").fill("Hart")
        page.get_by_label("Date of birth").fill("1989-05-14")
        page.get_by_label("Phone").fill("+44 7700 900123")
        page.get_by_label("E-mail").fill(EMAIL)
        page.get_by_role("button", name="Register").click()
        page.get_by_text("Registered Amelia Hart").wait_for()
        patient = Patient.objects.get()

        # --- Step 2: the doctor screens her in person -----------------------------------------
        as_user(doctor)
        open_patient()
        page.get_by_text("Not screened").first.wait_for()
        page.get_by_role("link", name="Screen", exact=True).click()
        page.get_by_role("heading", name="Screen Amelia Hart").wait_for()
        questions = page.locator("fieldset.question")
        assert questions.count() > 5
        for index in range(questions.count()):
            questions.nth(index).get_by_label("No", exact=True).check()
        shot("02-screening-questions")
        page.get_by_role("button", name="Record screening").click()
        page.get_by_role("heading", name="Why").wait_for()
        expect(page.get_by_text("No contraindication applies")).to_be_visible()
        assert "Eligible" in page.get_by_role("row").filter(has_text=HAIR).first.inner_text()
        shot("02-screening-verdict")

        # --- Step 3: the doctor prescribes the course … ------------------------------------------
        page.get_by_role("link", name="Amelia Hart").first.click()
        page.get_by_role("link", name="Prescribe a course").click()
        page.get_by_label("Protocol").select_option(label=HAIR)
        page.get_by_role("button", name="Continue").click()
        page.get_by_text("Screening verdict for Hair meso").wait_for()
        assert page.get_by_label("Scalp").is_checked()
        page.get_by_label("Dermapen, rolling").check()
        page.get_by_label("Number of sessions").fill("6")
        page.get_by_label("Shortest interval (days)").fill("28")
        page.get_by_label("Longest interval (days)").fill("28")
        page.get_by_label("Preferred practitioner").select_option(label="Nadia Brooks (Nurse / practitioner)")
        shot("03-prescribe")
        page.get_by_role("button", name="Prescribe the course").click()
        page.get_by_text("Course prescribed: 6 sessions").wait_for()

        # … and the receptionist books all six in one step, from 10:00.
        as_user(receptionist)
        open_patient()
        page.get_by_role("link", name=HAIR).click()
        page.get_by_role("button", name="Book all 6 sessions").wait_for()
        page.get_by_label("Preferred time").fill("10:00")
        page.get_by_role("button", name="Propose again").click()
        page.get_by_role("button", name="Book all 6 sessions").wait_for()
        assert page.get_by_text("Proposed", exact=True).count() == 6
        assert page.get_by_label("Session 1 date").input_value() == "2026-03-03"
        assert page.get_by_label("Session 1 time").input_value() == "10:00"
        assert page.get_by_label("Session 1 practitioner").input_value() == str(nurse.pk)
        shot("03-proposal")
        page.get_by_role("button", name="Book all 6 sessions").click()
        page.get_by_text("Booked 6 sessions in one step").wait_for()
        shot("03-booked")
        course = Course.objects.get(patient=patient)
        booked = list(Appointment.objects.filter(patient=patient).order_by("starts_at"))
        assert len(booked) == 6 and course.sessions.filter(appointment__isnull=False).count() == 6
        first = booked[0]
        assert first.starts_at == at(3, 10) and first.practitioner == nurse and first.device is not None

        # --- Step 5: session day. The receptionist checks her in from the day calendar ----------
        clock.move_to(at(3, 9, 50))
        as_user(receptionist)
        nav("Schedule")
        page.get_by_role("heading", name="Tuesday 3 March 2026").wait_for()
        page.get_by_role("link", name=re.compile(r"10:00–\d\d:\d\d HART, Amelia")).click()
        page.get_by_role("button", name="Check in").click()
        page.get_by_text("Checked in.").wait_for()
        shot("05-checked-in")

        # The nurse opens the chart from the day's sessions.
        as_user(nurse)
        nav("Sessions")
        row = page.get_by_role("row").filter(has_text="Amelia Hart")
        assert "10:00" in row.inner_text() and "Checked in" in row.inner_text()
        shot("05-sessions-of-the-day")
        row.get_by_role("link", name="Open the chart").click()
        page.get_by_role("button", name="Open the chart").click()
        page.wait_for_url(re.compile(r"/sessions/\d+/$"))
        record = ProcedureRecord.objects.get()
        assert record.appointment_id == first.pk  # the session booked in step 3
        expect(page.get_by_text("0 of 8")).to_be_visible()

        chart_up_to_the_injections(page, clock, numbing_at=at(3, 10, 0))  # injections stay locked until 10:30
        shot("05-numbing-countdown")

        clock.move_to(at(3, 10, 31))
        page.reload()
        swab_after_the_wait(page)
        area = page.locator("#step-treatment")
        area.get_by_label("Technique").select_option("dermapen_rolling")
        area.get_by_label("Needle depth (mm)").fill("1.0")
        area.get_by_label("Passes").fill("3")
        area.get_by_label("Dermapen speed").fill("8")
        assert LOT in area.get_by_label("Lot of product 1").locator("option:checked").inner_text()
        area.get_by_label("Volume of product 1 (ml)").fill("2.5")
        area.get_by_label("Needles or cartridges 1").select_option(str(cartridges.pk))
        area.get_by_label("How many (1)").fill("1")
        area.get_by_role("button", name="Save this area").click()
        page.locator("#step-treatment .done-badge").wait_for()
        assert LOT in page.locator("#step-treatment article").inner_text()
        record_mild_redness(page)
        shot("05-ready-to-sign")

        clock.move_to(at(3, 10, 50))
        page.get_by_role("link", name="Review and sign the session…").click()
        confirm = page.locator("#what-is-signed").inner_text()  # signing locks: a summary first
        assert "Scalp" in confirm and f"lot {LOT}" in confirm and "2.50 ml" in confirm and "CART-77" in confirm and "Redness" in confirm
        shot("05-sign-confirm")
        page.get_by_role("button", name="Sign and lock the record").click()
        page.get_by_text("Signed. The record is locked").wait_for()
        page.get_by_text("1 of 6").first.wait_for()  # is_visible() does not wait: it raced the page once
        shot("05-signed")
        record.refresh_from_db()
        assert record.status == ProcedureRecord.Status.SIGNED
        assert Lot.objects.get(lot_number=LOT).on_hand == Decimal("17.50")

        # The course shows "1 of 6"; the stock moved (the lot's ledger, as a nurse looks it up).
        page.get_by_role("link", name="Open the course").click()
        page.locator(".progress").get_by_text("1 of 6").wait_for()
        shot("05-course-1-of-6")
        nav("Stock")
        page.get_by_role("link", name=LOT, exact=True).click()
        ledger = page.locator("table").last.inner_text()
        assert "Used in a session" in ledger and "-2.5" in ledger and f"Session record {record.pk} · Amelia HART" in ledger
        shot("05-lot-ledger")

        # --- Step 6: aftercare leaves with the patient, on paper and by e-mail ------------------
        handout = AftercareHandout.objects.get(record=record)
        [handout_mail] = [m for m in mail.outbox if m.to == [EMAIL] and "Until " in m.body]
        assert "Until Wednesday 4 March, 10:50: Do not wash your hair" in handout_mail.body

        open_patient()
        page.get_by_role("heading", name="Aftercare and check-ins").wait_for()
        page.get_by_role("link", name="Handout", exact=True).click()
        page.get_by_role("heading", name=re.compile("Aftercare for Amelia Hart")).wait_for()
        shot("06-handout-page")
        pdf_href = page.get_by_role("link", name="Print handout (PDF)").get_attribute("href")
        pdf = page.request.get(pdf_href)
        assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
        os.makedirs(ARTIFACTS, exist_ok=True)
        text = render_pdf_page(pdf.body(), os.path.join(ARTIFACTS, f"{request.node.name}--06-handout-pdf-page-1.png"))
        assert "Amelia Hart" in text and "Until Wednesday 4 March, 10:50:" in text

        # Six hours later the check-in goes out (this test plays the worker: one outbox sweep).
        assert handout.checkin.due_at == at(3, 16, 50)
        clock.move_to(at(3, 16, 52))
        mail.outbox.clear()
        delivery.sweep(worker="golden-path")
        [link] = [found.group(0) for m in mail.outbox if (found := re.search(r"https?://\S+/check-in/\S+/", m.body))]
        page.context.clear_cookies()  # the patient's phone: nobody signed in
        page.goto(link)
        page.get_by_role("group", name="Has the redness settled?").wait_for()
        page.get_by_label("It is worse").check()
        page.get_by_label("Anything you want to tell us (optional)").fill("Hot and swollen along the parting.")
        shot("06-public-checkin")
        page.get_by_role("button", name="Send my answer").click()
        page.get_by_role("heading", name="Thank you").wait_for()
        shot("06-public-checkin-thanks")

        # The follow-up is on the nurses' worklist; the nurse records it as an adverse event.
        as_user(nurse)
        nav("Follow-ups")
        page.get_by_role("heading", name="Aftercare follow-ups").wait_for()
        assert "Hot and swollen along the parting." in page.content()
        shot("06-worklist")
        page.get_by_role("link", name="Open the follow-up for Amelia Hart").click()
        page.get_by_role("link", name="Record as adverse event").click()
        page.get_by_label("Type").select_option("swelling")
        page.get_by_label("Severity").select_option("moderate")
        page.get_by_label("Reaction (coded)").select_option("MESO-002")  # the Yellow Card's coded reaction (local code)
        page.get_by_label("Treatment given").fill("Cold compress; antihistamine.")
        assert page.get_by_label(re.compile(f"lot {LOT}")).is_checked()
        shot("06-adverse-event-form")
        page.get_by_role("button", name="Record adverse event").click()
        page.get_by_text("Adverse event recorded for Amelia Hart").wait_for()
        shot("06-adverse-event")
        event = AdverseEvent.objects.get()
        assert event.record_id == record.pk
        assert [link.lot.lot_number for link in event.product_links.all()] == [LOT]
        assert FollowUp.objects.get().status == FollowUp.Status.CONVERTED

        # --- Session 2, four weeks later: the chart opens with the context ----------------------
        second = booked[1]
        assert second.starts_at.astimezone(LONDON).date().isoformat() == "2026-03-31"  # summer time by then
        clock.move_to(second.starts_at - timedelta(minutes=10))
        as_user(nurse)
        page.goto(f"/sessions/?location={location.pk}&on=2026-03-31")
        page.get_by_role("row").filter(has_text="Amelia Hart").get_by_role("link", name="Open the chart").click()
        page.get_by_role("button", name="Open the chart").click()
        page.wait_for_url(re.compile(r"/sessions/\d+/$"))
        context = page.locator("#session-context")
        expect(context.get_by_text("Session 2 of 6")).to_be_visible()
        about = context.inner_text()
        assert "Last time: 3 March 2026" in about and "Scalp" in about and "1 mm, 3 passes, speed 8" in about
        assert f"2.50 ml (lot {LOT})" in about and "Redness (Mild)" in about
        assert "Adverse events (1 open or in the last 90 days)" in about and "Swelling" in about
        for width, height, name in ((1024, 768, "tablet"), (390, 844, "phone")):
            page.set_viewport_size({"width": width, "height": height})
            shot(f"07-session-2-context-{name}")
        page.set_viewport_size({"width": 1280, "height": 900})
        chart_up_to_the_injections(page, clock, numbing_at=second.starts_at.astimezone(LONDON))
        clock.move_to(second.starts_at + timedelta(minutes=31))
        page.reload()
        swab_after_the_wait(page)
        page.locator("#session-context").get_by_role("link", name="Same as last time").click()
        area = page.locator("#step-treatment")
        expect(area.get_by_label("Needle depth (mm)")).to_have_value("1.00")
        assert area.get_by_label("Technique").input_value() == "dermapen_rolling"
        assert area.get_by_label("Volume of product 1 (ml)").input_value() == "2.50"
        assert LOT in area.get_by_label("Lot of product 1").locator("option:checked").inner_text()
        shot("07-same-as-last-time")
        area.get_by_role("button", name="Save this area").click()
        page.locator("#step-treatment .done-badge").wait_for()
        record_mild_redness(page)
        page.get_by_role("link", name="Review and sign the session…").click()
        page.get_by_role("button", name="Sign and lock the record").click()
        page.get_by_text("Signed. The record is locked").wait_for()
        page.get_by_text("2 of 6").first.wait_for()
        assert Lot.objects.get(lot_number=LOT).on_hand == Decimal("15.00")

        # --- Step 8: the manager hears the lot is recalled and finds the patient and session ----
        as_user(manager)
        nav("Recalls")
        page.get_by_label("Lot number").fill(LOT)
        page.get_by_role("button", name="Find lot").click()
        page.get_by_role("link", name=LOT).click()
        page.get_by_role("heading", name=re.compile(f"Lot {LOT}")).wait_for()
        expect(page.get_by_text("2 sessions, 1 patient received this lot")).to_be_visible()
        found = page.get_by_role("row").filter(has_text="Amelia Hart").filter(has_text="3 Mar 2026").first.inner_text()
        assert "3 Mar 2026 10:50" in found and "Nadia Brooks" in found  # the session signed in step 5
        assert patient.record_number in found and "07700 900123" in found and EMAIL in found
        assert f"lot {LOT}" in found
        page.get_by_role("button", name="Mark Amelia Hart contacted").first.click()
        page.get_by_text("Amelia Hart marked as contacted.").wait_for()
        shot("08-recall")
