"""The error summary at the top of a refused card: every error of the card at once, each a link to
its field, so a tablet user is taken to what was refused (chart.js moves focus and scrolls to it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The card (its `id="step-…"`) each step's form lives in.
CARD_OF = {"early_start": "treatment", "override": "rescreen", "qualification": "top"}


@dataclass(frozen=True)
class Problem:
    href: str  # "#id_depth_mm", or the card itself for an error of no single field
    text: str


@dataclass(frozen=True)
class Summary:
    card: str  # the step key of the card that shows it ("treatment", "sign_off", …) or "top"
    problems: list[Problem]


def _field_id(form: Any, name: str) -> str:
    if name.startswith("product_") and f"lot_{name[8:]}" in form.fields:
        name = f"lot_{name[8:]}"  # the product of a row is a hidden input: point at the row's lot picker
    return form[name].auto_id or ""


def error_summary(bound: dict[str, Any], errors: dict[str, str]) -> Summary | None:
    """The summary of the one refused form (`bound`, keyed by step) or of a refusal without a form."""
    for key, form in bound.items():
        if not form.errors:
            continue
        card = CARD_OF.get(key, key)
        problems = []
        for name, messages in form.errors.items():
            known = name in form.fields
            label = form.fields[name].label if known else ""
            href = f"#{_field_id(form, name)}" if known else f"#step-{card}"
            problems += [Problem(href, f"{label}: {message}" if label else str(message)) for message in messages]
        return Summary(card=card, problems=problems)
    for key, message in errors.items():
        card = CARD_OF.get(key, key)
        return Summary(card=card, problems=[Problem(f"#step-{card}" if card != "top" else "#chart", message)])
    return None
