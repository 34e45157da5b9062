"""Hooks other apps register in their AppConfig.ready(), so scheduling never imports them.

Series windows: when one appointment of a series moves, the later ones are offered a shift. By
default each later appointment moves by the same amount of wall-clock time, to the first free slot
from that time on within three days. An app that knows the real windows (the courses app: "every
21–28 days") registers a provider that returns, for each later appointment, the local dates it may
move to:

    from mesoclinic.scheduling.hooks import register_series_windows

    def course_windows(moved, later):           # moved: the appointment after its move
        return {appointment.pk: (earliest_on, latest_on) for appointment in later} or None

    register_series_windows(course_windows)

The first provider that returns a dict (not None) decides.

Appointment actions: an app adds a button to the appointment page (the procedures app: "Open the
chart") by registering a function of (user, appointment) that returns an `AppointmentAction` or
None. It runs on every appointment page: at most one small query, whatever the data.

Appointment areas: at check-in scheduling asks screening whether the patient may have the
appointment's protocol at its areas. An app that knows the areas (the courses app: the course's
areas) registers a function of (appointment) returning their keys, or None when it does not know;
without one the protocol's own areas are used (see scheduling/arrival.py).

Move checks: before an appointment moves (the calendar's reschedule, the series shift, the course
page's move), each registered check is given the actor's audit context, the moving appointments
(already carrying their new times, not yet saved) and the override reason typed, if any. A check
refuses by raising `MoveRefused` (the courses app: a session outside its window needs a doctor's
override with a reason) and may record the override it accepts, inside the move's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

SeriesWindows = Callable[[Any, list[Any]], dict[int, tuple[date, date]] | None]

_series_windows: list[SeriesWindows] = []


def register_series_windows(provider: SeriesWindows) -> None:
    if provider not in _series_windows:
        _series_windows.append(provider)


def series_windows(moved: Any, later: list[Any]) -> dict[int, tuple[date, date]] | None:
    for provider in _series_windows:
        windows = provider(moved, later)
        if windows is not None:
            return windows
    return None


@dataclass(frozen=True)
class AppointmentAction:
    label: str
    url: str
    primary: bool = False


AppointmentActions = Callable[[Any, Any], AppointmentAction | None]

_appointment_actions: list[AppointmentActions] = []


def register_appointment_action(provider: AppointmentActions) -> None:
    if provider not in _appointment_actions:
        _appointment_actions.append(provider)


def appointment_actions(user: Any, appointment: Any) -> list[AppointmentAction]:
    """The buttons other apps offer on this appointment's page, for this user."""
    actions = (provider(user, appointment) for provider in _appointment_actions)
    return [action for action in actions if action is not None]


AppointmentAreas = Callable[[Any], list[str] | None]

_appointment_areas: list[AppointmentAreas] = []


def register_appointment_areas(provider: AppointmentAreas) -> None:
    if provider not in _appointment_areas:
        _appointment_areas.append(provider)


def appointment_areas(appointment: Any) -> list[str] | None:
    """The area keys another app planned for this appointment (the first provider that knows), or None."""
    for provider in _appointment_areas:
        areas = provider(appointment)
        if areas is not None:
            return areas
    return None


class MoveRefused(Exception):
    """A move check refuses the move. `overridable`: a doctor may make it with a reason."""

    def __init__(self, message: str, *, overridable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.overridable = overridable


MoveCheck = Callable[[Any, list[Any], str], None]

_move_checks: list[MoveCheck] = []


def register_move_check(check: MoveCheck) -> None:
    if check not in _move_checks:
        _move_checks.append(check)


def check_moves(ctx: Any, appointments: list[Any], override_reason: str) -> None:
    """Run every registered move check (each may raise MoveRefused)."""
    for check in _move_checks:
        check(ctx, appointments, override_reason)
