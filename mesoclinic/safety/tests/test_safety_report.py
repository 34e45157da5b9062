"""The safety report: counts per month, protocol, product, lot, practitioner; filters; a chart; constant queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog.models import Protocol
from mesoclinic.inventory.models import Lot
from mesoclinic.safety import charts, selectors

from .factories import lot_of, record_event, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]
LONDON = ZoneInfo("Europe/London")


def event_on(location, day: datetime, *, lots=None, protocol_key="hair_cocktail", practitioner=None):
    lots = lots or [
        Lot.objects.filter(location=location, lot_number="HC-1").first() or lot_of(location, "hair_cocktail", lot_number="HC-1")
    ]
    session = signed_session(location, protocol_key=protocol_key, areas={"scalp": lots}, signed_at=day, practitioner=practitioner)
    return record_event(session, onset_at=day + timedelta(hours=3))


def test_it_counts_events_per_month_protocol_product_lot_and_practitioner(location):
    hc = lot_of(location, "hair_cocktail", lot_number="HC-1")
    hm = lot_of(location, "hair_loss_medicine_solution", lot_number="HM-1")
    nurse = UserFactory(role=Role.NURSE, locations=[location], first_name="Nadia", last_name="Brooks")
    event_on(location, datetime(2026, 1, 10, 10, tzinfo=LONDON), lots=[hc, hm], practitioner=nurse)
    event_on(location, datetime(2026, 1, 20, 10, tzinfo=LONDON), lots=[hc], practitioner=nurse)
    event_on(location, datetime(2026, 3, 5, 10, tzinfo=LONDON), lots=[hc], protocol_key="hair_prp")
    report = selectors.safety_report(scope=frozenset({location.pk}), filters=selectors.EventFilter())
    assert report.total == 3
    assert [(row.label, row.count) for row in report.by_month] == [("Jan 2026", 2), ("Feb 2026", 0), ("Mar 2026", 1)]
    names = dict(Protocol.objects.filter(key__in=["hair_cocktail", "hair_prp"]).values_list("key", "name"))
    assert {row.label: row.count for row in report.by_protocol} == {names["hair_cocktail"]: 2, names["hair_prp"]: 1}
    assert {row.label: row.count for row in report.by_product} == {"Hair revitalising cocktail": 3, "Hair-loss medicine for mesotherapy": 1}
    assert {row.label: row.count for row in report.by_lot} == {"HC-1": 3, "HM-1": 1}
    assert report.by_practitioner[0].label == "Nadia Brooks" and report.by_practitioner[0].count == 2


def test_filters_by_date_range_and_location(location, other_location):
    event_on(location, datetime(2026, 1, 10, 10, tzinfo=LONDON))
    event_on(location, datetime(2026, 2, 10, 10, tzinfo=LONDON))
    event_on(other_location, datetime(2026, 2, 11, 10, tzinfo=LONDON))
    scope = frozenset({location.pk, other_location.pk})
    february = selectors.EventFilter(since=date(2026, 2, 1), until=date(2026, 2, 28))
    assert selectors.safety_report(scope=scope, filters=february).total == 2
    only_here = selectors.EventFilter(since=date(2026, 2, 1), until=date(2026, 2, 28), location_id=location.pk)
    assert selectors.safety_report(scope=scope, filters=only_here).total == 1
    # A location outside the caller's scope gives nothing, not another clinic's figures.
    assert selectors.safety_report(scope=frozenset({location.pk}), filters=selectors.EventFilter(location_id=other_location.pk)).total == 0


def test_the_report_page_draws_an_svg_chart_and_costs_the_same_whatever_the_data(client, location):
    client.force_login(UserFactory(role=Role.MANAGER, locations=[location]))

    def count() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/safety/report/", {"since": "2026-01-01", "until": "2026-12-31"})
        assert response.status_code == 200
        return len(captured), response.content.decode()

    event_on(location, datetime(2026, 1, 10, 10, tzinfo=LONDON))
    few, _ = count()
    for month in range(2, 8):
        event_on(location, datetime(2026, month, 10, 10, tzinfo=LONDON))
    many, body = count()
    assert many == few
    assert "<svg" in body and "<rect" in body and "Jul 2026" in body
    assert "Per lot" in body and "HC-1" in body


@pytest.mark.parametrize(
    "query", [{"since": "yesterday"}, {"since": "2026-02-01", "until": "2026-01-01"}, {"location": "abc"}, {"location": "999999"}]
)
def test_bad_filters_answer_400(client, location, query):
    client.force_login(UserFactory(role=Role.MANAGER, locations=[location]))
    assert client.get("/safety/report/", query).status_code == 400


def test_bar_chart_geometry():
    chart = charts.bar_chart([("Jan", 0), ("Feb", 3), ("Mar", 7)], width=300, height=200)
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0 and heights[1] < heights[2]
    assert chart.ticks[-1].value == 10  # 7 rounds up to a nice 10
    assert all(bar.y + bar.height == pytest.approx(chart.plot_bottom) for bar in chart.bars)
    assert charts.nice_ceiling(0) == 1 and charts.nice_ceiling(3) == 5 and charts.nice_ceiling(120) == 200
    assert charts.bar_chart([]).bars == ()
