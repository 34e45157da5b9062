"""Pages for catalog changes held for a second approval: the list, one change with its diff, and
approve / reject (another medical director or doctor, never the author). Decision 0022."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mesoclinic.accounts.decorators import require
from mesoclinic.core import audit

from . import approvals, services
from .exchange import SECTIONS
from .models import CatalogProposal


class DecisionForm(forms.Form):
    note = forms.CharField(label="Note (optional)", required=False, max_length=300)


def _proposal(pk: int) -> CatalogProposal:
    try:
        return CatalogProposal.objects.select_related("proposed_by", "decided_by", "base_version", "version").get(pk=pk)
    except CatalogProposal.DoesNotExist:
        raise Http404("No such proposed change") from None


def _may_decide(request: HttpRequest, proposal: CatalogProposal) -> bool:
    user = request.user
    return bool(user.can(approvals.APPROVE_PERMISSION)) and user.pk != proposal.proposed_by_id  # type: ignore[union-attr]


@require("catalog.view")
def proposal_list(request: HttpRequest) -> HttpResponse:
    rows = list(CatalogProposal.objects.select_related("proposed_by", "decided_by", "version").defer("snapshot")[:100])
    return render(request, "catalog/proposal_list.html", {"proposals": rows})


@require("catalog.view")
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = _proposal(pk)
    labels = {section.name: section.label for section in SECTIONS}
    changes = [{**change, "section_label": labels.get(change["section"], change["section"])} for change in proposal.changes]
    context = {
        "proposal": proposal,
        "changes": changes,
        "may_decide": proposal.status == CatalogProposal.Status.PENDING and _may_decide(request, proposal),
        "form": DecisionForm(),
    }
    return render(request, "catalog/proposal_detail.html", context)


@require_POST
@require(approvals.APPROVE_PERMISSION)
def proposal_decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    proposal = _proposal(pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Keep the note under 300 characters.")
        return redirect("catalog:proposal-detail", pk=pk)
    ctx = audit.context_from_request(request)
    note = form.cleaned_data["note"]
    try:
        if decision == "approve":
            version = approvals.approve_proposal(ctx=ctx, proposal=proposal, note=note)
            messages.success(request, f"Approved. The catalog is now version {version.number}.")
        else:
            approvals.reject_proposal(ctx=ctx, proposal=proposal, note=note)
            messages.info(request, "Rejected. The catalog is unchanged.")
    except approvals.NotAllowedToApprove as error:
        messages.error(request, str(error))
        return render(request, "catalog/proposal_refused.html", {"proposal": proposal, "message": str(error)}, status=403)
    except (approvals.ProposalRefused, services.CatalogInvalid) as error:
        text = "; ".join(getattr(error, "errors", [str(error)]))
        return render(request, "catalog/proposal_refused.html", {"proposal": proposal, "message": text}, status=409)
    return redirect("catalog:proposal-detail", pk=pk)
