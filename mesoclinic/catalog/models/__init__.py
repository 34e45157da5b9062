"""The clinic's mesotherapy catalog: concerns, ingredients, products, protocols, areas, techniques,
aftercare rules, screening questions and contraindication rules — as data the medical director edits.

Rows keep stable ids (stock lots, courses and screenings point at them); they are never deleted,
only deactivated. Every edit goes through `catalog.services`, which writes a `CatalogVersion`
holding a JSON snapshot of the whole catalog in the same transaction. Records that evaluate rules
(screening verdicts) evaluate against the snapshot of the version they were made under.
"""

from __future__ import annotations

from .base import (
    DEPTH_LIMIT_MM,
    DEPTH_VALIDATORS,
    DESCRIPTION_HELP,
    KEY_HELP,
    MAX_INTERVAL_DAYS,
    MAX_SESSIONS,
    MIN_INTERVAL_DAYS,
    MIN_NUMBING_MINUTES_WITH_CREAM,
    AreaKind,
    validate_area_kinds,
)
from .history import CatalogProposal, CatalogVersion
from .items import Area, Concern, Ingredient, Product, Technique
from .protocols import EARLY_START_ROLES, EARLY_START_STRICTNESS, Protocol, ProtocolArea, ProtocolIngredient, may_start_early
from .rules import AftercareRule, ContraindicationRule, ProcedureStep, Question

__all__ = [
    "DEPTH_LIMIT_MM",
    "DEPTH_VALIDATORS",
    "DESCRIPTION_HELP",
    "EARLY_START_ROLES",
    "EARLY_START_STRICTNESS",
    "KEY_HELP",
    "MAX_INTERVAL_DAYS",
    "MAX_SESSIONS",
    "MIN_INTERVAL_DAYS",
    "MIN_NUMBING_MINUTES_WITH_CREAM",
    "AftercareRule",
    "Area",
    "AreaKind",
    "CatalogProposal",
    "CatalogVersion",
    "Concern",
    "ContraindicationRule",
    "Ingredient",
    "ProcedureStep",
    "Product",
    "Protocol",
    "ProtocolArea",
    "ProtocolIngredient",
    "Question",
    "Technique",
    "may_start_early",
    "validate_area_kinds",
]
