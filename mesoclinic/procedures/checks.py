"""Two clinical checks on the chart, kept out of the (large) services module that calls them:

    qualification_problem(actor=…, record=…)       # the person charting or signing is qualified for the protocol
    allergens_by_product(patient=…, products=[…])  # the patient's recorded allergens in each product

The services turn a problem into a refusal (NotQualified, ChartRefused) with a message naming it;
the chart reads the same functions to warn before anyone types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mesoclinic.accounts.models import User
from mesoclinic.catalog.models import Ingredient, Product
from mesoclinic.courses.selectors import is_qualified
from mesoclinic.patients.models import Patient

from .models import ProcedureRecord


def qualification_problem(*, actor: User, record: ProcedureRecord) -> str:
    """Why `actor` may not chart `record` (empty when they are qualified for its protocol)."""
    if is_qualified(practitioner_id=actor.pk, protocol_id=record.protocol_id):
        return ""
    return (
        f"{actor.get_full_name() or actor.get_username()} is not qualified for {record.protocol.name}: "
        "only a practitioner qualified for the protocol may chart or sign this session (Configuration → Qualifications)."
    )


def allergens_by_product(*, patient: Patient, products: Iterable[Product]) -> dict[int, list[Ingredient]]:
    """The patient's recorded allergy ingredients found in each product (by product id). One query."""
    ids = {product.pk for product in products}
    found: dict[int, list[Ingredient]] = {}
    if not ids:
        return found
    through = Product.ingredients.through
    rows = (
        through.objects.filter(product_id__in=ids, ingredient__in=patient.allergy_ingredients.all())
        .select_related("ingredient")
        .order_by("ingredient__name")
    )
    for row in rows:
        found.setdefault(row.product_id, []).append(row.ingredient)
    return found


def allergy_message(*, patient: Patient, product: Product, allergens: Sequence[Ingredient]) -> str:
    names = ", ".join(ingredient.name for ingredient in allergens)
    return f"{patient.full_name} is allergic to {names}, an ingredient of {product.name}: it cannot be recorded for this patient."


def allergy_acknowledged(record: ProcedureRecord) -> str:
    """The prescribing doctor's written reason for accepting the patient's allergens in this course's
    protocol ("" when the session has no course or the doctor wrote none): then the chart warns, not refuses."""
    session = record.course_session
    return session.course.allergy_acknowledgement if session is not None else ""
