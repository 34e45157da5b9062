"""Two managers change a location's scheduling settings from the same page: the second save, made
from the page loaded before the first, is refused (409, nothing saved) and shows what changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.tests.browser_form import posted_form
from mesoclinic.core.tests.races import kinds, race
from mesoclinic.scheduling import services
from mesoclinic.scheduling.models import SchedulingPolicy

pytestmark = pytest.mark.django_db


def load(client, location):
    response = client.get(reverse("scheduling:working-time"), {"location": location.pk})
    assert response.status_code == 200
    return posted_form(response.content, action=reverse("scheduling:policy"))


def save(client, form, **headers):
    return client.post(reverse("scheduling:policy"), form, headers=headers)


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_a_save_from_a_page_loaded_before_another_save_is_refused_and_changes_nothing(client, manager, location, headers):
    client.force_login(manager)
    first, second = load(client, location), load(client, location)
    assert save(client, {**first, "slot_minutes": "10"}).status_code == 302

    response = save(client, {**second, "numbing_in_waiting_area": "on"}, **headers)

    assert response.status_code == 409
    assert "Offer start times every (minutes): you loaded “15”, it is now “10” — the form now shows it" in response.content.decode()
    policy = SchedulingPolicy.objects.get(location=location)
    assert (policy.slot_minutes, policy.numbing_in_waiting_area, policy.version) == (10, False, 2)
    again = posted_form(response.content, action=reverse("scheduling:policy"))
    assert (again["slot_minutes"], again["numbing_in_waiting_area"], again["version"]) == ("10", "on", "2")
    assert save(client, again).status_code == 302
    policy.refresh_from_db()
    assert (policy.slot_minutes, policy.numbing_in_waiting_area, policy.version) == (10, True, 3)


def test_a_save_from_a_fresh_page_is_saved(client, manager, location):
    client.force_login(manager)
    assert save(client, {**load(client, location), "slot_minutes": "20"}).status_code == 302
    assert SchedulingPolicy.objects.get(location=location).slot_minutes == 20


def test_the_service_refuses_a_stale_version(manager, location):
    ctx = audit.AuditContext(actor=manager)
    services.set_policy(ctx=ctx, location=location, numbing_in_waiting_area=False, slot_minutes=10, expected_version=1)
    with pytest.raises(StaleEdit):
        services.set_policy(ctx=ctx, location=location, numbing_in_waiting_area=True, slot_minutes=10, expected_version=1)
    assert SchedulingPolicy.objects.get(location=location).numbing_in_waiting_area is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_managers_saving_the_same_version_at_once_give_exactly_one_save(manager, location):
    SchedulingPolicy.objects.create(location=location)

    def change(minutes):
        def call():
            return services.set_policy(
                ctx=audit.AuditContext(actor=manager),
                location=location,
                numbing_in_waiting_area=False,
                slot_minutes=minutes,
                expected_version=1,
            )

        return call

    assert kinds(race([change(10), change(20)])) == {"SchedulingPolicy": 1, "StaleEdit": 1}
    assert SchedulingPolicy.objects.get(location=location).version == 2
