"""Pluggable senders: e-mail through Django's e-mail backends, SMS through a small interface.

Every sender receives the message's dedupe key as an *idempotency key*. A sender that is asked
twice with the same key (because a worker died after the provider accepted the message but before
the outcome was recorded) must not deliver twice: the HTTP adapter sends it as the
`Idempotency-Key` header, the file and in-memory backends keep one delivery per key, and e-mails
carry a Message-ID derived from it so mail systems and clients can recognise a repeat.

SMS backends are chosen by `MESOCLINIC_SMS_BACKEND`: `console`, `locmem`, `file`, `http`, or the
dotted path of a class with the `SmsBackend` shape.
"""

from __future__ import annotations

import hashlib
import json
import os
import smtplib
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.module_loading import import_string


class SendFailed(Exception):
    """The provider did not take the message. `permanent` failures are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class OutgoingAttachment:
    filename: str
    content: str | bytes
    mimetype: str


@dataclass(frozen=True)
class Outgoing:
    channel: str
    recipient: str
    subject: str
    body: str
    html_body: str
    attachments: list[OutgoingAttachment]
    idempotency_key: str


def key_digest(idempotency_key: str) -> str:
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


# --- e-mail ---------------------------------------------------------------------------------


def message_id_for(idempotency_key: str) -> str:
    """A Message-ID that is the same every time the same message is sent."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "mesoclinic.local"
    return f"<{key_digest(idempotency_key)[:40]}@{domain}>"


def send_email(outgoing: Outgoing) -> str:
    message_id = message_id_for(outgoing.idempotency_key)
    email = EmailMultiAlternatives(
        subject=outgoing.subject,
        body=outgoing.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outgoing.recipient],
        headers={"Message-ID": message_id},
        connection=get_connection(fail_silently=False),
    )
    if outgoing.html_body:
        email.attach_alternative(outgoing.html_body, "text/html")
    for attachment in outgoing.attachments:
        email.attach(attachment.filename, attachment.content, attachment.mimetype)
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as refused:
        raise SendFailed(f"the mail server refused the address: {refused.recipients}", permanent=True) from refused
    except (smtplib.SMTPException, OSError) as error:
        raise SendFailed(f"mail server: {error}") from error
    return message_id


# --- SMS -------------------------------------------------------------------------------------


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        """Deliver one SMS; return the provider's message id. Raise SendFailed when it was not taken."""
        ...


class ConsoleSmsBackend:
    """Development: print the SMS to the worker's terminal."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        sys.stdout.write(f"--- SMS to {to} ---\n{body}\n---\n")
        sys.stdout.flush()
        return f"console-{key_digest(idempotency_key)[:16]}"


class LocmemSmsBackend:
    """Tests: keep deliveries in memory, one per idempotency key (like a provider honouring the key)."""

    outbox: list[dict[str, str]] = []
    calls: list[str] = []
    _lock = threading.Lock()

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        provider_id = f"locmem-{key_digest(idempotency_key)[:16]}"
        with self._lock:
            type(self).calls.append(idempotency_key)
            if not any(sent["key"] == idempotency_key for sent in self.outbox):
                type(self).outbox.append({"to": to, "body": body, "key": idempotency_key, "id": provider_id})
        return provider_id

    @classmethod
    def reset(cls) -> None:
        with cls._lock:
            cls.outbox.clear()
            cls.calls.clear()


class FileSmsBackend:
    """Development and tests across processes: one JSON file per delivered message, keyed by idempotency key."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path or settings.MESOCLINIC_SMS_FILE_PATH)

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        digest = key_digest(idempotency_key)
        provider_id = f"file-{digest[:16]}"
        target = self.path / f"{digest}.json"
        try:
            with open(target, "x", encoding="utf-8") as handle:  # "x": exactly one delivery per key
                json.dump({"to": to, "body": body, "key": idempotency_key, "id": provider_id}, handle)
        except FileExistsError:
            pass  # already delivered under this key: acknowledge, do not deliver again
        return provider_id

    def deliveries(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(file.read_text(encoding="utf-8")) for file in sorted(self.path.glob("*.json"))]


class HttpSmsBackend:
    """A generic SMS provider: JSON POST with a bearer token.

    Request: `POST <MESOCLINIC_SMS_HTTP_URL>` with `Authorization: Bearer <token>`,
    `Idempotency-Key: <key>` and body `{"to": ..., "body": ..., "reference": <key>}`.
    A 2xx answer is success (its JSON `id` or `message_id`, when present, is kept); 4xx other than
    408/429 is a permanent failure (bad number, bad token); anything else is retried.
    """

    def __init__(self, url: str | None = None, token: str | None = None, timeout: float = 10.0) -> None:
        self.url = url if url is not None else settings.MESOCLINIC_SMS_HTTP_URL
        self.token = token if token is not None else settings.MESOCLINIC_SMS_HTTP_TOKEN
        self.timeout = timeout
        if not self.url.startswith(("https://", "http://")):
            raise SendFailed("MESOCLINIC_SMS_HTTP_URL must be an http(s) URL", permanent=True)

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        payload = json.dumps({"to": to, "body": body, "reference": idempotency_key}).encode()
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": idempotency_key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(64 * 1024)
        except urllib.error.HTTPError as error:
            permanent = 400 <= error.code < 500 and error.code not in (408, 429)
            raise SendFailed(f"SMS provider answered HTTP {error.code}", permanent=permanent) from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise SendFailed(f"SMS provider unreachable: {error}") from error
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        provider_id = (answer.get("id") or answer.get("message_id")) if isinstance(answer, dict) else None
        return str(provider_id or f"http-{key_digest(idempotency_key)[:16]}")[:200]


SMS_BACKENDS = {
    "console": ConsoleSmsBackend,
    "locmem": LocmemSmsBackend,
    "file": FileSmsBackend,
    "http": HttpSmsBackend,
}


def get_sms_backend() -> SmsBackend:
    name = settings.MESOCLINIC_SMS_BACKEND
    backend_class: Any = SMS_BACKENDS.get(name) or import_string(name)
    backend: SmsBackend = backend_class()
    return backend


def send_sms(outgoing: Outgoing) -> str:
    return get_sms_backend().send(to=outgoing.recipient, body=outgoing.body, idempotency_key=outgoing.idempotency_key)


def send(outgoing: Outgoing) -> str:
    """Hand one message to its channel's sender; return the provider's id."""
    if outgoing.channel == "email":
        return send_email(outgoing)
    if outgoing.channel == "sms":
        return send_sms(outgoing)
    raise SendFailed(f"unknown channel {outgoing.channel!r}", permanent=True)
