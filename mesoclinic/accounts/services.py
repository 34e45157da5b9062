"""Writes for staff accounts: sign-in throttling and account creation."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent, Location

from .models import Membership, SignInFailure, User
from .roles import Role


def _window_start() -> datetime:
    return timezone.now() - timedelta(seconds=settings.SIGN_IN_WINDOW_SECONDS)


def sign_in_locked(*, username: str, ip_address: str | None) -> bool:
    """True when this user name, or this address, has failed too often inside the window."""
    match = Q(username__iexact=username)
    if ip_address:
        match |= Q(ip_address=ip_address)
    recent = SignInFailure.objects.filter(match, at__gte=_window_start())
    return recent.count() >= settings.SIGN_IN_MAX_FAILURES


def record_sign_in_failure(*, ctx: audit.AuditContext, username: str) -> None:
    with transaction.atomic():
        SignInFailure.objects.create(username=username[:150], ip_address=ctx.ip_address)
        audit.record(ctx, action=AuditEvent.Action.SIGN_IN_FAILED, object_type="user", detail={"username": username[:150]})
        # Forget failures older than the window so the table stays small.
        SignInFailure.objects.filter(at__lt=_window_start() - timedelta(days=1)).delete()


def clear_sign_in_failures(*, username: str) -> None:
    SignInFailure.objects.filter(username__iexact=username).delete()


def create_staff(
    *,
    username: str,
    password: str | None,
    role: Role | str,
    locations: Iterable[Location],
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    ctx: audit.AuditContext = audit.SYSTEM,
) -> User:
    with transaction.atomic():
        user = User(username=username, role=role, first_name=first_name, last_name=last_name, email=email)
        user.is_staff = role == Role.ADMIN
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        Membership.objects.bulk_create([Membership(user=user, location=location) for location in locations])
        audit.record(ctx, action=AuditEvent.Action.CREATE, object_type="user", object_id=user.pk, detail={"role": str(role)})
    return user
