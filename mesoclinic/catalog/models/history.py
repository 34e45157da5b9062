"""The catalog's history: every version as a snapshot, and changes waiting for a second approval."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class CatalogVersion(models.Model):
    """One state of the whole catalog, written by every edit. Never changed after it is written."""

    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    snapshot = models.JSONField(help_text="The whole catalog in the export format.")
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the snapshot.")
    changes = models.JSONField(default=list, blank=True, help_text="What changed since the previous version.")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="For a change that weakened a safety rule: the second person who approved it.",
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["number"], name="catalog_catalogversion_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="catalog_catalogversion_number_positive"),
        ]

    def __str__(self) -> str:
        return f"Catalog version {self.number}"


class CatalogProposal(models.Model):
    """A catalog change that weakens a safety rule, held until a second person approves or rejects it.

    It holds the whole catalog as it would be (`snapshot`, the export format) and the diff from the
    version it was made from (`base_version`). Approval applies the snapshot in a catalog edit — only
    while the catalog is still at `base_version` — and writes the version with both names.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second approval"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    base_version = models.ForeignKey(CatalogVersion, on_delete=models.PROTECT, related_name="+")
    snapshot = models.JSONField(help_text="The whole catalog as it would be, in the export format.")
    changes = models.JSONField(default=list, help_text="What would change (the diff from the base version).")
    weakenings = models.JSONField(default=list, help_text="The safety rules the change weakens, one sentence each.")
    note = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=20, default="edit", help_text="edit or import.")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    version = models.ForeignKey(
        CatalogVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+", help_text="The version it became."
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "rejected"]), name="catalog_catalogproposal_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True, version__isnull=True)
                | Q(status="approved", decided_by__isnull=False, decided_at__isnull=False, version__isnull=False)
                | Q(status="rejected", decided_by__isnull=False, decided_at__isnull=False, version__isnull=True),
                name="catalog_catalogproposal_decision_complete",
                violation_error_message="A decided change names who decided, when, and (if approved) the version it became.",
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("proposed_by")),
                name="catalog_catalogproposal_second_person",
                violation_error_message="A change that weakens a safety rule needs a second person: its author cannot approve it.",
            ),
        ]

    def __str__(self) -> str:
        return f"Proposed catalog change {self.pk} ({self.get_status_display()})"
