"""The aftercare and safety demo seeders: built on the signed sessions the procedures demo leaves."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import timezone

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.aftercare import demo as aftercare_demo
from mesoclinic.aftercare.models import AftercareHandout, CheckIn, FollowUp
from mesoclinic.core.seeding import SCALES, SeedRun
from mesoclinic.safety import demo as safety_demo
from mesoclinic.safety.models import AdverseEvent, RecallContact

from .factories import signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


def test_the_demo_gives_sessions_aftercare_answers_follow_ups_and_adverse_events(location):
    for role in (Role.NURSE, Role.DOCTOR, Role.MANAGER):
        UserFactory(role=role, locations=[location])
    start = timezone.now().replace(microsecond=0) - timedelta(days=2)
    for n in range(8):
        signed_session(location, signed_at=start - timedelta(days=7 * n))
    run = SeedRun(scale=SCALES["small"], stdout=io.StringIO())
    aftercare_demo.seed(run)
    safety_demo.seed(run)
    assert AftercareHandout.objects.count() == 8
    assert CheckIn.objects.filter(answered_at__isnull=False).count() == 6  # every fourth is left unanswered
    assert FollowUp.objects.count() >= 2
    assert AdverseEvent.objects.count() == 2
    assert AdverseEvent.objects.filter(status="closed").count() == 1
    assert RecallContact.objects.count() == 1
    assert "Aftercare: 8 handouts" in run.stdout.getvalue()


def test_the_demo_runs_on_an_empty_clinic():
    run = SeedRun(scale=SCALES["small"], stdout=io.StringIO())
    aftercare_demo.seed(run)
    safety_demo.seed(run)
    assert AftercareHandout.objects.count() == 0
