from __future__ import annotations

import pytest

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.selectors import AuditFilter, audit_events

pytestmark = pytest.mark.django_db


def test_a_manager_sees_location_less_rows_of_their_own_staff_only(location, other_location, manager, receptionist):
    from mesoclinic.accounts.roles import Role
    from mesoclinic.accounts.tests.factories import UserFactory

    stranger = UserFactory(role=Role.RECEPTIONIST, locations=[other_location])
    ours = audit.record(audit.AuditContext(actor=receptionist), action=AuditEvent.Action.SIGN_IN, object_type="user")
    theirs = audit.record(audit.AuditContext(actor=stranger), action=AuditEvent.Action.SIGN_IN, object_type="user")
    filed_here = audit.record(audit.SYSTEM, action=AuditEvent.Action.VIEW, object_type="patient", location_id=location.pk)

    seen = audit_events(scope=manager.location_ids, filters=AuditFilter(), limit=50)

    assert {event.pk for event in seen} == {ours.pk, filed_here.pk}
    assert theirs.pk not in {event.pk for event in seen}
