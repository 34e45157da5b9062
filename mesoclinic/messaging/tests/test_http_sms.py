"""The HTTP SMS adapter against a tiny provider on 127.0.0.1 (never an outside address)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mesoclinic.messaging import delivery
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.messaging.senders import HttpSmsBackend, SendFailed

from .factories import queue


class Provider:
    """Answers with `status`; remembers every request; honours Idempotency-Key like a real provider."""

    def __init__(self) -> None:
        self.status = 202
        self.requests: list[dict] = []
        self.delivered: dict[str, str] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                provider.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                if provider.status >= 400:
                    self.send_response(provider.status)
                    self.end_headers()
                    return
                key = self.headers["Idempotency-Key"]
                message_id = provider.delivered.setdefault(key, f"prov-{len(provider.delivered) + 1}")
                answer = json.dumps({"id": message_id}).encode()
                self.send_response(provider.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider(settings):
    running = Provider()
    settings.MESOCLINIC_SMS_BACKEND = "http"
    settings.MESOCLINIC_SMS_HTTP_URL = running.url
    settings.MESOCLINIC_SMS_HTTP_TOKEN = "test-token-123"
    yield running
    running.close()


def test_it_posts_json_with_a_bearer_token_and_the_idempotency_key(provider):
    backend = HttpSmsBackend()
    assert backend.send(to="+44 7700 900123", body="Hello", idempotency_key="reminder:1:2h:5") == "prov-1"
    (request,) = provider.requests
    assert request["path"] == "/v1/sms"
    assert request["headers"]["Authorization"] == "Bearer test-token-123"
    assert request["headers"]["Idempotency-Key"] == "reminder:1:2h:5"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {"to": "+44 7700 900123", "body": "Hello", "reference": "reminder:1:2h:5"}


def test_sending_the_same_key_again_gets_the_same_provider_message(provider):
    backend = HttpSmsBackend()
    first = backend.send(to="+44 7700 900123", body="Hello", idempotency_key="k1")
    again = backend.send(to="+44 7700 900123", body="Hello", idempotency_key="k1")
    assert first == again
    assert len(provider.delivered) == 1


@pytest.mark.parametrize(("status", "permanent"), [(500, False), (503, False), (429, False), (400, True), (401, True), (422, True)])
def test_provider_errors_are_permanent_for_client_errors_and_retried_otherwise(provider, status, permanent):
    provider.status = status
    with pytest.raises(SendFailed) as failed:
        HttpSmsBackend().send(to="+44 7700 900123", body="Hello", idempotency_key="k")
    assert failed.value.permanent is permanent
    assert str(status) in str(failed.value)


def test_an_unreachable_provider_is_a_retryable_failure():
    with pytest.raises(SendFailed) as failed:
        HttpSmsBackend(url="http://127.0.0.1:9/nothing-listens-here", token="t", timeout=2).send(
            to="+447700900123", body="x", idempotency_key="k"
        )
    assert not failed.value.permanent


def test_only_http_urls_are_accepted():
    with pytest.raises(SendFailed, match="http"):
        HttpSmsBackend(url="file:///etc/passwd", token="t")


@pytest.mark.django_db
def test_a_queued_sms_goes_through_the_http_provider_end_to_end(provider, location):
    message = queue(location, key="reminder:7:48h:1")
    assert delivery.deliver(message.pk) == delivery.SENT
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENT
    assert message.provider_message_id == "prov-1"


@pytest.mark.django_db
def test_a_provider_outage_is_retried_then_succeeds(provider, location):
    import time_machine
    from django.utils import timezone

    provider.status = 503
    message = queue(location)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert delivery.deliver(message.pk) == delivery.RETRY
        provider.status = 202
        message.refresh_from_db()
        clock.move_to(message.next_attempt_at)
        assert delivery.deliver(message.pk) == delivery.SENT
    assert len(provider.requests) == 2
