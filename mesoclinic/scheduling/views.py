"""Scheduling screens: calendars, booking, rescheduling, the waitlist, working time, calendar feeds.

Views are thin: permission → form → one service or selector → template. Objects named in the URL
that are outside the user's locations answer 404; bad form input answers 400; conflicts 409.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from mesoclinic.accounts.decorators import require
from mesoclinic.accounts.models import User
from mesoclinic.catalog import selectors as catalog_selectors
from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.models import AuditEvent, Device, Location, OpeningHours, Room
from mesoclinic.patients import selectors as patient_selectors
from mesoclinic.patients.models import Patient

from . import arrival, forms, hooks, ical, selectors, services
from .models import Appointment, CalendarFeed, Closure, TimeOff, WaitlistEntry, WaitlistOffer, WorkingHours
from .slots import Slot

MINUTE_PX = 1.6  # height of one minute in the day grid
WEEK_PER_DAY = 60  # the week view lists this many appointments a day, then links to the day view


def _scope(request: HttpRequest) -> frozenset[int]:
    return request.user.location_ids  # type: ignore[union-attr]


def _ctx(request: HttpRequest) -> audit.AuditContext:
    return audit.context_from_request(request)


def _location(request: HttpRequest, raw: str | None = None) -> Location:
    """The location named by ?location= (must be in scope: else 404), or the user's first one."""
    scope = _scope(request)
    raw = raw if raw is not None else request.GET.get("location", "")
    locations = Location.objects.filter(pk__in=scope).order_by("name")
    if raw:
        if not raw.isdigit() or len(raw) > 18:
            raise Http404("No such location")
        location = locations.filter(pk=int(raw)).first()
        if location is None:
            raise Http404("No such location in your locations")
        return location
    first = locations.first()
    if first is None:
        raise Http404("You do not work at any location yet")
    return first


def _appointment(request: HttpRequest, pk: int) -> Appointment:
    try:
        return selectors.get_appointment(scope=_scope(request), pk=pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment in your locations") from None


def _record_patient_shown(request: HttpRequest, patient: Patient, *, screen: str) -> None:
    """A full page that shows a patient's details writes one audit row (htmx fragments show none)."""
    if request.htmx:  # type: ignore[attr-defined]
        return
    audit.record(
        _ctx(request),
        action=AuditEvent.Action.VIEW,
        object_type="patient",
        object_id=patient.pk,
        patient_id=patient.pk,
        location_id=patient.location_id,
        detail={"screen": screen},
    )


def _today(location: Location) -> date:
    return location.local(timezone.now()).date()


# --- calendars -----------------------------------------------------------------------------------------


def _detail_prefix() -> str:
    """The appointment URL without its id: reversed once per page, not once per appointment."""
    return reverse("scheduling:appointment-detail", args=[1]).removesuffix("1/")


def _block(appointment: selectors.CalendarEntry, *, first: int, by: str, prefix: str) -> SafeString:
    """One appointment on the day grid as HTML, built here with every text escaped: a busy day has
    hundreds, and the template engine would look each value up one by one."""
    start, end = appointment.starts_at, appointment.ends_at
    offset = (start.hour * 60 + start.minute - first) * MINUTE_PX
    length = max(15.0, (end - start).total_seconds() / 60) * MINUTE_PX
    parts = [appointment.kind_label]
    if by != "room":
        parts.append(appointment.room_name)
    if by != "practitioner":
        parts.append(appointment.practitioner_name)
    if appointment.device_id is not None and by != "device":
        parts.append(appointment.device_model)
    badge = "" if appointment.status == Appointment.Status.BOOKED else f' <span class="badge">{escape(appointment.status_label)}</span>'
    name = escape(f"{appointment.patient_family_name.upper()}, {appointment.patient_given_name}")
    return mark_safe(  # noqa: S308 (the texts are escaped; the rest are numbers and fixed words)
        f'<li class="appt {appointment.kind} {appointment.status}" style="top:{offset:.0f}px;height:{length:.0f}px">'
        f'<a href="{prefix}{appointment.pk}/"><strong>{start:%H:%M}–{end:%H:%M} {name}</strong>{escape(" · ".join(parts))}{badge}</a></li>'
    )


@dataclass
class Column:
    key: int
    title: str
    blocks: list[SafeString] = field(default_factory=list)

    @property
    def html(self) -> SafeString:
        """The column's blocks as one string: one template lookup per column instead of per appointment."""
        return mark_safe("\n".join(self.blocks))  # noqa: S308 (each block is escaped by _block)


def _axis(location: Location, day: date, appointments: list[selectors.CalendarEntry]) -> tuple[int, int]:
    """The grid's first and last minute of the day: opening hours, widened to fit every appointment."""
    hours = list(OpeningHours.objects.filter(location=location, weekday=day.weekday()).values_list("opens_at", "closes_at"))
    first = min((opens.hour * 60 + opens.minute for opens, _ in hours), default=8 * 60)
    last = max((closes.hour * 60 + closes.minute for _, closes in hours), default=20 * 60)
    for appointment in appointments:
        start, end = appointment.starts_at, appointment.ends_at
        first = min(first, start.hour * 60 + start.minute)
        last = max(last, end.hour * 60 + end.minute if end.date() == day else 24 * 60)
    return (first // 60) * 60, min(24 * 60, -(-last // 60) * 60)


def _columns(by: str, location: Location, appointments: list[selectors.CalendarEntry], form: forms.CalendarForm) -> list[Column]:
    chosen: dict[str, Any] = {name: form.cleaned_data.get(name) for name in ("practitioner", "room", "device")} if form.is_valid() else {}
    columns: dict[int, Column]
    if by == "room":
        rooms: list[Room] = [chosen["room"]] if chosen.get("room") else form.rooms
        columns = {room.pk: Column(room.pk, room.name) for room in rooms}
        key = "room_id"
    elif by == "device":
        devices: list[Device] = [chosen["device"]] if chosen.get("device") else form.devices
        columns = {device.pk: Column(device.pk, f"{device.model} #{device.serial_number}") for device in devices}
        key = "device_id"
    else:
        people: list[User] = [chosen["practitioner"]] if chosen.get("practitioner") else form.people
        columns = {person.pk: Column(person.pk, person.get_full_name() or person.username) for person in people}
        key = "practitioner_id"
    for appointment in appointments:
        column_key = getattr(appointment, key)
        if column_key is not None and column_key not in columns:
            title = {
                "practitioner_id": appointment.practitioner_name,
                "room_id": appointment.room_name,
                "device_id": appointment.device_model,
            }
            columns[column_key] = Column(column_key, title[key])
    return list(columns.values())


def _calendar_form(request: HttpRequest) -> tuple[forms.CalendarForm, Location]:
    location = _location(request)
    data = request.GET.copy()
    data.setdefault("location", str(location.pk))
    if not data.get("on"):
        data["on"] = _today(location).isoformat()  # so the day picker shows the day on screen
    form = forms.CalendarForm(data, scope=_scope(request), location=location)
    return form, location


def _filters(form: forms.CalendarForm) -> dict[str, Any]:
    """The calendar read's filters, and the names the form has read already (no joins for them)."""
    names = selectors.ResourceNames.of(people=form.people, rooms=form.rooms, devices=form.devices)
    if not form.is_valid():
        return {"names": names}
    return {"names": names, **{name: form.cleaned_data.get(name) for name in ("practitioner", "room", "device")}}


@require("schedule.view")
@require_GET
def schedule_home(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('scheduling:day')}?location={_location(request).pk}")


@require("schedule.view")
@require_GET
def day_view(request: HttpRequest) -> HttpResponse:
    form, location = _calendar_form(request)
    status = 200 if form.is_valid() else 400
    day = (form.cleaned_data.get("on") if form.is_valid() else None) or _today(location)
    by = (form.cleaned_data.get("by") if form.is_valid() else "") or "practitioner"
    appointments = selectors.calendar_entries(scope=_scope(request), location=location, first_on=day, last_on=day, **_filters(form))
    selectors.record_calendar_view(_ctx(request), location=location, screen="day", on=day, count=len(appointments))
    first, last = _axis(location, day, appointments)
    columns = _columns(by, location, appointments, form)
    index = {column.key: column for column in columns}
    key = {"room": "room_id", "device": "device_id"}.get(by, "practitioner_id")
    prefix = _detail_prefix()
    for appointment in appointments:
        column = index.get(getattr(appointment, key))
        if column is not None:
            column.blocks.append(_block(appointment, first=first, by=by, prefix=prefix))
    hours = [(f"{minute // 60:02d}:00", (minute - first) * MINUTE_PX) for minute in range(first, last, 60)]
    context = {
        "form": form,
        "location": location,
        "day": day,
        "previous_day": day - timedelta(days=1),
        "next_day": day + timedelta(days=1),
        "week_start": day - timedelta(days=day.weekday()),
        "columns": columns,
        "hours": hours,
        "grid_height": (last - first) * MINUTE_PX,
        "appointments": appointments,
        "by": by,
        "query": _query(request, exclude=("on",)),
        "can_book": request.user.can("appointment.book"),  # type: ignore[union-attr]
        "can_manage": request.user.can("schedule.manage"),  # type: ignore[union-attr]
    }
    template = "scheduling/day.html#calendar" if request.htmx else "scheduling/day.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


def _week_item(appointment: selectors.CalendarEntry, *, prefix: str) -> SafeString:
    """One line of the week view as HTML (escaped here; see `_block`)."""
    badge = "" if appointment.status == Appointment.Status.BOOKED else f' <span class="badge">{escape(appointment.status_label)}</span>'
    text = escape(
        f"{appointment.patient_family_name.upper()}, {appointment.patient_given_name[:1]}. · {appointment.practitioner_last_name}"
    )
    return mark_safe(  # noqa: S308 (the text is escaped; the rest are fixed words and numbers)
        f'<li class="{appointment.kind}"><a href="{prefix}{appointment.pk}/">'
        f"<strong>{appointment.starts_at:%H:%M}</strong> {text}{badge}</a></li>"
    )


def _query(request: HttpRequest, *, exclude: tuple[str, ...]) -> str:
    query = request.GET.copy()
    for name in exclude:
        query.pop(name, None)
    return query.urlencode()


@require("schedule.view")
@require_GET
def week_view(request: HttpRequest) -> HttpResponse:
    form, location = _calendar_form(request)
    status = 200 if form.is_valid() else 400
    day = (form.cleaned_data.get("on") if form.is_valid() else None) or _today(location)
    start = day - timedelta(days=day.weekday())
    per_day = WEEK_PER_DAY
    week: dict[date, list[selectors.CalendarEntry]] = {start + timedelta(days=n): [] for n in range(7)}
    entries = selectors.calendar_entries(
        scope=_scope(request), location=location, first_on=start, last_on=start + timedelta(days=6), per_day=per_day + 1, **_filters(form)
    )  # "+1": to know a day has more than the page lists
    for entry in entries:
        week[entry.starts_at.date()].append(entry)
    count = sum(min(len(rows), per_day) for rows in week.values())  # the appointments the page shows
    selectors.record_calendar_view(_ctx(request), location=location, screen="week", on=start, count=count)
    prefix, today = _detail_prefix(), _today(location)
    days = [
        {"day": d, "rows": [_week_item(a, prefix=prefix) for a in rows[:per_day]], "more": len(rows) > per_day, "today": d == today}
        for d, rows in week.items()
    ]
    context = {
        "form": form,
        "location": location,
        "days": days,
        "week_start": start,
        "previous_week": start - timedelta(days=7),
        "next_week": start + timedelta(days=7),
        "query": _query(request, exclude=("on",)),
        "can_book": request.user.can("appointment.book"),  # type: ignore[union-attr]
    }
    template = "scheduling/week.html#calendar" if request.htmx else "scheduling/week.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


# --- booking -----------------------------------------------------------------------------------------


def _slots_for(details: forms.BookingDetailsForm, *, exclude_ids: tuple[int, ...] = ()) -> list[Slot]:
    data = details.cleaned_data
    return selectors.free_slots(
        location=data["location"],
        on=data["on"],
        numbing_minutes=data["numbing_minutes"],
        procedure_minutes=data["procedure_minutes"],
        practitioner=data.get("practitioner"),
        needs_device=data["needs_device"],
        patient_id=data["patient"].pk,
        exclude_appointment_ids=exclude_ids,
    )


@dataclass(frozen=True)
class SlotOption:
    slot: Slot
    label: str
    detail: str


def slot_options(location: Location, slots: list[Slot], *, with_date: bool | None = None) -> list[SlotOption]:
    """Slots with people's, rooms' and devices' names (three queries, whatever the number of slots)."""
    people = {user.pk: user for user in User.objects.filter(pk__in={s.practitioner_id for s in slots})}
    rooms = {room.pk: room for room in Room.objects.filter(pk__in={s.room_id for s in slots})}
    devices = {device.pk: device for device in Device.objects.filter(pk__in={s.device_id for s in slots if s.device_id})}
    options = []
    one_day = not with_date if with_date is not None else len({location.local(slot.starts_at).date() for slot in slots}) == 1
    for slot in slots:
        local = location.local(slot.starts_at)
        parts = [str(people[slot.practitioner_id]), rooms[slot.room_id].name]
        if slot.device_id:
            parts.append(f"{devices[slot.device_id].model} #{devices[slot.device_id].serial_number}")
        options.append(SlotOption(slot, f"{local:%H:%M}" if one_day else f"{local:%a %d %b %H:%M}", " · ".join(parts)))
    return options


def _patient_picker(request: HttpRequest, *, query: str) -> dict[str, Any]:
    if not query:
        return {"patient_query": "", "patient_results": None}
    result = patient_selectors.search_patients(ctx=_ctx(request), scope=_scope(request), query=query, page=1, page_size=10)
    return {"patient_query": query, "patient_results": result.patients}


@require("appointment.book")
def appointment_new(request: HttpRequest) -> HttpResponse:
    """Book one appointment: find the patient → choose what and when → pick a free time → book."""
    scope = _scope(request)
    source = request.POST if request.method == "POST" else request.GET
    location = _location(request, source.get("location", ""))
    context: dict[str, Any] = {"location": location, "action": reverse("scheduling:appointment-new")}
    status = 200
    if not source.get("patient"):
        context.update(_patient_picker(request, query=source.get("q", "")[:100]))
        if request.htmx and "q" in source:  # type: ignore[attr-defined]
            return render(request, "scheduling/_patient_picker.html#patient-results", context)
        return render(request, "scheduling/appointment_new.html", context)

    initial_kind = source.get("kind") or Appointment.Kind.TREATMENT
    numbing, procedure = forms.DEFAULT_MINUTES.get(initial_kind, (30, 30))  # type: ignore[call-overload]
    defaults = {
        "location": location.pk,
        "kind": initial_kind,
        "numbing_minutes": numbing,
        "procedure_minutes": procedure,
        "on": _today(location),
    }
    data = {**defaults, **source.dict()} if request.method == "GET" else source
    details = forms.BookingDetailsForm(data, scope=scope, location=location)
    choice = forms.SlotChoiceForm(request.POST if request.method == "POST" else None, location=location)
    context.update({"details": details, "choice": choice})
    if details.is_valid():
        patient = details.cleaned_data["patient"]
        context["patient"] = patient
        if request.method == "POST" and choice.is_valid():
            chosen: forms.ChosenSlot = choice.cleaned_data["slot"]
            try:
                appointment = services.book_appointment(
                    ctx=_ctx(request),
                    location=details.cleaned_data["location"],
                    patient=patient,
                    practitioner=chosen.practitioner,
                    room=chosen.room,
                    device=chosen.device,
                    starts_at=chosen.starts_at,
                    kind=details.cleaned_data["kind"],
                    numbing_minutes=details.cleaned_data["numbing_minutes"],
                    procedure_minutes=details.cleaned_data["procedure_minutes"],
                    notes=choice.cleaned_data["notes"],
                )
            except services.SlotUnavailable as taken:
                context["conflict"] = taken
                context["alternatives"] = slot_options(location, taken.alternatives, with_date=True)
                status = 409
            except services.BookingRefused as refused:
                context["refusal"] = refused.message
                status = 400
            else:
                local = appointment.local_starts_at()
                messages.success(request, f"Booked {patient.full_name} on {local:%A %d %B at %H:%M} with {appointment.practitioner}.")
                return redirect("scheduling:appointment-detail", pk=appointment.pk)
        elif request.method == "POST":
            status = 400
        context["slots"] = slot_options(location, _slots_for(details))
    else:
        status = 400
        if details.cleaned_data.get("patient") if hasattr(details, "cleaned_data") else None:
            context["patient"] = details.cleaned_data["patient"]
    if request.htmx and request.method == "GET":  # type: ignore[attr-defined]
        return render(request, "scheduling/appointment_new.html#slots", context, status=status)
    if context.get("patient") is not None:
        _record_patient_shown(request, context["patient"], screen="booking")
    return render(request, "scheduling/appointment_new.html", context, status=status)


@require("schedule.view")
@require_GET
def appointment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        appointment = selectors.view_appointment(ctx=_ctx(request), scope=_scope(request), pk=pk)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment in your locations") from None
    user = request.user
    context = {
        "appointment": appointment,
        "series": selectors.series_of(appointment) if appointment.series_key else [],
        "can_book": user.can("appointment.book"),  # type: ignore[union-attr]
        "can_attend": user.can("appointment.attend"),  # type: ignore[union-attr]
        "cancel_form": forms.CancelForm(),
        "now": timezone.now(),
        "check_in_open": _check_in_open(appointment),
        "arrival": _arrival(appointment),
        "actions": hooks.appointment_actions(user, appointment),
        "protocol": catalog_selectors.protocol_name(appointment.protocol_key),
    }
    return render(request, "scheduling/appointment_detail.html", context)


def _check_in_open(appointment: Appointment) -> bool:
    now = timezone.now()
    return appointment.location.local(now).date() == appointment.local_starts_at().date() and now < appointment.ends_at


def _arrival(appointment: Appointment) -> arrival.ArrivalCheck | None:
    """The screening check shown beside "Check in" (booked appointments only)."""
    return arrival.arrival_check(appointment) if appointment.status == Appointment.Status.BOOKED else None


def _status_change(request: HttpRequest, pk: int, change: Any, done: str) -> HttpResponse:
    appointment = _appointment(request, pk)
    try:
        change(ctx=_ctx(request), appointment=appointment)
    except services.SchedulingError as refused:
        messages.error(request, refused.message)
        response = appointment_detail_response(request, appointment, status=409)
        return response
    messages.success(request, done)
    return redirect("scheduling:appointment-detail", pk=appointment.pk)


def appointment_detail_response(request: HttpRequest, appointment: Appointment, *, status: int, cancel_form: Any = None) -> HttpResponse:
    appointment.refresh_from_db()
    context = {
        "appointment": appointment,
        "series": selectors.series_of(appointment) if appointment.series_key else [],
        "can_book": request.user.can("appointment.book"),  # type: ignore[union-attr]
        "can_attend": request.user.can("appointment.attend"),  # type: ignore[union-attr]
        "cancel_form": cancel_form or forms.CancelForm(),
        "now": timezone.now(),
        "check_in_open": _check_in_open(appointment),
        "arrival": _arrival(appointment),
        "actions": hooks.appointment_actions(request.user, appointment),
        "protocol": catalog_selectors.protocol_name(appointment.protocol_key),
    }
    return render(request, "scheduling/appointment_detail.html", context, status=status)


@require_POST
@require("appointment.attend")
def appointment_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_change(request, pk, arrival.check_in_patient, "Checked in.")


@require_POST
@require("appointment.attend")
def appointment_no_show(request: HttpRequest, pk: int) -> HttpResponse:
    return _status_change(request, pk, services.mark_no_show, "Marked as not attended.")


@require_POST
@require("appointment.book")
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = _appointment(request, pk)
    form = forms.CancelForm(request.POST)
    if not form.is_valid():
        return appointment_detail_response(request, appointment, status=400, cancel_form=form)
    try:
        services.cancel_appointment(ctx=_ctx(request), appointment=appointment, reason=form.cleaned_data["reason"])
    except services.SchedulingError as refused:
        messages.error(request, refused.message)
        return appointment_detail_response(request, appointment, status=409)
    messages.success(request, "Cancelled. Waitlisted patients who wanted this day have been offered the time.")
    return redirect("scheduling:appointment-detail", pk=appointment.pk)


@require("appointment.book")
def appointment_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick a new free time for one appointment; then, for a series, offer to shift the later ones."""
    appointment = _appointment(request, pk)
    location = appointment.location
    status = 200
    source = request.POST if request.method == "POST" else request.GET
    search = forms.RescheduleForm({"on": appointment.local_starts_at().date(), **source.dict()}, location=location)
    choice = forms.SlotChoiceForm(request.POST if request.method == "POST" else None, location=location)
    context: dict[str, Any] = {"appointment": appointment, "search": search, "choice": choice}
    if not request.htmx:  # type: ignore[attr-defined]
        _record_patient_shown(request, appointment.patient, screen="reschedule")
    if appointment.status != Appointment.Status.BOOKED:
        context["refusal"] = f"This appointment is {appointment.get_status_display().lower()}; only booked appointments can move."
        return render(request, "scheduling/appointment_reschedule.html", context, status=409 if request.method == "POST" else 200)
    if search.is_valid():
        if request.method == "POST" and choice.is_valid():
            chosen: forms.ChosenSlot = choice.cleaned_data["slot"]
            previous = appointment.starts_at
            try:
                moved = services.reschedule_appointment(
                    ctx=_ctx(request),
                    appointment=appointment,
                    starts_at=chosen.starts_at,
                    practitioner=chosen.practitioner,
                    room=chosen.room,
                    device=chosen.device,
                    keep_device=False,
                    override_reason=request.POST.get("override_reason", ""),
                )
            except services.SlotUnavailable as taken:
                context["conflict"] = taken
                context["alternatives"] = slot_options(location, taken.alternatives, with_date=True)
                status = 409
            except services.MoveNeedsOverride as refused:
                context["refusal"], context["overridable"] = refused.message, refused.overridable
                context["override_reason"] = request.POST.get("override_reason", "")[:300]
                status = 409
            except services.SchedulingError as refused:
                context["refusal"] = refused.message
                status = 400
            else:
                messages.success(request, f"Moved to {moved.local_starts_at():%A %d %B at %H:%M}.")
                if selectors.later_in_series(moved):
                    return redirect(f"{reverse('scheduling:series-shift', args=[moved.pk])}?from={int(previous.timestamp())}")
                return redirect("scheduling:appointment-detail", pk=moved.pk)
        elif request.method == "POST":
            status = 400
        context["slots"] = slot_options(
            location,
            selectors.free_slots(
                location=location,
                on=search.cleaned_data["on"],
                numbing_minutes=appointment.numbing_minutes,
                procedure_minutes=appointment.procedure_minutes,
                practitioner=search.cleaned_data.get("practitioner"),
                needs_device=appointment.device_id is not None,
                patient_id=appointment.patient_id,
                exclude_appointment_ids=[appointment.pk],
            ),
        )
    else:
        status = 400
    if request.htmx and request.method == "GET":  # type: ignore[attr-defined]
        return render(request, "scheduling/appointment_reschedule.html#slots", context, status=status)
    return render(request, "scheduling/appointment_reschedule.html", context, status=status)


@require("appointment.book")
def series_shift(request: HttpRequest, pk: int) -> HttpResponse:
    """Offer (GET) and apply (POST) moving the later appointments of a series after one moved."""
    appointment = _appointment(request, pk)
    raw = request.POST.get("from") or request.GET.get("from", "")
    if not raw.isdigit() or len(raw) > 12:
        return render(
            request,
            "core/error.html",
            {"title": "Which move?", "message": "This page needs the time the appointment moved from."},
            status=400,
        )
    previous = datetime.fromtimestamp(int(raw), tz=UTC)
    proposals = selectors.propose_series_shift(moved=appointment, previous_starts_at=previous)
    context: dict[str, Any] = {
        "appointment": appointment,
        "proposals": [
            (proposal, slot_options(appointment.location, [proposal.slot], with_date=True)[0] if proposal.slot else None)
            for proposal in proposals
        ],
        "previous": appointment.location.local(previous),
        "from": raw,
    }
    status = 200
    if request.method == "POST":
        chosen_ids = {int(value) for value in request.POST.getlist("move") if value.isdigit() and len(value) < 18}
        moves = [
            services.SeriesMove(appointment=p.appointment, starts_at=p.slot.starts_at, **_slot_resources(p.slot))
            for p in proposals
            if p.slot is not None and p.appointment.pk in chosen_ids
        ]
        if not moves:
            messages.info(request, "The later appointments stay where they were.")
            return redirect("scheduling:appointment-detail", pk=appointment.pk)
        try:
            services.reschedule_series(ctx=_ctx(request), moves=moves, override_reason=request.POST.get("override_reason", ""))
        except services.SchedulingError as refused:
            context["refusal"] = refused.message
            context["overridable"] = getattr(refused, "overridable", False)
            context["override_reason"] = request.POST.get("override_reason", "")[:300]
            status = 409
        else:
            messages.success(request, f"Moved {len(moves)} later appointment{'s' if len(moves) != 1 else ''} of the series.")
            return redirect("scheduling:appointment-detail", pk=appointment.pk)
    return render(request, "scheduling/series_shift.html", context, status=status)


def _slot_resources(slot: Slot) -> dict[str, Any]:
    return {
        "practitioner": User.objects.get(pk=slot.practitioner_id),
        "room": Room.objects.get(pk=slot.room_id),
        "device": Device.objects.get(pk=slot.device_id) if slot.device_id else None,
        "keep_device": False,
    }


# --- waitlist ---------------------------------------------------------------------------------------------


@require("waitlist.manage")
def waitlist(request: HttpRequest) -> HttpResponse:
    location = _location(request)
    view = selectors.waitlist_at(scope=_scope(request), location=location)
    audit.record(
        _ctx(request),
        action=AuditEvent.Action.VIEW,
        object_type="waitlist",
        object_id=location.pk,
        location_id=location.pk,
        detail={"entries": len(view.entries)},
    )
    locations = Location.objects.filter(pk__in=_scope(request)).order_by("name")
    return render(request, "scheduling/waitlist.html", {"location": location, "view": view, "locations": locations})


@require("waitlist.manage")
def waitlist_new(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    source = request.POST if request.method == "POST" else request.GET
    location = _location(request, source.get("location", ""))
    context: dict[str, Any] = {"location": location, "action": reverse("scheduling:waitlist-new")}
    if not source.get("patient"):
        context.update(_patient_picker(request, query=source.get("q", "")[:100]))
        if request.htmx and "q" in source:  # type: ignore[attr-defined]
            return render(request, "scheduling/_patient_picker.html#patient-results", context)
        return render(request, "scheduling/waitlist_form.html", context)
    today = _today(location)
    initial = {
        "location": location.pk,
        "earliest_on": today,
        "latest_on": today + timedelta(days=14),
        "kind": "treatment",
        "numbing_minutes": 30,
        "procedure_minutes": 30,
    }
    form = forms.WaitlistForm(source if request.method == "POST" else {**initial, **source.dict()}, scope=scope, location=location)
    context["form"] = form
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.add_to_waitlist(
                    ctx=_ctx(request),
                    location=data["location"],
                    patient=data["patient"],
                    earliest_on=data["earliest_on"],
                    latest_on=data["latest_on"],
                    practitioner=data.get("practitioner"),
                    kind=data["kind"],
                    numbing_minutes=data["numbing_minutes"],
                    procedure_minutes=data["procedure_minutes"],
                    needs_device=data["needs_device"],
                    notes=data["notes"],
                )
            except services.SchedulingError as refused:
                form.add_error(None, refused.message)
                status = 400
            else:
                messages.success(request, f"{data['patient'].full_name} is on the waitlist.")
                return redirect(f"{reverse('scheduling:waitlist')}?location={data['location'].pk}")
        else:
            status = 400
    if form.is_bound and "patient" in getattr(form, "cleaned_data", {}):
        context["patient"] = form.cleaned_data["patient"]
    elif source.get("patient", "").isdigit() and len(source["patient"]) < 18:
        context["patient"] = Patient.objects.filter(pk=int(source["patient"]), location_id__in=scope).first()
    if context.get("patient") is not None:
        _record_patient_shown(request, context["patient"], screen="waitlist")
    return render(request, "scheduling/waitlist_form.html", context, status=status)


@require_POST
@require("waitlist.manage")
def waitlist_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = WaitlistEntry.objects.filter(pk=pk, location_id__in=_scope(request)).first()
    if entry is None:
        raise Http404("No such waitlist entry in your locations")
    form = forms.WaitlistRemoveForm(request.POST, record=entry)
    status = 400
    if form.is_valid():
        try:
            services.remove_from_waitlist(ctx=_ctx(request), entry=entry, expected_version=form.expected_version)
        except StaleEdit as stale:
            form.refuse_stale(stale)  # e.g. "Status: you loaded “Waiting”, it is now “Booked”"
            status = 409
    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        view = selectors.waitlist_at(scope=_scope(request), location=entry.location)
        audit.record(
            _ctx(request),
            action=AuditEvent.Action.VIEW,
            object_type="waitlist",
            object_id=entry.location_id,
            location_id=entry.location_id,
            detail={"entries": len(view.entries)},
        )
        return render(request, "scheduling/waitlist.html", {"location": entry.location, "view": view, "locations": []}, status=status)
    messages.success(request, "Removed from the waitlist.")
    return redirect(f"{reverse('scheduling:waitlist')}?location={entry.location_id}")


@require_POST
@require("appointment.book")
def waitlist_offer_book(request: HttpRequest, pk: int) -> HttpResponse:
    offer = (
        WaitlistOffer.objects.filter(pk=pk, entry__location_id__in=_scope(request))
        .select_related(
            "entry__location", "entry__patient", "freed_appointment__practitioner", "freed_appointment__room", "freed_appointment__device"
        )
        .first()
    )
    if offer is None:
        raise Http404("No such offer in your locations")
    try:
        appointment = services.book_waitlist_offer(ctx=_ctx(request), offer=offer)
    except services.SchedulingError as refused:
        messages.error(request, f"Could not book it: {refused.message}")
        location = offer.entry.location
        view = selectors.waitlist_at(scope=_scope(request), location=location)
        return render(request, "scheduling/waitlist.html", {"location": location, "view": view, "locations": []}, status=409)
    messages.success(request, f"Booked {offer.entry.patient.full_name} into the freed time.")
    return redirect("scheduling:appointment-detail", pk=appointment.pk)


# --- working time (managers) ------------------------------------------------------------------------------


def _working_time_context(request: HttpRequest, location: Location, **forms_in_use: Any) -> dict[str, Any]:
    policy = selectors.policy_for(location)
    since = timezone.now()
    return {
        "location": location,
        "locations": Location.objects.filter(pk__in=_scope(request)).order_by("name"),
        "hours": selectors.working_hours_at(location),
        "time_off": selectors.time_off_at(location, since=since),
        "closures": selectors.closures_at(location, since=since),
        "policy": policy,
        "hours_form": forms_in_use.get("hours_form") or forms.WorkingHoursForm(None, location=location, auto_id="hours_%s"),
        "time_off_form": forms_in_use.get("time_off_form") or forms.TimeOffForm(None, location=location, auto_id="off_%s"),
        "closure_form": forms_in_use.get("closure_form") or forms.ClosureForm(None, location=location, auto_id="closure_%s"),
        "policy_form": forms_in_use.get("policy_form")
        or forms.PolicyForm(
            initial={"numbing_in_waiting_area": policy.numbing_in_waiting_area, "slot_minutes": policy.slot_minutes},
            auto_id="policy_%s",
            record=policy,
        ),
    }


@require("schedule.manage")
@require_GET
def working_time(request: HttpRequest) -> HttpResponse:
    location = _location(request)
    return render(request, "scheduling/working_time.html", _working_time_context(request, location))


def _back_to_working_time(location: Location) -> HttpResponseRedirect:
    return redirect(f"{reverse('scheduling:working-time')}?location={location.pk}")


@require_POST
@require("schedule.manage")
def working_hours_new(request: HttpRequest) -> HttpResponse:
    location = _location(request, request.POST.get("location", ""))
    form = forms.WorkingHoursForm(request.POST, location=location, auto_id="hours_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.add_working_hours(
                ctx=_ctx(request),
                user=data["user"],
                location=location,
                weekday=data["weekday"],
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
            )
        except services.SchedulingError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, "Working hours added.")
            return _back_to_working_time(location)
    return render(request, "scheduling/working_time.html", _working_time_context(request, location, hours_form=form), status=400)


@require_POST
@require("schedule.manage")
def working_hours_delete(request: HttpRequest, pk: int) -> HttpResponse:
    hours = WorkingHours.objects.filter(pk=pk, location_id__in=_scope(request)).select_related("location").first()
    if hours is None:
        raise Http404("No such working hours in your locations")
    services.remove_working_hours(ctx=_ctx(request), hours=hours)
    messages.success(request, "Working hours removed.")
    return _back_to_working_time(hours.location)


@require_POST
@require("schedule.manage")
def time_off_new(request: HttpRequest) -> HttpResponse:
    location = _location(request, request.POST.get("location", ""))
    form = forms.TimeOffForm(request.POST, location=location, auto_id="off_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            _, affected = services.add_time_off(
                ctx=_ctx(request),
                user=data["user"],
                location=location,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
            )
        except services.SchedulingError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, "Time off recorded.")
            if affected:
                messages.warning(
                    request, f"{affected} booked appointment{'s fall' if affected != 1 else ' falls'} in this time off: move them."
                )
            return _back_to_working_time(location)
    return render(request, "scheduling/working_time.html", _working_time_context(request, location, time_off_form=form), status=400)


@require_POST
@require("schedule.manage")
def time_off_delete(request: HttpRequest, pk: int) -> HttpResponse:
    location = _location(request, request.POST.get("location", ""))
    members = selectors.practitioners_at(location).values("id")
    time_off = TimeOff.objects.filter(pk=pk, user_id__in=members).first()
    if time_off is None:
        raise Http404("No such time off at this location")
    services.remove_time_off(ctx=_ctx(request), time_off=time_off, location=location)
    messages.success(request, "Time off removed.")
    return _back_to_working_time(location)


@require_POST
@require("schedule.manage")
def closure_new(request: HttpRequest) -> HttpResponse:
    location = _location(request, request.POST.get("location", ""))
    form = forms.ClosureForm(request.POST, location=location, auto_id="closure_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            _, affected = services.add_closure(
                ctx=_ctx(request), location=location, starts_at=data["starts_at"], ends_at=data["ends_at"], reason=data["reason"]
            )
        except services.SchedulingError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, "Closure recorded.")
            if affected:
                messages.warning(
                    request, f"{affected} booked appointment{'s fall' if affected != 1 else ' falls'} in this closure: move them."
                )
            return _back_to_working_time(location)
    return render(request, "scheduling/working_time.html", _working_time_context(request, location, closure_form=form), status=400)


@require_POST
@require("schedule.manage")
def closure_delete(request: HttpRequest, pk: int) -> HttpResponse:
    closure = Closure.objects.filter(pk=pk, location_id__in=_scope(request)).select_related("location").first()
    if closure is None:
        raise Http404("No such closure in your locations")
    services.remove_closure(ctx=_ctx(request), closure=closure)
    messages.success(request, "Closure removed.")
    return _back_to_working_time(closure.location)


@require_POST
@require("schedule.manage")
def policy_edit(request: HttpRequest) -> HttpResponse:
    location = _location(request, request.POST.get("location", ""))
    form = forms.PolicyForm(request.POST, auto_id="policy_%s", record=selectors.policy_for(location))
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.set_policy(
                ctx=_ctx(request),
                location=location,
                numbing_in_waiting_area=data["numbing_in_waiting_area"],
                slot_minutes=data["slot_minutes"],
                expected_version=form.expected_version,
            )
        except StaleEdit as stale:
            form.refuse_stale(stale)
            status = 409
        else:
            messages.success(request, "Scheduling settings saved.")
            return _back_to_working_time(location)
    return render(request, "scheduling/working_time.html", _working_time_context(request, location, policy_form=form), status=status)


# --- the practitioner's own page and calendar feed -----------------------------------------------------------


def _signed_in(request: HttpRequest) -> User:
    return cast(User, request.user)


def _my_schedule(request: HttpRequest, *, feed_url: str | None) -> HttpResponse:
    user = _signed_in(request)
    now = timezone.now()
    appointments = selectors.practitioner_appointments(practitioner=user, start=now - timedelta(hours=12), end=now + timedelta(days=14))
    audit.record(
        _ctx(request),
        action=AuditEvent.Action.VIEW,
        object_type="schedule",
        object_id=user.pk,
        detail={"screen": "mine", "appointments": len(appointments)},
    )
    context = {
        "appointments": appointments,
        "has_feed": feed_url is not None or CalendarFeed.objects.filter(user=user).exists(),
        "feed_url": feed_url,
        "hours": WorkingHours.objects.filter(user=user).select_related("location").order_by("location__name", "weekday", "starts_at"),
    }
    response = render(request, "scheduling/my_schedule.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require("schedule.own_feed")
@require_GET
def my_schedule(request: HttpRequest) -> HttpResponse:
    return _my_schedule(request, feed_url=None)


@require_POST
@require("schedule.own_feed")
def my_feed(request: HttpRequest) -> HttpResponse:
    """Create or replace the feed's secret: the URL is shown once, here (only its hash is kept)."""
    user = _signed_in(request)
    if request.POST.get("action") == "revoke":
        services.revoke_calendar_feed(ctx=_ctx(request), user=user)
        messages.success(request, "Your calendar feed is switched off. Calendar apps subscribed to it will stop updating.")
        return redirect("scheduling:mine")
    token = services.regenerate_calendar_feed(ctx=_ctx(request), user=user)
    return _my_schedule(request, feed_url=request.build_absolute_uri(reverse("scheduling:ical-feed", args=[token])))


FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 180


@require_GET
def ical_feed(request: HttpRequest, token: str) -> HttpResponse:
    """A practitioner's private feed (no sign-in: the secret URL is the key). Patient initials only."""
    if len(token) > 100:
        raise Http404("No such calendar")
    feed = CalendarFeed.objects.filter(token_hash=CalendarFeed.hash_token(token)).select_related("user").first()
    if feed is None or not feed.user.is_active:
        raise Http404("No such calendar")
    now = timezone.now()
    appointments = selectors.practitioner_appointments(
        practitioner=feed.user, start=now - timedelta(days=FEED_PAST_DAYS), end=now + timedelta(days=FEED_FUTURE_DAYS)
    )
    audit.record(
        audit.AuditContext(actor=None, ip_address=audit.client_ip(request), path="/schedule/ical/"),
        action=AuditEvent.Action.EXPORT,
        object_type="calendar-feed",
        object_id=feed.user_id,
        detail={"appointments": len(appointments)},
    )
    body = ical.practitioner_ics(appointments, name=f"Mesoclinic — {feed.user.get_full_name() or feed.user.username}")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="mesoclinic.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response
