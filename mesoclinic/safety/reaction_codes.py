"""A small LOCAL code list of reactions seen after mesotherapy, each with a MedDRA-style preferred
term so a report to the regulator (the UK's Yellow Card) names the reaction the way it expects.

These are the clinic's own codes ("MESO-…"), NOT MedDRA codes: MedDRA is licensed and its codes are
not reproduced here. The reporter types the reaction as the preferred term says when filing.
"""

from __future__ import annotations

from django.db import models


class ReactionCode(models.TextChoices):
    INJECTION_SITE_BRUISING = "MESO-001", "Injection site bruising"
    INJECTION_SITE_SWELLING = "MESO-002", "Injection site swelling"
    INJECTION_SITE_ERYTHEMA = "MESO-003", "Injection site erythema"
    INJECTION_SITE_PAIN = "MESO-004", "Injection site pain"
    INJECTION_SITE_INFECTION = "MESO-005", "Injection site infection"
    INJECTION_SITE_NODULE = "MESO-006", "Injection site nodule"
    INJECTION_SITE_NECROSIS = "MESO-007", "Injection site necrosis"
    HYPERSENSITIVITY = "MESO-008", "Hypersensitivity"
    ANAPHYLACTIC_REACTION = "MESO-009", "Anaphylactic reaction"
    DERMATITIS_CONTACT = "MESO-010", "Dermatitis contact"
    APPLICATION_SITE_IRRITATION = "MESO-011", "Application site irritation (topical anaesthetic)"
    METHAEMOGLOBINAEMIA = "MESO-012", "Methaemoglobinaemia (topical anaesthetic)"
    SKIN_HYPERPIGMENTATION = "MESO-013", "Skin hyperpigmentation"
    PANNICULITIS = "MESO-014", "Panniculitis"
    SYNCOPE = "MESO-015", "Syncope"
    OTHER = "MESO-099", "Other (describe)"


LIST_NAME = "Mesoclinic local reaction codes (MedDRA-style preferred terms; not MedDRA)"
