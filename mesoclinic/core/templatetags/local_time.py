"""`at_location`: a stored (UTC) datetime as the wall-clock time of a location — see core/times.py.

A template builtin (config/settings.py), so no `{% load %}` is needed::

    {{ appointment.starts_at|at_location:appointment.location|date:"D j M Y H:i" }}

The argument is a Location (load it with select_related, or pass the page's `location`), a
tzinfo or an IANA zone name. Like Django's filters, it never raises: a value that is not an
aware datetime, or an argument that is not a zone, renders as an empty string.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import template

from mesoclinic.core.times import WallClock, local

register = template.Library()


@register.filter(expects_localtime=False)
def at_location(value: Any, where: Any) -> WallClock | str:
    if not isinstance(value, datetime) or value.tzinfo is None or where in (None, ""):
        return ""
    try:
        return local(value, where)
    except (zoneinfo.ZoneInfoNotFoundError, AttributeError, ValueError, TypeError):
        return ""
