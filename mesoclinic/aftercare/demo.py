"""Demo aftercare: a handout and check-in for every signed demo session, some answers, a follow-up or two.

Runs after the procedures app's demo (INSTALLED_APPS order) and uses the signed sessions it made.
Small and clinic scales only: the chain scale has no charted sessions to hang aftercare on.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.seeding import SeedRun
from mesoclinic.procedures.models import ProcedureRecord

from . import services
from .models import CheckIn

ANSWERS = [CheckIn.Answer.SETTLED, CheckIn.Answer.SETTLED, CheckIn.Answer.WORSE, CheckIn.Answer.SETTLED, CheckIn.Answer.NOT_SETTLED]
MAX_SESSIONS = 200


def seed(run: SeedRun) -> None:
    records = list(
        ProcedureRecord.objects.filter(status=ProcedureRecord.Status.SIGNED)
        .select_related("patient", "location", "protocol", "catalog_version")
        .order_by("signed_at", "id")[:MAX_SESSIONS]
    )
    now = timezone.now()
    handouts = answered = escalated = 0
    for index, record in enumerate(records):
        handout = services.issue_aftercare(ctx=audit.SYSTEM, record=record, now=record.signed_at)
        handouts += 1
        checkin = handout.checkin
        # Answer the check-ins whose time has come, except every fourth (left for the "no answer" list).
        if checkin.due_at <= now and index % 4 != 3 and not checkin.is_expired_at(checkin.due_at + timedelta(minutes=20)):
            answer = ANSWERS[index % len(ANSWERS)]
            _, follow_up = services.answer_checkin(
                ctx=audit.SYSTEM,
                checkin_id=checkin.pk,
                answer=answer,
                text="Still a little red." if answer != "settled" else "",
                now=checkin.due_at + timedelta(minutes=20),
            )
            answered += 1
            escalated += follow_up is not None
    run.shared["aftercare_handouts"] = handouts
    if not handouts:
        run.say("Aftercare: no signed sessions (demo session records are seeded in the small scale only).")
        return
    run.say(f"Aftercare: {handouts} handouts with check-ins, {answered} answered, {escalated} follow-ups open.")
