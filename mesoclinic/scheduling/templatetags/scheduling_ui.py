"""Template helpers for the calendar screens."""

from __future__ import annotations

from html import escape

from django import template
from django.forms import BoundField
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def fast_select(field: BoundField) -> SafeString:
    """A <select> for a choice field, built in Python.

    Equivalent to Django's widget output for a single select (same name, id, options and selection)
    but without a template render per option: the calendar toolbar shows a few of these on every
    page, and Django's widget templates cost more than the rest of the toolbar together.
    """
    selected = field.value()
    selected_text = "" if selected is None else str(selected)
    options = []
    for value, label in field.field.choices:  # type: ignore[attr-defined]
        text = "" if value is None else str(getattr(value, "value", value))
        chosen = " selected" if text == selected_text else ""
        options.append(f'<option value="{escape(text)}"{chosen}>{escape(str(label))}</option>')
    described = f' aria-describedby="{field.auto_id}_error"' if field.errors else ""
    invalid = ' aria-invalid="true"' if field.errors else ""
    return mark_safe(  # noqa: S308 (every value above is escaped)
        f'<select name="{escape(field.html_name)}" id="{escape(field.auto_id)}"{described}{invalid}>{"".join(options)}</select>'
    )
