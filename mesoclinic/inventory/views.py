from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from mesoclinic.accounts.decorators import require
from mesoclinic.catalog.models import Product
from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.models import Location

from . import selectors, services
from .forms import AdjustForm, ConsumableForm, RecallForm, ReceiveLotForm, ReorderLevelForm
from .models import Consumable, Lot

MAX_PAGE = 1000
MAX_WARNING_DAYS = 730


def _scope(request: HttpRequest) -> frozenset[int]:
    return request.user.location_ids  # type: ignore[union-attr]


def _whole_number(request: HttpRequest, name: str, *, default: int, low: int, high: int, label: str) -> int:
    raw = request.GET.get(name, "").strip() or str(default)
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6 and low <= int(raw) <= high):
        raise BadRequest(f"{label} must be a whole number from {low} to {high}.")
    return int(raw)


def _page_number(request: HttpRequest) -> int:
    return _whole_number(request, "page", default=1, low=1, high=MAX_PAGE, label="The page")


def _location(request: HttpRequest) -> tuple[Location, list[Location]]:
    """The location chosen with ?location= (default: the first of the user's); another location's id is a 404."""
    choices = selectors.locations_in_scope(_scope(request))
    if not choices:
        raise Http404("You are not a member of any location.")
    raw = request.GET.get("location", "").strip()
    if not raw:
        return choices[0], choices
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
        raise BadRequest("The location must be given by its number.")
    for location in choices:
        if location.pk == int(raw):
            return location, choices
    raise Http404("No such location among yours.")


def _today(location: Location) -> date:
    return timezone.localdate(timezone=location.zone)


def _lot_or_404(request: HttpRequest, pk: int) -> Lot:
    try:
        return selectors.get_lot(scope=_scope(request), pk=pk)
    except Lot.DoesNotExist:
        raise Http404("No such lot in your locations") from None


def _common(request: HttpRequest, location: Location, choices: list[Location], tab: str) -> dict[str, Any]:
    return {
        "location": location,
        "locations": choices,
        "tab": tab,
        "today": _today(location),
        "can_manage": request.user.can("stock.manage"),  # type: ignore[union-attr]
    }


@require_safe
@require("stock.view")
def overview(request: HttpRequest) -> HttpResponse:
    location, choices = _location(request)
    query = request.GET.get("q", "")
    if len(query) > selectors.MAX_QUERY_LENGTH or "\x00" in query:
        raise BadRequest(
            f"Search for at most {selectors.MAX_QUERY_LENGTH} ordinary characters: a product name or the start of a lot number."
        )
    include_empty = request.GET.get("empty", "") == "1"
    result = selectors.stock_overview(
        location=location,
        on=_today(location),
        query=query,
        include_empty=include_empty,
        page=_page_number(request),
        page_size=settings.MESOCLINIC_PAGE_SIZE,
    )
    context = {**_common(request, location, choices, "overview"), "result": result, "warning_days": selectors.expiry_warning_days()}
    template = "inventory/overview.html#results" if request.htmx else "inventory/overview.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@require_http_methods(["GET", "HEAD", "POST"])
@require("stock.manage")
def lot_new(request: HttpRequest) -> HttpResponse:
    location, choices = _location(request)
    today = _today(location)
    posted = request.method == "POST"
    form = ReceiveLotForm(request.POST if posted else None, locations=choices, today=today, initial={"location": location.pk})
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            item = data["item"]
            try:
                lot = services.receive_lot(
                    ctx=audit.context_from_request(request),
                    location=data["location"],
                    product=item if isinstance(item, Product) else None,
                    consumable=item if isinstance(item, Consumable) else None,
                    lot_number=data["lot_number"],
                    expires_on=data["expires_on"],
                    quantity=data["quantity"],
                    supplier=data["supplier"],
                    received_on=data["received_on"],
                )
            except services.DuplicateLot as error:
                form.add_error("lot_number", str(error))
                status = 409
            except services.ItemInactive as error:
                form.add_error("item", str(error))
            except services.LotExpired as error:
                form.add_error("expires_on", str(error))
            except services.InvalidInput as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Received {lot.quantity_received.normalize():f} {lot.get_unit_display()} of {lot}.")
                return redirect("inventory:lot-detail", pk=lot.pk)
    context = {**_common(request, location, choices, "receive"), "form": form}
    return render(request, "inventory/lot_form.html", context, status=status)


@require_safe
@require("stock.view")
def lot_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        ledger = selectors.view_lot(ctx=audit.context_from_request(request), scope=_scope(request), pk=pk, page=_page_number(request))
    except Lot.DoesNotExist:
        raise Http404("No such lot in your locations") from None
    lot = ledger.lot
    today = _today(lot.location)
    context = {
        "lot": lot,
        "ledger": ledger,
        "today": today,
        "expired": lot.is_expired_on(today),
        "expiring_soon": lot.expires_within(today, selectors.expiry_warning_days()),
        "can_manage": request.user.can("stock.manage"),  # type: ignore[union-attr]
    }
    return render(request, "inventory/lot_detail.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@require("stock.manage")
def lot_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    lot = _lot_or_404(request, pk)
    posted = request.method == "POST"
    form = AdjustForm(request.POST if posted else None, record=lot)
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            kind, quantity = form.kind_and_signed_quantity()
            try:
                movement = services.adjust_stock(
                    ctx=audit.context_from_request(request),
                    lot=lot,
                    quantity=quantity,
                    reason=form.cleaned_data["reason"],
                    kind=kind,
                    expected_version=form.expected_version,
                )
            except StaleEdit as stale:
                form.refuse_stale(stale)
                status = 409
            except services.InsufficientStock as error:
                form.add_error("quantity", str(error))
                status = 409
            except services.InvalidInput as error:
                form.add_error("quantity", str(error))
            else:
                messages.success(
                    request, f"{movement.get_kind_display()}: {movement.quantity.normalize():+f} {lot.get_unit_display()} recorded."
                )
                return redirect("inventory:lot-detail", pk=lot.pk)
    return render(request, "inventory/lot_adjust.html", {"lot": lot, "form": form}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@require("stock.manage")
def lot_recall(request: HttpRequest, pk: int) -> HttpResponse:
    lot = _lot_or_404(request, pk)
    posted = request.method == "POST"
    form = RecallForm(request.POST if posted else None)
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            try:
                services.recall_lot(ctx=audit.context_from_request(request), lot=lot, reason=form.cleaned_data["reason"])
            except services.AlreadyRecalled as error:
                form.add_error(None, str(error))
                status = 409
            else:
                messages.success(request, f"{lot} is recalled: it can no longer be charted.")
                return redirect("inventory:lot-detail", pk=lot.pk)
    return render(request, "inventory/lot_recall.html", {"lot": lot, "form": form}, status=status)


@require_safe
@require("stock.view")
def low_stock(request: HttpRequest) -> HttpResponse:
    location, choices = _location(request)
    rows = selectors.low_stock(location=location, on=_today(location))
    return render(request, "inventory/low_stock.html", {**_common(request, location, choices, "low"), "rows": rows})


@require_safe
@require("stock.view")
def expiring(request: HttpRequest) -> HttpResponse:
    location, choices = _location(request)
    days = _whole_number(request, "days", default=selectors.expiry_warning_days(), low=1, high=MAX_WARNING_DAYS, label="The number of days")
    result = selectors.expiring_lots(location=location, on=_today(location), days=days)
    return render(request, "inventory/expiring.html", {**_common(request, location, choices, "expiring"), "result": result})


@require_http_methods(["GET", "HEAD", "POST"])
@require("stock.manage")
def reorder_levels(request: HttpRequest) -> HttpResponse:
    location, choices = _location(request)
    posted = request.method == "POST"
    form = ReorderLevelForm(request.POST if posted else None)
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            item = form.cleaned_data["item"]
            try:
                services.set_reorder_level(
                    ctx=audit.context_from_request(request),
                    location=location,
                    product=item if isinstance(item, Product) else None,
                    consumable=item if isinstance(item, Consumable) else None,
                    level=form.cleaned_data["level"],
                )
            except services.InvalidInput as error:
                form.add_error("level", str(error))
            else:
                messages.success(request, f"Reorder level for {item.name} saved.")
                return redirect(f"{reverse('inventory:reorder-levels')}?location={location.pk}")
    context = {**_common(request, location, choices, "levels"), "form": form, "levels": selectors.reorder_levels(location=location)}
    return render(request, "inventory/reorder_levels.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@require("stock.manage")
def consumables(request: HttpRequest) -> HttpResponse:
    location, choices = _location(request)
    posted = request.method == "POST"
    form = ConsumableForm(request.POST if posted else None)
    status = 200
    if posted:
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                consumable = services.add_consumable(
                    ctx=audit.context_from_request(request),
                    key=data["key"],
                    name=data["name"],
                    kind=data["kind"],
                    manufacturer=data["manufacturer"],
                )
            except services.DuplicateConsumable as error:
                form.add_error("key", str(error))
                status = 409
            else:
                messages.success(request, f"{consumable.name} added: lots of it can now be received.")
                return redirect(f"{reverse('inventory:consumables')}?location={location.pk}")
    context = {**_common(request, location, choices, "consumables"), "form": form, "consumables": selectors.all_consumables()}
    return render(request, "inventory/consumables.html", context, status=status)
