from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mesoclinic.accounts.decorators import require
from mesoclinic.catalog.models import Protocol
from mesoclinic.catalog.selectors import CatalogNotLoaded
from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.patients import selectors as patient_selectors
from mesoclinic.patients.models import Patient
from mesoclinic.screening.selectors import Eligibility, eligibility

from . import selectors, services
from .forms import MoveSessionForm, PlanForm, PrescribeCourseForm, ProposalForm, ProtocolChoiceForm, StopCourseForm, default_start
from .models import Course, CourseSession
from .planner import Choice, CoursePlanner, ProposedSession

MAX_ID = 2**63 - 1


def _scope(request: HttpRequest) -> frozenset[int]:
    return request.user.location_ids  # type: ignore[union-attr]


def _id_param(request: HttpRequest, name: str, *, required: bool = True) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        if required:
            raise BadRequest(f"Say which {name} (?{name}=<number>).")
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) <= MAX_ID):
        raise BadRequest(f"The {name} must be a record number.")
    return int(raw)


def _course_or_404(request: HttpRequest, pk: int, *, screen: str) -> Course:
    try:
        return selectors.view_course(ctx=audit.context_from_request(request), scope=_scope(request), pk=pk, screen=screen)
    except Course.DoesNotExist:
        raise Http404("No such course in your locations") from None


# --- the list -----------------------------------------------------------------------------------------

MAX_PAGE = 1000


@require_safe
@require("course.view")
def course_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", Course.Status.PLANNED)
    if status not in Course.Status.values:
        raise BadRequest("Choose a status: planned, active, completed or stopped.")
    raw = request.GET.get("page", "1").strip() or "1"
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_PAGE):
        raise BadRequest(f"The page must be a whole number from 1 to {MAX_PAGE}.")
    result = selectors.courses_to_work_on(ctx=audit.context_from_request(request), scope=_scope(request), status=status, page=int(raw))
    return render(request, "courses/course_list.html", {"result": result, "statuses": Course.Status.choices})


# --- prescribing ------------------------------------------------------------------------------------


def _verdicts(patient: Patient, protocol: Protocol) -> list[tuple[str, Eligibility]]:
    """The screening verdict for the protocol at each of its areas (shown before prescribing)."""
    return [
        (area.name, eligibility(patient=patient, protocol=protocol, area_keys=[area.key]))
        for area in protocol.areas.order_by("position", "name")
    ]


@require_http_methods(["GET", "HEAD", "POST"])
@require("course.prescribe")
def course_new(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    ctx = audit.context_from_request(request)
    patient_id = _id_param(request, "patient")
    try:
        patient = patient_selectors.get_patient(scope=scope, pk=patient_id)  # type: ignore[arg-type]
    except Patient.DoesNotExist:
        raise Http404("No such patient in your locations") from None
    chooser = ProtocolChoiceForm(request.GET if "protocol" in request.GET else None)
    protocol = chooser.cleaned_data["protocol"] if chooser.is_bound and chooser.is_valid() else None
    status = 400 if chooser.is_bound and protocol is None else 200
    form = None
    verdicts: list[tuple[str, Eligibility]] = []
    allergies: list[str] = []
    if protocol is not None:
        posted = request.method == "POST"
        allergies = services.allergy_conflicts(patient=patient, protocol=protocol)
        form = PrescribeCourseForm(
            request.POST if posted else None, protocol=protocol, scope=scope, default_location=patient.location, allergies=allergies
        )
        verdicts = _verdicts(patient, protocol)
        if posted:
            if form.is_valid():
                data = form.cleaned_data
                try:
                    course = services.prescribe_course(
                        ctx=ctx,
                        patient=patient,
                        protocol=protocol,
                        concern=data["concern"],
                        area_keys=[area.key for area in data["areas"]],
                        sessions=data["sessions"],
                        interval_min_days=data["interval_min_days"],
                        interval_max_days=data["interval_max_days"],
                        preferred_practitioner=data["preferred_practitioner"],
                        techniques=list(data["techniques"]),
                        location=data["location"],
                        allergy_reason=data.get("allergy_reason", ""),
                    )
                except services.CourseRefused as refused:
                    form.add_error(None, refused.as_validation_error())
                    status = 400
                except services.NotEligible as refused:
                    form.add_error(None, f"Not allowed by the screening: {refused.eligibility.explanation}")
                    status = 409
                except CatalogNotLoaded as missing:
                    form.add_error(None, str(missing))
                    status = 409
                else:
                    messages.success(
                        request, f"Course prescribed: {course.sessions_planned} sessions of {protocol.name}. Now plan and book it."
                    )
                    return redirect("courses:detail", pk=course.pk)
            else:
                status = 400
    patient_selectors.record_view(ctx=ctx, patient=patient, screen="prescribe-course")
    context = {
        "patient": patient,
        "chooser": chooser,
        "protocol": protocol,
        "form": form,
        "verdicts": verdicts,
        "allergies": allergies if protocol is not None else [],
        "allowed": any(verdict.allows_booking for _, verdict in verdicts),
    }
    return render(request, "courses/course_form.html", context, status=status)


# --- the course page: planning and booking --------------------------------------------------------


def _plan_page(
    request: HttpRequest,
    course: Course,
    *,
    planner: CoursePlanner | None,
    rows: list[ProposedSession] | None,
    proposal: ProposalForm | None = None,
    plan_form: PlanForm | None = None,
    status: int = 200,
    notice: str = "",
) -> HttpResponse:
    can_book = request.user.can("course.book") and course.is_open  # type: ignore[union-attr]
    if rows is not None and planner is not None:
        planner.describe(rows)
    table: list[dict[str, Any]] = []
    for row in rows or []:
        item: dict[str, Any] = {"row": row}
        if proposal is not None and not row.fixed and f"s{row.number}-on" in proposal.fields:
            item.update(
                on=proposal[f"s{row.number}-on"], at=proposal[f"s{row.number}-at"], practitioner=proposal[f"s{row.number}-practitioner"]
            )
        table.append(item)
    context: dict[str, Any] = {
        "course": course,
        "progress": selectors.progress_of(course),
        "planner": planner,
        "rows": rows,
        "table": table,
        "proposal": proposal,
        "plan_form": plan_form,
        "can_book": can_book,
        "can_stop": request.user.can("course.stop") and course.is_open,  # type: ignore[union-attr]
        "to_book": [row for row in rows or [] if not row.fixed],
        "bookable": bool(rows) and all(row.bookable for row in rows or [] if not row.fixed) and any(not row.fixed for row in rows or []),
        "practitioners": planner.qualified_choices() if planner is not None else [],
        "notice": notice,
        "areas": list(course.areas.all()),
        "techniques": list(course.techniques.all()),
        "stop_form": StopCourseForm(record=course),
        "window_overrides": selectors.window_overrides(course),
    }
    template = "courses/course_detail.html#proposal" if request.htmx else "courses/course_detail.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


def _needs_plan(course: Course) -> bool:
    return course.is_open and any(not session.holds_time for session in course.sessions.all())


@require_safe
@require("course.view")
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course = _course_or_404(request, pk, screen="course")
    if not (_needs_plan(course) and request.user.can("course.book")):  # type: ignore[union-attr]
        return _plan_page(request, course, planner=None, rows=None)
    planner = CoursePlanner(course)
    today = planner.today
    given = "start_on" in request.GET
    plan_form = PlanForm(request.GET if given else None, today=today, initial={"start_on": default_start(today)})
    if given and not plan_form.is_valid():
        return _plan_page(request, course, planner=planner, rows=None, plan_form=plan_form, status=400)
    start_on = plan_form.cleaned_data["start_on"] if given else default_start(today)
    at_time = plan_form.cleaned_data.get("at_time") if given else None
    rows = planner.plan(start_on=start_on, at_time=at_time)
    proposal = _proposal_form(planner, rows, data=None, start_on=start_on)
    return _plan_page(request, course, planner=planner, rows=rows, proposal=proposal, plan_form=plan_form)


def _proposal_form(planner: CoursePlanner, rows: list[ProposedSession], data: Any, start_on: date | None = None) -> ProposalForm:
    numbers = [row.number for row in rows if not row.fixed]
    return ProposalForm(
        data,
        numbers=numbers,
        practitioners=planner.qualified_choices(),
        today=planner.today,
        initial=ProposalForm.initial_for(rows, start_on),
    )


def _posted_proposal(request: HttpRequest, course: Course) -> tuple[CoursePlanner, ProposalForm, list[ProposedSession] | None]:
    """Parse the proposal table; on valid input, re-check every row (the room and Dermapen are chosen here)."""
    planner = CoursePlanner(course)
    numbers = [session.number for session in planner.sessions if not session.holds_time]
    form = ProposalForm(request.POST, numbers=numbers, practitioners=planner.qualified_choices(), today=planner.today)
    if not form.is_valid():
        return planner, form, None
    rows = planner.plan(start_on=form.cleaned_data.get("start_on"), choices=form.choices())
    return planner, form, rows


@require_POST
@require("course.book")
def course_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Re-check the proposal after the receptionist changed a session (htmx replaces the table)."""
    course = _course_or_404(request, pk, screen="course-plan")
    if not _needs_plan(course):
        return _plan_page(request, course, planner=None, rows=None, status=409, notice="Every session of this course is already booked.")
    planner, form, rows = _posted_proposal(request, course)
    if rows is None:
        return _plan_page(request, course, planner=planner, rows=planner.plan(start_on=planner.today), proposal=form, status=400)
    return _plan_page(request, course, planner=planner, rows=rows, proposal=_proposal_form(planner, rows, request.POST))


@require_POST
@require("course.book")
def course_book(request: HttpRequest, pk: int) -> HttpResponse:
    """Book every proposed session in one transaction (all or nothing)."""
    course = _course_or_404(request, pk, screen="course-book")
    if not _needs_plan(course):
        return _plan_page(request, course, planner=None, rows=None, status=409, notice="Every session of this course is already booked.")
    planner, form, rows = _posted_proposal(request, course)
    if rows is None:
        return _plan_page(request, course, planner=planner, rows=planner.plan(start_on=planner.today), proposal=form, status=400)
    if not all(row.bookable for row in rows if not row.fixed):
        notice = "Some sessions need attention before the course can be booked: see the rows marked below."
        return _plan_page(
            request, course, planner=planner, rows=rows, proposal=_proposal_form(planner, rows, request.POST), status=400, notice=notice
        )
    ctx = audit.context_from_request(request)
    try:
        appointments = services.book_course(ctx=ctx, course=course, proposals=rows)
    except services.SessionTaken as taken:
        return _replan_after_conflict(request, course, form, taken)
    except services.NotEligible as refused:
        notice = f"Not booked: the screening no longer allows this course. {refused.eligibility.explanation}"
        return _plan_page(
            request, course, planner=planner, rows=rows, proposal=_proposal_form(planner, rows, request.POST), status=409, notice=notice
        )
    except services.CourseRefused as refused:
        notice = f"Not booked: {refused.message}"
        return _plan_page(
            request, course, planner=planner, rows=rows, proposal=_proposal_form(planner, rows, request.POST), status=400, notice=notice
        )
    messages.success(request, f"Booked {len(appointments)} session{'s' if len(appointments) != 1 else ''} in one step.")
    return redirect("courses:detail", pk=course.pk)


def _replan_after_conflict(request: HttpRequest, course: Course, form: ProposalForm, taken: services.SessionTaken) -> HttpResponse:
    """Nothing was booked: keep the sessions before the lost one, propose the rest afresh (409)."""
    fresh = selectors.get_course(scope=_scope(request), pk=course.pk)
    planner = CoursePlanner(fresh)
    kept = {n: choice for n, choice in form.choices().items() if n < taken.number}
    first_free = min((s.number for s in planner.sessions if not s.holds_time), default=1)
    start_on = form.cleaned_data.get("start_on") or planner.today
    if taken.number == first_free:  # the first session's slot went: propose it again from the day it was wanted
        start_on = max(planner.today, form.choices()[taken.number].on)
    rows = planner.plan(start_on=start_on, choices=kept)
    notice = f"{taken.message}. Nothing was booked. Here is a new proposal from session {taken.number} on: check it and book again."
    proposal = _proposal_form(planner, rows, None, start_on=start_on)
    return _plan_page(request, fresh, planner=planner, rows=rows, proposal=proposal, status=409, notice=notice)


# --- moving a booked session -----------------------------------------------------------------------


def _session_or_404(course: Course, number: int) -> CourseSession:
    for session in course.sessions.all():
        if session.number == number:
            return session
    raise Http404("No such session")


@require_http_methods(["GET", "HEAD", "POST"])
@require("course.book")
def session_move(request: HttpRequest, pk: int, number: int) -> HttpResponse:
    """Reschedule one booked session; the later ones are re-checked against their new windows and
    shifted if they fall outside (the receptionist confirms, or moves only this one)."""
    course = _course_or_404(request, pk, screen="course-move")
    session = _session_or_404(course, number)
    if session.state != CourseSession.State.BOOKED or not course.is_open:
        return _move_page(
            request, course, session, None, None, None, status=409, notice="Only a booked session of an open course can be moved."
        )
    later = [s.number for s in course.sessions.all() if s.number > number and s.state == CourseSession.State.BOOKED]
    only = request.method == "POST" and "only" in request.POST
    moving = [number] if only else [number, *later]
    planner = CoursePlanner(course, moving=moving)
    appointment = session.appointment
    assert appointment is not None
    local = course.location.local(appointment.starts_at)
    form = MoveSessionForm(
        request.POST if request.method == "POST" else None,
        practitioners=planner.qualified_choices(),
        today=planner.today,
        initial={"on": local.date(), "at": local.time().replace(second=0, microsecond=0), "practitioner": appointment.practitioner_id},
    )
    if request.method != "POST":
        return _move_page(request, course, session, planner, form, None)
    if not form.is_valid():
        return _move_page(request, course, session, planner, form, None, status=400)
    prefer = {}
    for row_session in planner.sessions:
        if row_session.number in later and row_session.appointment is not None:
            start = course.location.local(row_session.appointment.starts_at)
            prefer[row_session.number] = Choice(on=start.date(), at=start.time(), practitioner_id=row_session.appointment.practitioner_id)
    rows = planner.plan(choices={number: form.choice()}, prefer=prefer)
    planner.describe(rows)
    moved = [row for row in rows if not row.fixed]
    problems = [row for row in moved if row.problem]
    only_window = bool(problems) and all(row.outside_window for row in problems)
    may_override = request.user.can("course.window_override")  # type: ignore[union-attr]
    if problems and not (only_window and may_override):
        notice = "This move cannot be made as it stands: see below."
        if only_window:
            notice += " Only a doctor can move a session outside its window, giving a reason."
        return _move_page(request, course, session, planner, form, rows, status=400, notice=notice)
    reason = request.POST.get("override_reason", "")
    if only_window and (("confirm" not in request.POST and not only) or not reason.strip()):
        asked = "confirm" in request.POST or only
        notice = "Outside the window: to move it there anyway, give the reason for overriding the window." if asked else ""
        return _move_page(request, course, session, planner, form, rows, status=400 if asked else 200, notice=notice, overriding=True)
    if "confirm" not in request.POST and not only:
        return _move_page(request, course, session, planner, form, rows)
    try:
        services.move_sessions(ctx=audit.context_from_request(request), course=course, proposals=rows, override_reason=reason)
    except services.SessionTaken as taken:
        return _move_page(
            request, course, session, planner, form, rows, status=409, notice=f"{taken.message}. Nothing was moved: choose again."
        )
    except services.CourseRefused as refused:
        return _move_page(request, course, session, planner, form, rows, status=400, notice=f"Not moved: {refused.message}")
    outside = selectors.sessions_outside_windows(course)
    text = f"Session {number} moved."
    if outside:
        text += f" Outside their window now: session {', '.join(str(n) for n in outside)} — move them too, or ask the doctor."
    messages.success(request, text)
    return redirect("courses:detail", pk=course.pk)


def _move_page(
    request: HttpRequest,
    course: Course,
    session: CourseSession,
    planner: CoursePlanner | None,
    form: MoveSessionForm | None,
    rows: list[ProposedSession] | None,
    *,
    status: int = 200,
    notice: str = "",
    overriding: bool = False,
) -> HttpResponse:
    shifted = []
    if rows is not None:
        for row in rows:
            if row.fixed or row.number == session.number or row.appointment is None or row.slot is None:
                continue
            if row.slot.starts_at != row.appointment.starts_at or row.slot.practitioner_id != row.appointment.practitioner_id:
                shifted.append(row)
    context = {
        "course": course,
        "session": session,
        "form": form,
        "rows": rows,
        "shifted": shifted,
        "notice": notice,
        "overriding": overriding,
        "override_reason": request.POST.get("override_reason", "")[:300] if request.method == "POST" else "",
        "moved_row": next((row for row in rows or [] if row.number == session.number), None),
    }
    return render(request, "courses/session_move.html", context, status=status)


# --- stopping --------------------------------------------------------------------------------------


@require_POST
@require("course.stop")
def course_stop(request: HttpRequest, pk: int) -> HttpResponse:
    course = _course_or_404(request, pk, screen="course-stop")
    form = StopCourseForm(request.POST, record=course)
    if not course.is_open:
        messages.error(request, "This course is already closed.")
        return redirect("courses:detail", pk=course.pk)
    status = 400
    if form.is_valid():
        try:
            services.stop_course(
                ctx=audit.context_from_request(request),
                course=course,
                reason=form.cleaned_data["reason"],
                expected_version=form.expected_version,
            )
        except StaleEdit as stale:
            form.refuse_stale(stale)
            status = 409
        except services.CourseRefused as refused:
            form.add_error("reason", refused.message)
        else:
            messages.success(request, "Course stopped; its booked future sessions were cancelled.")
            return redirect("courses:detail", pk=course.pk)
    context = {"course": course, "form": form, "cancel_url": reverse("courses:detail", args=[course.pk])}
    return render(request, "courses/course_stop.html", context, status=status)
