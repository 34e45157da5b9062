"""The stock screens: who may see and do what, location scoping, and every form's bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog.models import Product
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Consumable, Lot, ReorderLevel, StockMovement

from .factories import ConsumableFactory, ProductFactory, make_lot

pytestmark = pytest.mark.django_db


@pytest.fixture
def nurse(location):
    return UserFactory(role=Role.NURSE, locations=[location])


def receive_data(place, product, **overrides):
    today = timezone.localdate()
    data = {
        "location": place.pk,
        "item": f"product:{product.pk}" if product else "",
        "lot_number": "HC-001",
        "expires_on": (today + timedelta(days=200)).isoformat(),
        "quantity": "25.5",
        "supplier": "Meso Supplies Ltd",
        "received_on": today.isoformat(),
    }
    data.update(overrides)
    return data


# --- Who may do what -----------------------------------------------------------------------------

READ_PAGES = ["/stock/", "/stock/low/", "/stock/expiring/"]
MANAGE_PAGES = ["/stock/lots/new/", "/stock/reorder-levels/", "/stock/consumables/"]


@pytest.mark.parametrize("url", READ_PAGES)
def test_clinical_staff_and_managers_see_stock(client, doctor, nurse, manager, url):
    for user in (doctor, nurse, manager):
        client.force_login(user)
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("url", READ_PAGES + MANAGE_PAGES)
def test_receptionists_see_no_stock(client, receptionist, url):
    client.force_login(receptionist)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", MANAGE_PAGES)
def test_only_managers_change_stock(client, doctor, nurse, url):
    for user in (doctor, nurse):
        client.force_login(user)
        assert client.get(url).status_code == 403
        assert client.post(url, {}).status_code == 403


def test_a_clinician_may_read_a_lot_but_not_adjust_or_recall_it(client, doctor, location):
    lot = make_lot(location)
    client.force_login(doctor)
    page = client.get(f"/stock/lots/{lot.pk}/")
    assert page.status_code == 200
    assert b"Recall this lot" not in page.content
    assert client.post(f"/stock/lots/{lot.pk}/adjust/", {"change": "add", "quantity": "1", "reason": "x"}).status_code == 403
    assert client.post(f"/stock/lots/{lot.pk}/recall/", {"reason": "x"}).status_code == 403
    lot.refresh_from_db()
    assert (lot.on_hand, lot.recalled) == (Decimal("10.00"), False)


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/stock/")
    assert response.status_code == 302 and "/accounts/sign-in/" in response["Location"]


def test_the_navigation_shows_stock_to_those_who_may_see_it(client, doctor, receptionist):
    client.force_login(doctor)
    assert b'href="/stock/"' in client.get("/").content
    client.force_login(receptionist)
    assert b'href="/stock/"' not in client.get("/").content


# --- Location scoping ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [*READ_PAGES, *MANAGE_PAGES])
def test_another_locations_stock_pages_answer_404(client, manager, other_location, url):
    client.force_login(manager)
    assert client.get(f"{url}?location={other_location.pk}").status_code == 404


@pytest.mark.parametrize("suffix", ["", "adjust/", "recall/"])
def test_another_locations_lot_answers_404(client, manager, other_location, suffix):
    lot = make_lot(other_location)
    client.force_login(manager)
    assert client.get(f"/stock/lots/{lot.pk}/{suffix}").status_code == 404
    if suffix:
        assert client.post(f"/stock/lots/{lot.pk}/{suffix}", {"change": "remove", "quantity": "1", "reason": "x"}).status_code == 404
    lot.refresh_from_db()
    assert (lot.on_hand, lot.recalled) == (Decimal("10.00"), False)


def test_the_overview_shows_only_the_chosen_locations_lots(client, manager, location, other_location):
    mine, theirs = make_lot(location, lot_number="MINE-1"), make_lot(other_location, lot_number="THEIRS-1")
    client.force_login(manager)
    content = client.get("/stock/").content.decode()
    assert mine.lot_number in content and theirs.lot_number not in content


def test_a_manager_of_two_locations_can_switch_between_them(client, location, other_location):
    manager = UserFactory(role=Role.MANAGER, locations=[location, other_location])
    make_lot(other_location, lot_number="THEIRS-1")
    client.force_login(manager)
    assert "THEIRS-1" in client.get(f"/stock/?location={other_location.pk}").content.decode()


@pytest.mark.parametrize("query", ["location=abc", "location=-1", "page=0", "page=x", "page=99999", "days=0", "days=abc"])
def test_parameters_that_do_not_parse_answer_400(client, manager, query):
    client.force_login(manager)
    url = "/stock/expiring/" if "days" in query else "/stock/"
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400
    assert b"must be" in response.content


def test_an_over_long_search_answers_400(client, manager):
    client.force_login(manager)
    assert client.get("/stock/?q=" + "x" * 61).status_code == 400
    assert client.get("/stock/?q=a%00b").status_code == 400


def test_a_lot_id_beyond_64_bits_answers_404(client, manager):
    client.force_login(manager)
    assert client.get(f"/stock/lots/{2**64}/").status_code == 404


# --- Receive a lot ---------------------------------------------------------------------------------


def test_a_manager_receives_a_lot_and_lands_on_it(client, manager, location):
    product = ProductFactory(name="Hair cocktail")
    client.force_login(manager)
    response = client.post("/stock/lots/new/", receive_data(location, product))
    lot = Lot.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/stock/lots/{lot.pk}/"
    assert (lot.product, lot.on_hand, lot.created_by) == (product, Decimal("25.50"), manager)
    assert AuditEvent.objects.filter(object_type="lot", action=AuditEvent.Action.CREATE, actor=manager).count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Hair cocktail" in page and "HC-001" in page and "25.5" in page


def test_the_receive_form_lists_active_products_and_consumables(client, manager):
    ProductFactory(name="Active one")
    ProductFactory(name="Retired one", is_active=False)
    ConsumableFactory(name="Cartridge 16-pin", kind=Consumable.Kind.CARTRIDGE)
    client.force_login(manager)
    page = client.get("/stock/lots/new/").content.decode()
    assert "Active one" in page and "Cartridge 16-pin" in page and "Retired one" not in page


def test_a_consumable_lot_is_received_in_pieces(client, manager, location):
    needle = ConsumableFactory()
    client.force_login(manager)
    response = client.post("/stock/lots/new/", receive_data(location, None, item=f"consumable:{needle.pk}", quantity="100"))
    assert response.status_code == 302
    assert Lot.objects.get().unit == "piece"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"lot_number": ""}, "This field is required.", id="missing-lot-number"),
        pytest.param({"lot_number": "   "}, "This field is required.", id="blank-lot-number"),
        pytest.param({"lot_number": "X" * 61}, "at most 60 characters", id="over-long-lot-number"),
        pytest.param({"supplier": "S" * 161}, "at most 160 characters", id="over-long-supplier"),
        pytest.param({"quantity": "0"}, "The quantity must be more than 0.", id="zero-quantity"),
        pytest.param({"quantity": "-5"}, "The quantity must be more than 0.", id="negative-quantity"),
        pytest.param({"quantity": "abc"}, "Enter a number.", id="quantity-not-a-number"),
        pytest.param({"quantity": "1.005"}, "no more than 2 decimal places", id="three-decimals"),
        pytest.param({"quantity": "1000000000"}, "no more than 8 digits before the decimal point", id="huge-quantity"),
        pytest.param({"expires_on": "2020-01-01"}, "an expired lot cannot be received", id="expired"),
        pytest.param({"expires_on": "31/02/2027"}, "Enter a valid date.", id="not-a-date"),
        pytest.param({"received_on": "2999-01-01"}, "cannot be received in the future", id="received-in-future"),
        pytest.param({"item": "product:999999"}, "Choose a product or consumable from the list.", id="unknown-product"),
        pytest.param({"item": "patient:1"}, "Choose a product or consumable from the list.", id="not-an-item"),
        pytest.param({"item": "product:99999999999999999999"}, "Choose a product or consumable from the list.", id="id-beyond-64-bits"),
        pytest.param({"item": ""}, "This field is required.", id="missing-item"),
        pytest.param({"location": "999999"}, "Select a valid choice.", id="unknown-location"),
    ],
)
def test_the_receive_form_refuses_bad_input_and_saves_nothing(client, manager, location, overrides, message):
    client.force_login(manager)
    response = client.post("/stock/lots/new/", receive_data(location, ProductFactory(), **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Lot.objects.exists() and not StockMovement.objects.exists()


def test_the_receive_form_refuses_another_locations_id(client, manager, location, other_location):
    client.force_login(manager)
    response = client.post("/stock/lots/new/", receive_data(location, ProductFactory(), location=other_location.pk))
    assert response.status_code == 400
    assert not Lot.objects.exists()


def test_the_receive_form_refuses_an_inactive_product_by_name(client, manager, location):
    client.force_login(manager)
    retired = ProductFactory(name="Old cocktail", is_active=False)
    response = client.post("/stock/lots/new/", receive_data(location, retired))
    assert response.status_code == 400
    assert "Old cocktail is no longer active" in response.content.decode()


def test_the_receive_form_refuses_part_of_a_vial(client, manager, location):
    client.force_login(manager)
    response = client.post("/stock/lots/new/", receive_data(location, ProductFactory(unit=Product.Unit.VIAL), quantity="2.5"))
    assert response.status_code == 400
    assert "whole numbers" in response.content.decode()


def test_a_duplicate_lot_number_is_refused_with_409_and_a_clear_message(client, manager, location):
    product = ProductFactory(name="Hair cocktail")
    make_lot(location, product=product, lot_number="HC-001")
    client.force_login(manager)
    response = client.post("/stock/lots/new/", receive_data(location, product))
    assert response.status_code == 409
    assert "Lot HC-001 of Hair cocktail has already been received at" in response.content.decode()
    assert Lot.objects.count() == 1


def test_a_missing_form_answers_400_not_500(client, manager):
    client.force_login(manager)
    assert client.post("/stock/lots/new/", {}).status_code == 400


# --- Lot detail, adjust, recall --------------------------------------------------------------------


def test_the_lot_page_shows_the_ledger_and_links_to_the_recall_search(client, manager, location):
    lot = make_lot(location, quantity="4")
    StockMovement.objects.create(
        lot=lot,
        kind="used",
        quantity=Decimal("-1"),
        on_hand_after=Decimal("3"),
        reference_type="procedure",
        reference_id="77",
        patient_id=5,
    )
    client.force_login(manager)
    page = client.get(f"/stock/lots/{lot.pk}/").content.decode()
    assert "Received" in page and "Used in a session" in page and "Session record 77" in page and "/patients/5/" in page
    assert f'href="/safety/recalls/lots/{lot.pk}/"' in page  # the safety app's one-search recall
    assert AuditEvent.objects.filter(action=AuditEvent.Action.VIEW, object_type="lot", object_id=str(lot.pk)).count() == 1


@pytest.mark.parametrize(
    ("change", "quantity", "kind", "expected"),
    [
        ("add", "1.5", "adjusted", "11.50"),
        ("remove", "2", "adjusted", "8.00"),
        ("wasted", "1", "wasted", "9.00"),
        ("returned", "10", "returned", "0.00"),
    ],
)
def test_a_manager_adjusts_a_lot(client, manager, location, change, quantity, kind, expected):
    lot = make_lot(location, quantity="10")
    client.force_login(manager)
    response = client.post(f"/stock/lots/{lot.pk}/adjust/", {"change": change, "quantity": quantity, "reason": "Stock take 1 March"})
    assert response.status_code == 302
    lot.refresh_from_db()
    assert lot.on_hand == Decimal(expected)
    movement = lot.movements.last()
    assert (movement.kind, movement.reason, movement.by) == (kind, "Stock take 1 March", manager)


@pytest.mark.parametrize(
    ("data", "message", "status"),
    [
        pytest.param({"change": "remove", "quantity": "1", "reason": ""}, "This field is required.", 400, id="no-reason"),
        pytest.param({"change": "remove", "quantity": "1", "reason": "   "}, "This field is required.", 400, id="blank-reason"),
        pytest.param({"change": "remove", "quantity": "1", "reason": "r" * 301}, "at most 300 characters", 400, id="over-long-reason"),
        pytest.param({"change": "steal", "quantity": "1", "reason": "x"}, "Select a valid choice.", 400, id="unknown-change"),
        pytest.param({"change": "remove", "quantity": "0", "reason": "x"}, "more than 0", 400, id="zero"),
        pytest.param({"change": "remove", "quantity": "x", "reason": "x"}, "Enter a number.", 400, id="not-a-number"),
        pytest.param({"change": "remove", "quantity": "11", "reason": "x"}, "holds 10 ml", 409, id="more-than-on-hand"),
    ],
)
def test_the_adjust_form_refuses_bad_input_and_changes_nothing(client, manager, location, data, message, status):
    lot = make_lot(location, quantity="10")
    client.force_login(manager)
    response = client.post(f"/stock/lots/{lot.pk}/adjust/", data)
    assert response.status_code == status
    assert message in response.content.decode()
    lot.refresh_from_db()
    assert lot.on_hand == Decimal("10.00") and lot.movements.count() == 1


def test_a_manager_recalls_a_lot_with_a_reason(client, manager, location):
    lot = make_lot(location)
    client.force_login(manager)
    form = client.get(f"/stock/lots/{lot.pk}/recall/").content.decode()
    assert f'href="/safety/recalls/lots/{lot.pk}/"' in form
    response = client.post(f"/stock/lots/{lot.pk}/recall/", {"reason": "MHRA notice 2026/041"})
    assert response.status_code == 302
    lot.refresh_from_db()
    assert (lot.recalled, lot.recall_reason) == (True, "MHRA notice 2026/041")
    page = client.get(f"/stock/lots/{lot.pk}/").content.decode()
    assert "Recalled" in page and "MHRA notice 2026/041" in page


@pytest.mark.parametrize(
    ("reason", "message"), [("", "This field is required."), ("  ", "This field is required."), ("r" * 501, "at most 500")]
)
def test_a_recall_without_a_proper_reason_is_refused(client, manager, location, reason, message):
    lot = make_lot(location)
    client.force_login(manager)
    response = client.post(f"/stock/lots/{lot.pk}/recall/", {"reason": reason})
    assert response.status_code == 400 and message in response.content.decode()
    lot.refresh_from_db()
    assert not lot.recalled


def test_recalling_twice_answers_409(client, manager, location):
    lot = make_lot(location, recalled=True)
    client.force_login(manager)
    response = client.post(f"/stock/lots/{lot.pk}/recall/", {"reason": "again"})
    assert response.status_code == 409 and "already recalled" in response.content.decode()


# --- Lists -------------------------------------------------------------------------------------------


def test_the_low_stock_and_expiring_pages_list_what_needs_attention(client, doctor, location):
    product = ProductFactory(name="Lightening cocktail")
    make_lot(location, product=product, quantity="1", expires_on=timezone.localdate() + timedelta(days=5), lot_number="SOON-1")
    ReorderLevel.objects.create(location=location, product=product, level=Decimal("3"))
    client.force_login(doctor)
    assert "Lightening cocktail" in client.get("/stock/low/").content.decode()
    assert "SOON-1" in client.get("/stock/expiring/").content.decode()
    assert "SOON-1" not in client.get("/stock/expiring/?days=4").content.decode()


def test_a_manager_sets_a_reorder_level(client, manager, location):
    product = ProductFactory()
    client.force_login(manager)
    response = client.post(f"/stock/reorder-levels/?location={location.pk}", {"item": f"product:{product.pk}", "level": "5"})
    assert response.status_code == 302
    assert ReorderLevel.objects.get().level == Decimal("5.00")
    client.post(f"/stock/reorder-levels/?location={location.pk}", {"item": f"product:{product.pk}", "level": "8"})
    assert ReorderLevel.objects.get().level == Decimal("8.00")
    assert AuditEvent.objects.filter(object_type="reorder-level").count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"item": "product:999999", "level": "5"}, "Choose a product or consumable"),
        ({"item": "", "level": "5"}, "This field is required."),
        ({"level": "-1"}, "cannot be negative"),
        ({"level": "many"}, "Enter a number."),
    ],
)
def test_the_reorder_level_form_refuses_bad_input(client, manager, data, message):
    product = ProductFactory()
    client.force_login(manager)
    response = client.post("/stock/reorder-levels/", {"item": f"product:{product.pk}", **data})
    assert response.status_code == 400 and message in response.content.decode()
    assert not ReorderLevel.objects.exists()


def test_part_of_a_needle_cannot_be_a_reorder_level(client, manager):
    needle = ConsumableFactory()
    client.force_login(manager)
    response = client.post("/stock/reorder-levels/", {"item": f"consumable:{needle.pk}", "level": "2.5"})
    assert response.status_code == 400 and "whole numbers" in response.content.decode()


def test_a_manager_adds_a_consumable_and_its_key_must_be_new(client, manager):
    client.force_login(manager)
    data = {"name": "Dermapen cartridge 16-pin", "kind": "cartridge", "manufacturer": "Dermapen", "key": "dp-16"}
    assert client.post("/stock/consumables/", data).status_code == 302
    assert Consumable.objects.get().name == "Dermapen cartridge 16-pin"
    again = client.post("/stock/consumables/", data)
    assert again.status_code == 400 and "That key is already used." in again.content.decode()
    for bad in ({**data, "key": "has spaces"}, {**data, "kind": "spoon"}, {**data, "name": ""}):
        assert client.post("/stock/consumables/", bad).status_code == 400
    assert Consumable.objects.count() == 1
