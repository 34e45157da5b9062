"""What courses tell scheduling (registered in CoursesConfig.ready()).

When one appointment of a course moves on the scheduling calendar, scheduling offers to shift the
later ones; this provider gives it each later session's window, counted from the moved session:
the k-th later session may fall k × interval_min to k × interval_max days after it.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from .models import Course

PREFIX = "course-"


def course_series_windows(moved: Any, later: list[Any]) -> dict[int, tuple[date, date]] | None:
    key = getattr(moved, "series_key", "") or ""
    if not key.startswith(PREFIX) or not key[len(PREFIX) :].isdigit():
        return None
    course = Course.objects.filter(pk=int(key[len(PREFIX) :])).only("interval_min_days", "interval_max_days").first()
    if course is None:
        return None
    moved_on = moved.location.local(moved.starts_at).date()
    windows = {}
    for step, appointment in enumerate(sorted(later, key=lambda a: a.starts_at), start=1):
        windows[appointment.pk] = (
            moved_on + timedelta(days=step * course.interval_min_days),
            moved_on + timedelta(days=step * course.interval_max_days),
        )
    return windows


def course_session_areas(appointment: Any) -> list[str] | None:
    """For the check-in's screening check: the areas of the course this appointment is a session of."""
    key = getattr(appointment, "series_key", "") or ""
    if not key.startswith(PREFIX) or not key[len(PREFIX) :].isdigit():
        return None
    links = Course.areas.through.objects.filter(course_id=int(key[len(PREFIX) :]))  # one query
    keys = list(links.order_by("area__position", "area__name").values_list("area__key", flat=True))
    return keys or None
