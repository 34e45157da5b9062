"""Writing the audit trail.

Every service that reads or writes a patient record calls `record()` inside its own
transaction, so the audit row and the change commit or roll back together.
Views build an `AuditContext` once per request with `context_from_request()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from .models import AuditEvent

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


@dataclass(frozen=True)
class AuditContext:
    """Who is acting and from where: passed to every service that touches a record."""

    actor: Any  # the User, or None for the system (worker, seed)
    ip_address: str | None = None
    path: str = ""

    @property
    def actor_label(self) -> str:
        return self.actor.get_username() if self.actor is not None else "system"


SYSTEM = AuditContext(actor=None, path="system")


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR is what the server saw; behind a proxy, configure it to set REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or None


def context_from_request(request: HttpRequest) -> AuditContext:
    user: AbstractBaseUser | AnonymousUser = request.user
    actor = user if user.is_authenticated else None
    return AuditContext(actor=actor, ip_address=client_ip(request), path=request.path[:300])


def record(
    ctx: AuditContext,
    *,
    action: str,
    object_type: str,
    object_id: object = "",
    patient_id: int | None = None,
    location_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=ctx.actor,
        actor_label=ctx.actor_label[:150],
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        patient_id=patient_id,
        location_id=location_id,
        ip_address=ctx.ip_address,
        path=ctx.path,
        detail=detail or {},
    )
