from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.functional import cached_property

from mesoclinic.core.models import Location

from .roles import Role, role_may


class User(AbstractUser):
    """A member of staff. Patients do not sign in here."""

    role = models.CharField(max_length=20, choices=Role.choices, default=Role.RECEPTIONIST)
    locations: models.ManyToManyField[Location, Membership] = models.ManyToManyField(
        Location, through="Membership", related_name="staff", blank=True
    )
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [models.UniqueConstraint(fields=["email"], condition=~models.Q(email=""), name="accounts_user_email_unique")]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def can(self, permission: str) -> bool:
        return self.is_active and role_may(self.role, permission)

    @cached_property
    def location_ids(self) -> frozenset[int]:
        """The locations whose data this user may see and touch (one query, cached per request)."""
        return frozenset(self.memberships.values_list("location_id", flat=True))


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "location"], name="accounts_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.location}"


class SignInFailure(models.Model):
    """A failed sign-in, kept for the throttle window. Shared by every web process."""

    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.username} at {self.at:%Y-%m-%d %H:%M}"
