from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.forms import Form
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import reverse_lazy

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from . import services
from .forms import QueuedPasswordResetForm, SignInForm


def locked_message() -> str:
    minutes = max(1, round(settings.SIGN_IN_WINDOW_SECONDS / 60))
    return f"Too many failed sign-ins. Wait {minutes} minute{'s' if minutes != 1 else ''}, or reset your password."


def _typed_username(request: HttpRequest) -> str:
    """The user name as typed, fit for the throttle table and the audit row (PostgreSQL text holds no NUL)."""
    return request.POST.get("username", "").replace("\x00", "")[:150]


class SignInView(auth_views.LoginView):
    template_name = "accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = _typed_username(request)
        if services.sign_in_locked(username=username, ip_address=audit.client_ip(request)):
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, locked_message())
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_valid(form)
        user = form.get_user()
        services.clear_sign_in_failures(username=user.get_username())
        audit.record(audit.context_from_request(self.request), action=AuditEvent.Action.SIGN_IN, object_type="user", object_id=user.pk)
        return response

    def form_invalid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        username = _typed_username(self.request)
        services.record_sign_in_failure(ctx=audit.context_from_request(self.request), username=username)
        return self.render_to_response(self.get_context_data(form=form), status=400)


class SignOutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            audit.record(
                audit.context_from_request(request), action=AuditEvent.Action.SIGN_OUT, object_type="user", object_id=request.user.pk
            )
        messages.info(request, "You have signed out.")
        return super().post(request, *args, **kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    form_class = QueuedPasswordResetForm
    success_url = reverse_lazy("accounts:password-reset-done")

    def form_invalid(self, form: Form) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def dispatch(self, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().dispatch(*args, **kwargs)
        if not self.validlink and response.status_code == 200:
            response.status_code = 400  # a used, expired or made-up link: say so, with a 4xx
        return response

    def form_invalid(self, form: Form) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
