"""The medical director's catalog pages: overview, list / detail / edit per kind of item, versions, export, import.

Clinical roles read (catalog.view); only the medical director edits (catalog.edit). Every save goes
through `services`, which writes a new catalog version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from mesoclinic.accounts.decorators import require
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from . import approvals, selectors, services
from . import forms as catalog_forms
from .exchange import SECTIONS
from .models import (
    AftercareRule,
    Area,
    CatalogVersion,
    Concern,
    ContraindicationRule,
    Ingredient,
    ProcedureStep,
    Product,
    Protocol,
    Question,
    Technique,
)

VERSION_PAGE = 50
HELD_MESSAGE = (
    "This change weakens a safety rule, so it has not taken effect: it waits for a second person "
    "(another medical director or a doctor) to approve it."
)


@dataclass(frozen=True)
class Page:
    slug: str  # URL segment, plural
    name: str  # URL name prefix, singular
    model: type[models.Model]
    form: type[catalog_forms.CatalogForm]
    title: str
    singular: str
    columns: tuple[tuple[str, str], ...]  # (heading, attribute or get_x_display)
    intro: str
    prefetch: tuple[str, ...] = ()

    @property
    def list_url(self) -> str:
        return f"catalog:{self.name}-list"

    @property
    def detail_url(self) -> str:
        return f"catalog:{self.name}-detail"

    @property
    def new_url(self) -> str:
        return f"catalog:{self.name}-new"

    @property
    def edit_url(self) -> str:
        return f"catalog:{self.name}-edit"


PAGES: tuple[Page, ...] = (
    Page(
        "protocols",
        "protocol",
        Protocol,
        catalog_forms.ProtocolForm,
        "Protocols",
        "protocol",
        (("Family", "get_family_display"), ("Sessions", "sessions_label"), ("Every", "interval_label"), ("Areas", "areas_label")),
        "What a doctor prescribes: the cocktail, the areas with their depth guidance, the techniques and the course rules.",
        ("protocol_areas__area",),
    ),
    Page(
        "products",
        "product",
        Product,
        catalog_forms.ProductForm,
        "Products",
        "product",
        (("Manufacturer", "manufacturer"), ("Approved for", "approved_label"), ("Unit", "unit")),
        "The meso solutions the clinic stocks, with the indications each is approved for here.",
        ("approved_concerns",),
    ),
    Page(
        "rules",
        "rule",
        ContraindicationRule,
        catalog_forms.ContraindicationRuleForm,
        "Contraindication rules",
        "contraindication rule",
        (("Severity", "get_severity_display"), ("Applies to", "scope_label"), ("Source", "get_origin_display")),
        "Each rule reads one screening question; “yes” makes a protocol not eligible (absolute) or calls for caution (relative).",
        ("protocols", "areas"),
    ),
    Page(
        "aftercare",
        "aftercare",
        AftercareRule,
        catalog_forms.AftercareRuleForm,
        "Aftercare rules",
        "aftercare rule",
        (("For", "target_label"), ("Hours", "duration_hours"), ("Instruction", "instruction")),
        "What the patient avoids after a session and what is normal, by area or kind of area; the clock starts at the end of the session.",
    ),
    Page(
        "areas",
        "area",
        Area,
        catalog_forms.AreaForm,
        "Areas",
        "area",
        (("Kind", "get_kind_display"), ("Description", "description")),
        "Treatment areas. The kind (scalp, face, body) decides aftercare and the site rules (infection at the treated site).",
    ),
    Page(
        "concerns",
        "concern",
        Concern,
        catalog_forms.ConcernForm,
        "Concerns",
        "concern",
        (("Description", "description"),),
        "The indications the clinic treats.",
    ),
    Page(
        "ingredients",
        "ingredient",
        Ingredient,
        catalog_forms.IngredientForm,
        "Ingredients",
        "ingredient",
        (("Kind", "get_kind_display"), ("Description", "description")),
        "What goes into the cocktails.",
    ),
    Page(
        "techniques",
        "technique",
        Technique,
        catalog_forms.TechniqueForm,
        "Techniques",
        "technique",
        (("Method", "get_method_display"), ("Needs a Dermapen", "needs_device")),
        "Direct injection (point by point, papules, nappage) or microneedling with a Dermapen (stamping, rolling, both).",
    ),
    Page(
        "questions",
        "question",
        Question,
        catalog_forms.QuestionForm,
        "Screening questions",
        "question",
        (("Asked at each session", "rescreen"), ("Order", "position")),
        "The questionnaire doctors ask (and patients answer online). Contraindication rules read the answers.",
    ),
    Page(
        "steps",
        "step",
        ProcedureStep,
        catalog_forms.ProcedureStepForm,
        "Procedure steps",
        "procedure step",
        (("Order", "position"), ("Description", "description")),
        "The steps of every session; the chart turns them into a time-stamped checklist.",
    ),
)
PAGE_BY_SLUG = {page.slug: page for page in PAGES}


def _page(slug: str) -> Page:
    try:
        return PAGE_BY_SLUG[slug]
    except KeyError:
        raise Http404("No such catalog section") from None


def _value(obj: Any, attr: str) -> Any:
    """A display value for list columns: model methods, display helpers or a few computed labels."""
    if attr == "sessions_label":
        return f"{obj.sessions_min}–{obj.sessions_max}"
    if attr == "interval_label":
        return f"{obj.interval_min_days}–{obj.interval_max_days} days"
    if attr == "areas_label":
        return ", ".join(row.area.name for row in obj.protocol_areas.all())
    if attr == "approved_label":
        return ", ".join(concern.name for concern in obj.approved_concerns.all()) or "—"
    if attr == "scope_label":
        return rule_scope(obj)
    value = getattr(obj, attr)
    value = value() if callable(value) else value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def rule_scope(rule: ContraindicationRule) -> str:
    protocols = [protocol.name for protocol in rule.protocols.all()]
    areas = [area.name for area in rule.areas.all()] + [
        f"every {dict(catalog_forms.AreaKind.choices)[kind].lower()} area" for kind in rule.area_kinds
    ]
    where = " or ".join(areas) if areas else "every area"
    return f"{', '.join(protocols) if protocols else 'every protocol'} — {where}"


def _can_edit(request: HttpRequest) -> bool:
    return bool(request.user.can("catalog.edit"))  # type: ignore[union-attr]


@require("catalog.view")
def overview(request: HttpRequest) -> HttpResponse:
    version = CatalogVersion.objects.defer("snapshot").select_related("created_by").order_by("-number").first()
    counts = [(page, page.model._default_manager.filter(is_active=True).count()) for page in PAGES]
    context = {
        "version": version,
        "counts": counts,
        "gaps": selectors.areas_without_aftercare(),
        "pending": approvals.pending_proposals(),
        "can_edit": _can_edit(request),
    }
    return render(request, "catalog/overview.html", context)


@require("catalog.view")
def item_list(request: HttpRequest, section: str) -> HttpResponse:
    page = _page(section)
    items = list(page.model._default_manager.prefetch_related(*page.prefetch))
    items.sort(key=lambda item: not item.is_active)  # type: ignore[attr-defined]
    rows = [(item, [_value(item, attr) for _, attr in page.columns]) for item in items]
    return render(request, "catalog/item_list.html", {"page": page, "rows": rows, "can_edit": _can_edit(request)})


def _detail_rows(obj: models.Model, form_class: type[catalog_forms.CatalogForm]) -> list[tuple[str, Any]]:
    rows = []
    for name in form_class._meta.fields or ():
        field = obj._meta.get_field(name)
        form_field = form_class.base_fields.get(name)
        label = str((form_field.label if form_field is not None else None) or getattr(field, "verbose_name", name))
        label = label[:1].upper() + label[1:]
        if isinstance(field, models.ManyToManyField):
            value: Any = "; ".join(str(item) for item in getattr(obj, name).all()) or "—"
        elif getattr(field, "choices", None) and not isinstance(field, models.JSONField):
            value = getattr(obj, f"get_{name}_display")()
        else:
            value = getattr(obj, name)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value) or "—"
        rows.append((label, value if value not in (None, "") else "—"))
    return rows


def _get(page: Page, pk: int) -> Any:
    try:
        return page.model._default_manager.get(pk=pk)
    except page.model.DoesNotExist:  # type: ignore[attr-defined]
        raise Http404(f"No such {page.singular}") from None


@require("catalog.view")
def item_detail(request: HttpRequest, section: str, pk: int) -> HttpResponse:
    page = _page(section)
    obj = _get(page, pk)
    context: dict[str, Any] = {"page": page, "item": obj, "rows": _detail_rows(obj, page.form), "can_edit": _can_edit(request)}
    if page.model is Protocol:
        context["areas"] = list(obj.protocol_areas.select_related("area"))
        context["ingredients"] = list(obj.protocol_ingredients.select_related("ingredient"))
        rules = ContraindicationRule.objects.filter(is_active=True).prefetch_related("protocols", "areas")
        context["rules"] = [(rule, rule_scope(rule)) for rule in rules if not rule.protocols.all() or obj in rule.protocols.all()]
    if page.model is Product:
        context["used_by"] = list(obj.protocols.all())
    if page.model is Question:
        context["used_by"] = list(obj.rules.all())
    if page.model is ContraindicationRule:
        context["scope"] = rule_scope(obj)
    return render(request, "catalog/item_detail.html", context)


def _version_number() -> int:
    return selectors.current_version_number() or 0


def _invalid(form: Any, error: services.CatalogInvalid | services.CatalogConflict) -> None:
    for message in getattr(error, "errors", [str(error)]):
        form.add_error(None, message)


@require("catalog.edit")
def item_edit(request: HttpRequest, section: str, pk: int | None = None) -> HttpResponse:
    page = _page(section)
    obj: Any = _get(page, pk) if pk is not None else page.model()
    is_protocol = page.model is Protocol
    data = request.POST if request.method == "POST" else None
    form: Any = page.form(data, instance=obj, initial={"expected_version": _version_number()})
    formsets: dict[str, Any] = {}
    if is_protocol:
        formsets = {
            "areas": catalog_forms.ProtocolAreaFormSet(data, instance=obj, prefix="areas"),
            "ingredients": catalog_forms.ProtocolIngredientFormSet(data, instance=obj, prefix="ingredients"),
        }
    context = {"page": page, "item": obj if pk is not None else None, "form": form, "formsets": formsets}
    if request.method != "POST":
        return render(request, "catalog/item_form.html", context)
    valid = all([form.is_valid(), *(formset.is_valid() for formset in formsets.values())])
    if valid and is_protocol:
        valid = _check_protocol_depths(form, formsets["areas"])
    if not valid:
        return render(request, "catalog/item_form.html", {**context, "has_errors": True}, status=400)
    ctx = audit.context_from_request(request)
    note = form.cleaned_data.get("change_note", "")
    expected = form.cleaned_data.get("expected_version")
    try:
        if is_protocol:
            saved = services.save_protocol(
                ctx=ctx,
                pk=pk,
                fields=form.item_fields(),
                related=form.related(),
                areas=[
                    services.AreaGuidance(area=row["area"], depth_min_mm=row["depth_min_mm"], depth_max_mm=row["depth_max_mm"])
                    for row in formsets["areas"].rows()
                ],
                ingredients=[
                    services.IngredientDose(
                        ingredient=row["ingredient"],
                        concentration=row.get("concentration"),
                        concentration_unit=row.get("concentration_unit", ""),
                        note=row.get("note", ""),
                    )
                    for row in formsets["ingredients"].rows()
                ],
                note=note,
                expected_version=expected,
            )
        else:
            saved = services.save_item(
                ctx=ctx, model=page.model, pk=pk, fields=form.item_fields(), related=form.related(), note=note, expected_version=expected
            )
    except (services.CatalogInvalid, services.CatalogConflict) as error:
        _invalid(form, error)
        return render(request, "catalog/item_form.html", {**context, "has_errors": True}, status=409)
    if saved.proposal is not None:
        messages.warning(request, HELD_MESSAGE)
        return redirect("catalog:proposal-detail", pk=saved.proposal.pk)
    if saved.version is not None:
        messages.success(request, f"Saved. The catalog is now version {saved.version.number}.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect(f"catalog:{page.name}-detail", pk=saved.item.pk)


def _check_protocol_depths(form: catalog_forms.ProtocolForm, areas: Any) -> bool:
    """A Dermapen technique needs a depth range at every area (the form sees both parts)."""
    if not any(technique.needs_device for technique in form.cleaned_data.get("techniques", [])):
        return True
    missing = [row["area"].name for row in areas.rows() if row.get("depth_min_mm") is None]
    if missing:
        form.add_error(None, f"A Dermapen technique is chosen, so give a depth range (0–3 mm) for: {', '.join(missing)}.")
        return False
    return True


@require("catalog.view")
def version_list(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("before", "")
    before = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None
    rows = selectors.versions(before=before, limit=VERSION_PAGE + 1)
    has_next = len(rows) > VERSION_PAGE
    rows = rows[:VERSION_PAGE]
    return render(request, "catalog/version_list.html", {"versions": rows, "next_before": rows[-1].number if has_next else None})


def _version(number: int) -> CatalogVersion:
    try:
        return selectors.version_by_number(number)
    except CatalogVersion.DoesNotExist:
        raise Http404("No such catalog version") from None


@require("catalog.view")
def version_detail(request: HttpRequest, number: int) -> HttpResponse:
    version = _version(number)
    labels = {section.name: section.label for section in SECTIONS}
    changes = [{**change, "section_label": labels.get(change["section"], change["section"])} for change in version.changes]
    return render(request, "catalog/version_detail.html", {"version": version, "changes": changes})


def _download(request: HttpRequest, version: CatalogVersion) -> HttpResponse:
    data = {**version.snapshot, "catalog_version": version.number}
    audit.record(
        audit.context_from_request(request),
        action=AuditEvent.Action.EXPORT,
        object_type="catalog-version",
        object_id=version.number,
        detail={"version": version.number},
    )
    response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="mesoclinic-catalog-v{version.number}.json"'
    return response


@require("catalog.view")
def version_download(request: HttpRequest, number: int) -> HttpResponse:
    return _download(request, _version(number))


@require("catalog.view")
def export(request: HttpRequest) -> HttpResponse:
    try:
        return _download(request, selectors.current_version())
    except selectors.CatalogNotLoaded:
        raise Http404("The catalog is empty") from None


@require("catalog.edit")
def import_view(request: HttpRequest) -> HttpResponse:
    posted = request.method == "POST"
    form = catalog_forms.ImportForm(
        request.POST if posted else None, request.FILES if posted else None, initial={"expected_version": _version_number()}
    )
    context: dict[str, Any] = {"form": form, "errors": []}
    if request.method != "POST":
        return render(request, "catalog/import.html", context)
    if not form.is_valid():
        return render(request, "catalog/import.html", context, status=400)
    try:
        data = json.loads(form.cleaned_data["file"].read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        form.add_error("file", f"The file is not valid JSON ({str(error)[:120]}).")
        return render(request, "catalog/import.html", context, status=400)
    try:
        edit = services.import_or_propose(
            ctx=audit.context_from_request(request),
            data=data,
            note=form.cleaned_data.get("change_note", ""),
            expected_version=form.cleaned_data.get("expected_version"),
        )
    except services.CatalogConflict as error:
        form.add_error(None, str(error))
        return render(request, "catalog/import.html", context, status=409)
    except services.CatalogInvalid as error:
        context["errors"] = error.errors
        return render(request, "catalog/import.html", context, status=400)
    if edit.proposal is not None:
        messages.warning(request, HELD_MESSAGE)
        return redirect("catalog:proposal-detail", pk=edit.proposal.pk)
    version = edit.version
    if version is None:
        messages.info(request, "The file matches the current catalog: nothing changed.")
        return redirect("catalog:overview")
    messages.success(request, f"Imported. The catalog is now version {version.number}.")
    return redirect(reverse("catalog:version-detail", kwargs={"number": version.number}))
