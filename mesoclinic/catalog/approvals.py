"""The second approval of a catalog change that weakens a safety rule (decision 0022).

    catalog_edit(…)                                  # a weakening change is held as a pending CatalogProposal
    approve_proposal(ctx=…, proposal=…, note=…)      # another medical director or doctor: it becomes a version
    reject_proposal(ctx=…, proposal=…, note=…)       # another medical director or doctor: nothing changes

Approval applies the proposal's snapshot inside `services.catalog_edit`, only while the catalog is
still at the version the proposal was made from (else it is stale: reject it and make the change
again on the current catalog). The new version names the author (`created_by`) and the approver
(`approved_by`). Every decision writes an audit row in the same transaction.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.models import Sequence as CoreSequence

from . import exchange
from .models import CatalogProposal, CatalogVersion
from .services import VERSION_SEQUENCE, CatalogInvalid, _latest_version, catalog_edit

APPROVE_PERMISSION = "catalog.approve"


class ProposalRefused(Exception):
    """The proposal cannot be decided (already decided, stale, by its author…). Views answer 409 or 403."""

    status = 409


class NotAllowedToApprove(PermissionDenied):
    """Only another medical director or doctor may approve or reject a change that weakens a safety rule."""


def _check_decider(ctx: audit.AuditContext, proposal: CatalogProposal) -> None:
    actor = ctx.actor
    if actor is None or not actor.can(APPROVE_PERMISSION):
        raise NotAllowedToApprove("Only a medical director or a doctor may approve or reject a change to the safety rules.")
    if actor.pk == proposal.proposed_by_id:
        raise NotAllowedToApprove("A second person must decide: you proposed this change, so you cannot approve or reject it.")


def _locked_pending(proposal: CatalogProposal) -> CatalogProposal:
    current = CatalogProposal.objects.select_for_update().get(pk=proposal.pk)
    if current.status != CatalogProposal.Status.PENDING:
        raise ProposalRefused(f"This change was already {current.get_status_display().lower()}.")
    return current


def approve_proposal(*, ctx: audit.AuditContext, proposal: CatalogProposal, note: str = "") -> CatalogVersion:
    """Apply the held change as a new catalog version naming both people. Raises NotAllowedToApprove,
    ProposalRefused (decided already, or the catalog changed since it was proposed) or CatalogInvalid."""
    _check_decider(ctx, proposal)
    with transaction.atomic():
        CoreSequence.objects.get_or_create(name=VERSION_SEQUENCE)
        CoreSequence.objects.select_for_update().get(name=VERSION_SEQUENCE)
        current = _locked_pending(proposal)
        latest = _latest_version()
        if latest is None or latest.pk != current.base_version_id:
            raise ProposalRefused(
                f"The catalog changed since this was proposed (it was made from version {current.base_version.number}, "
                f"the catalog is now version {latest.number if latest else '—'}): reject it and make the change again."
            )
        with catalog_edit(ctx=ctx, note=current.note, source=f"approved {current.source}", approval=current) as edit:
            exchange.apply_catalog(current.snapshot)
        if edit.version is None or edit.version.fingerprint != exchange.fingerprint(current.snapshot):
            raise CatalogInvalid(["The proposed change could not be applied exactly as proposed: reject it and make it again."])
        current.status = CatalogProposal.Status.APPROVED
        current.decided_by, current.decided_at = ctx.actor, timezone.now()
        current.decision_note = note.strip()[:300]
        current.version = edit.version
        current.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "version"])
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="catalog-proposal",
            object_id=current.pk,
            detail={"decision": "approved", "version": edit.version.number, "proposed_by": current.proposed_by_id},
        )
    proposal.refresh_from_db()
    return edit.version


def reject_proposal(*, ctx: audit.AuditContext, proposal: CatalogProposal, note: str = "") -> CatalogProposal:
    """Turn the held change down: the catalog stays as it is. Audited."""
    _check_decider(ctx, proposal)
    with transaction.atomic():
        current = _locked_pending(proposal)
        current.status = CatalogProposal.Status.REJECTED
        current.decided_by, current.decided_at = ctx.actor, timezone.now()
        current.decision_note = note.strip()[:300]
        current.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="catalog-proposal",
            object_id=current.pk,
            detail={"decision": "rejected", "proposed_by": current.proposed_by_id},
        )
    proposal.refresh_from_db()
    return current


def pending_proposals() -> list[CatalogProposal]:
    return list(
        CatalogProposal.objects.filter(status=CatalogProposal.Status.PENDING)
        .select_related("proposed_by", "base_version")
        .defer("snapshot", "base_version__snapshot", "base_version__changes")
    )
