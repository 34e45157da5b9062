from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.template import loader

from .password_reset import queue_reset_email


class SignInForm(AuthenticationForm):
    username = forms.CharField(
        label="User name", max_length=150, widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"})
    )


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, with the e-mail put in the outbox (rate-limited) instead of sent inline."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        subject = "".join(loader.render_to_string(subject_template_name, context).splitlines())
        body = loader.render_to_string(email_template_name, context)
        queue_reset_email(user=context["user"], to=to_email, subject=subject, body=body)
