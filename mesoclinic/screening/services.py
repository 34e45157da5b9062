"""Every write of a screening: recording one (full, re-screen, self), and a doctor's override.

Also `ensure_eligible`, the guard that booking and prescribing call: it raises NotEligible unless
the patient's current verdict allows the protocol at those areas.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from mesoclinic.catalog.exchange import fingerprint
from mesoclinic.catalog.models import Area, CatalogVersion, Protocol, Question
from mesoclinic.catalog.selectors import current_version
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.services import take_numbers
from mesoclinic.patients.models import Patient

from . import engine, selectors
from .models import Answer, Override, Questionnaire, Screening, Verdict
from .selectors import Eligibility, EligibilityStatus

MIN_OVERRIDE_REASON = 10
MAX_OVERRIDE_REASON = 2000


class NotEligible(Exception):
    """Booking or prescribing refused: `eligibility` holds the status and every reason."""

    def __init__(self, eligibility: Eligibility) -> None:
        super().__init__(eligibility.explanation)
        self.eligibility = eligibility


class NotAllowed(PermissionDenied):
    """The acting user's role may not do this (e.g. only a doctor may override). Views answer 403."""


class InvalidAnswers(Exception):
    """The answers do not fit the questionnaire; `errors` maps question keys (or "__all__") to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


class NeedsFullScreening(Exception):
    """A re-screen needs a current (unexpired) full screening to update."""


class OverrideRefused(Exception):
    """The override cannot be recorded (no reason, nothing to override, superseded screening…)."""


def ensure_eligible(*, patient: Patient, protocol: Protocol, area_keys: Iterable[str], on: date | None = None) -> Eligibility:
    """The patient's eligibility for `protocol` at `area_keys`; raises NotEligible unless it allows booking."""
    result = selectors.eligibility(patient=patient, protocol=protocol, area_keys=area_keys, on=on)
    if not result.allows_booking:
        raise NotEligible(result)
    return result


def _may(ctx: audit.AuditContext, permission: str) -> bool:
    return ctx.actor is not None and ctx.actor.can(permission)


def questionnaire_for(version: CatalogVersion) -> Questionnaire:
    """The questionnaire as the catalog version words it; a new numbered one when the wording changed."""
    questions = [
        {key: item[key] for key in ("key", "text", "help_text", "rescreen", "position")}
        for item in sorted(version.snapshot.get("questions", []), key=lambda item: (item.get("position", 0), item["key"]))
        if item.get("is_active", True)
    ]
    digest = fingerprint({"questions": questions})
    existing = Questionnaire.objects.filter(fingerprint=digest).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        number = take_numbers("questionnaire", 1)[0]
        questionnaire, _ = Questionnaire.objects.get_or_create(
            fingerprint=digest, defaults={"number": number, "questions": questions, "catalog_version": version}
        )
    return questionnaire


def questions_to_ask(*, version: CatalogVersion, kind: str, area_keys: Iterable[str] | None = None) -> list[dict[str, object]]:
    """The questions of `kind` under `version`: every active one for a full or self screening; for a
    re-screen, the re-screen questions that feed a rule applying at one of today's areas."""
    snapshot = version.snapshot
    active = sorted((q for q in snapshot.get("questions", []) if q.get("is_active", True)), key=lambda q: (q.get("position", 0), q["key"]))
    rules = engine.rules_from_snapshot(snapshot)
    fed: dict[str, list[engine.Rule]] = {}
    for rule in rules:
        fed.setdefault(rule.question_key, []).append(rule)
    if kind != Screening.Kind.RESCREEN:
        chosen = [q for q in active if not q.get("session_only")]  # "since your last visit" belongs to a session
    else:
        relevant = engine.questions_for(rules, list(area_keys or []))
        chosen = [q for q in active if q.get("rescreen") and (q["key"] in relevant or q["key"] not in fed)]
    return [{**q, "rules": fed.get(q["key"], [])} for q in chosen]


def _check_answers(answers: Mapping[str, str], asked: list[dict[str, object]], *, require_all: bool) -> dict[str, str]:
    keys = {str(q["key"]) for q in asked}
    errors: dict[str, str] = {}
    for key, value in answers.items():
        if key not in keys:
            errors[str(key)[:60]] = "This question is not part of this questionnaire."
        elif value not in engine.AnswerValue._value2member_map_:
            errors[key] = "Answer yes, no or not sure."
    if require_all:
        for key in keys - set(answers):
            errors[key] = "Answer this question (choose “Not sure” if the patient does not know)."
    return errors


def _area_keys_for(kind: str, area_keys: Iterable[str] | None, version: CatalogVersion) -> list[str]:
    known = {item["key"] for item in version.snapshot.get("areas", []) if item.get("is_active", True)}
    keys = list(dict.fromkeys(area_keys or []))
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise InvalidAnswers({"__all__": f"Unknown treatment area(s): {', '.join(str(key)[:40] for key in unknown[:5])}."})
    if kind == Screening.Kind.RESCREEN and not keys:
        raise InvalidAnswers({"__all__": "Choose the area(s) treated today."})
    return keys


def record_screening(
    *,
    ctx: audit.AuditContext,
    patient: Patient,
    answers: dict[str, str],
    kind: str,
    area_keys: Iterable[str] | None = None,
) -> Screening:
    """Record a screening of `patient` under the current catalog version and store its verdicts.

    kind "full": a doctor asks every question; valid for MESOCLINIC_SCREENING_VALID_DAYS.
    kind "rescreen": a doctor or nurse asks the short re-screen questions for today's `area_keys`;
      the answers are laid over the current full screening, whose expiry they keep.
    kind "self": the patient's own answers (public form); stored with verdicts, never used for booking.
    Raises NotAllowed, InvalidAnswers, NeedsFullScreening or catalog.selectors.CatalogNotLoaded.
    """
    if kind not in Screening.Kind.values:
        raise InvalidAnswers({"__all__": f"Unknown kind of screening {kind!r}."})
    if kind == Screening.Kind.FULL and not _may(ctx, "screening.screen"):
        raise NotAllowed("Only a doctor may carry out a full screening.")
    if kind == Screening.Kind.RESCREEN and not _may(ctx, "screening.rescreen"):
        raise NotAllowed("Only a doctor or nurse may re-screen a patient.")
    version = current_version()
    areas = _area_keys_for(kind, area_keys, version)
    asked = questions_to_ask(version=version, kind=kind, area_keys=areas)
    errors = _check_answers(answers, asked, require_all=kind != Screening.Kind.SELF)
    if errors:
        raise InvalidAnswers(errors)
    now = timezone.now()
    today = patient.location.local(now).date()
    with transaction.atomic():
        base: int | None = None
        merged = dict(answers)
        expires_on = today + timedelta(days=settings.MESOCLINIC_SCREENING_VALID_DAYS)
        if kind == Screening.Kind.RESCREEN:
            Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one re-screen at a time per patient
            current = selectors.current_screening(patient)
            if current is None or current.is_expired_on(today):
                raise NeedsFullScreening("The patient has no valid full screening to update: carry out a full screening.")
            base = current.base_id or current.pk
            merged = {**current.answers_used, **answers}
            expires_on = current.expires_on
        questionnaire = questionnaire_for(version)
        screening = Screening.objects.create(
            patient=patient,
            location_id=patient.location_id,
            kind=kind,
            catalog_version=version,
            questionnaire=questionnaire,
            base_id=base,
            area_keys=areas,
            answers_used=merged,
            screened_by=ctx.actor,
            screened_at=now,
            expires_on=expires_on,
        )
        question_ids = dict(Question.objects.filter(key__in=list(answers)).values_list("key", "id"))
        Answer.objects.bulk_create(
            [Answer(screening=screening, question_id=question_ids[key], question_key=key, value=value) for key, value in answers.items()]
        )
        verdicts = _verdicts(
            screening, version, merged, areas if kind == Screening.Kind.RESCREEN else None, at_session=kind == Screening.Kind.RESCREEN
        )
        Verdict.objects.bulk_create(verdicts)
        audit.record(
            ctx,
            action=AuditEvent.Action.CREATE,
            object_type="screening",
            object_id=screening.pk,
            patient_id=patient.pk,
            location_id=patient.location_id,
            detail={
                "kind": kind,
                "catalog_version": version.number,
                "questionnaire": questionnaire.number,
                "answers": len(answers),
                "areas": areas,
                "verdicts": _tally(verdicts),
            },
        )
    return screening


def _verdicts(
    screening: Screening, version: CatalogVersion, answers: Mapping[str, str], only_areas: list[str] | None, *, at_session: bool
) -> list[Verdict]:
    """One verdict per protocol and area of the version (only today's areas for a re-screen)."""
    known = selectors.knowledge_for(version)
    wanted = {key for keys in known.protocol_areas.values() for key in keys}
    if only_areas is not None:
        wanted &= set(only_areas)
    protocols = {p.key: p for p in Protocol.objects.filter(key__in=list(known.protocol_areas))}
    areas = {a.key: a for a in Area.objects.filter(key__in=list(wanted))}
    rows = []
    for protocol_key, area_keys in known.protocol_areas.items():
        for area_key in area_keys:
            if area_key not in wanted or protocol_key not in protocols or area_key not in areas:
                continue
            verdict = engine.evaluate(known.rules, answers, protocol_key, [area_key], at_session=at_session)
            rows.append(
                Verdict(
                    screening=screening,
                    protocol=protocols[protocol_key],
                    area=areas[area_key],
                    status=str(verdict.status),
                    reasons=verdict.reasons_as_json(),
                )
            )
    return rows


def _tally(verdicts: list[Verdict]) -> dict[str, int]:
    tally: dict[str, int] = {}
    for verdict in verdicts:
        tally[verdict.status] = tally.get(verdict.status, 0) + 1
    return tally


def override_verdict(
    *, ctx: audit.AuditContext, screening: Screening, protocol: Protocol, area_keys: Iterable[str], reason: str
) -> Override:
    """A doctor records that `protocol` may be given at `area_keys` despite a "not eligible" verdict.

    Needs the doctor role (else NotAllowed) and a written reason; only the current, unexpired
    screening's "not eligible" verdict can be overridden (else OverrideRefused). Audited.
    The override keeps applying to later re-screens while no new absolute reason appears.
    """
    if not _may(ctx, "screening.override"):
        raise NotAllowed("Only a doctor may override a verdict.")
    text = (reason or "").strip()
    if len(text) < MIN_OVERRIDE_REASON:
        raise OverrideRefused(f"Write the clinical reason for the override (at least {MIN_OVERRIDE_REASON} characters).")
    if len(text) > MAX_OVERRIDE_REASON:
        raise OverrideRefused(f"Keep the reason under {MAX_OVERRIDE_REASON} characters.")
    areas = list(dict.fromkeys(area_keys))
    if not areas:
        raise OverrideRefused("Choose the area(s) the override is for.")
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=screening.patient_id).first()
        patient = Patient.objects.select_related("location").get(pk=screening.patient_id)
        current = selectors.current_screening(patient)
        if current is None or current.pk != screening.pk:
            raise OverrideRefused("A newer screening exists: open the patient's current screening to override.")
        result = selectors.eligibility(patient=patient, protocol=protocol, area_keys=areas)
        if result.status == EligibilityStatus.EXPIRED:
            raise OverrideRefused("This screening has expired: screen the patient again.")
        if result.status != EligibilityStatus.NOT_ELIGIBLE:
            raise OverrideRefused(f"Only a “not eligible” verdict can be overridden; this one is “{result.label}”.")
        if result.override is not None:
            raise OverrideRefused("A doctor has already overridden this verdict.")
        rule_keys = sorted({r.rule_key for r in result.reasons if r.effect == engine.Status.NOT_ELIGIBLE})
        override = Override.objects.create(
            screening=screening,
            patient=patient,
            protocol=protocol,
            area_keys=areas,
            rule_keys=rule_keys,
            reason=text,
            overridden_by=ctx.actor,
            overridden_at=timezone.now(),
        )
        audit.record(
            ctx,
            action=AuditEvent.Action.OVERRIDE,
            object_type="screening-verdict",
            object_id=override.pk,
            patient_id=patient.pk,
            location_id=patient.location_id,
            detail={"screening": screening.pk, "protocol": protocol.key, "areas": areas, "rules": rule_keys},
        )
    return override
