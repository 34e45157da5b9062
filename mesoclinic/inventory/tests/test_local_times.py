"""A lot's ledger and recall show the clinic's wall clock, and its local day."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core import audit
from mesoclinic.core.tests.zones import shows_local_not_utc, wall_clock, zoned_location_fixture
from mesoclinic.inventory import services
from mesoclinic.inventory.models import Lot

from .factories import make_lot

zoned_location = zoned_location_fixture()


def test_the_lot_ledger_and_its_recall_are_in_local_time(client, zoned_location):
    location, utc_time = zoned_location
    manager = UserFactory(role=Role.MANAGER, locations=[location])
    with time_machine.travel(wall_clock(location.time_zone), tick=False):
        lot = make_lot(location)
        services.recall_lot(ctx=audit.AuditContext(actor=manager), lot=lot, reason="Supplier notice")
        client.force_login(manager)
        text = client.get(reverse("inventory:lot-detail", args=[lot.pk])).content.decode()
    assert "Recalled</strong> on 30 Mar 2027 10:45" in text
    assert "30 Mar 2027 10:45" in text.split("Recalled</strong>", 1)[1]
    shows_local_not_utc(text, utc_time)


def test_a_second_recall_names_the_local_day_of_the_first(zoned_location):
    location, _ = zoned_location
    manager = UserFactory(role=Role.MANAGER, locations=[location])
    lot = make_lot(location)
    # 00:30 on 31 March locally is still 30 March in UTC.
    with time_machine.travel(wall_clock(location.time_zone, day=31, hour=0, minute=30), tick=False):
        services.recall_lot(ctx=audit.AuditContext(actor=manager), lot=lot, reason="Supplier notice")
    with pytest.raises(services.AlreadyRecalled, match="already recalled on 31 Mar 2027"):
        services.recall_lot(ctx=audit.AuditContext(actor=manager), lot=Lot.objects.get(pk=lot.pk), reason="Again")
