"""SMS backends for tests: one that fails, one that is slow (for the worker-crash test)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mesoclinic.messaging.senders import FileSmsBackend, LocmemSmsBackend, SendFailed


class DownSmsBackend:
    """The provider is down: every send fails and can be retried."""

    calls = 0

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        type(self).calls += 1
        raise SendFailed("provider down (test)")


class RefusingSmsBackend:
    """The provider refuses the number: a permanent failure."""

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        raise SendFailed("number not reachable (test)", permanent=True)


class SlowFileSmsBackend(FileSmsBackend):
    """Writes a 'started' marker, then sleeps before (or after) delivering: a worker can be killed mid-send.

    MESOCLINIC_TEST_SMS_SLEEP: seconds to sleep; MESOCLINIC_TEST_SMS_SLEEP_WHEN: "before" (the
    provider never got it) or "after" (the provider took it, the outcome was never recorded).
    """

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        marker = Path(os.environ["MESOCLINIC_TEST_SMS_MARKERS"])
        marker.mkdir(parents=True, exist_ok=True)
        (marker / f"started-{os.getpid()}").write_text(idempotency_key)
        seconds = float(os.environ.get("MESOCLINIC_TEST_SMS_SLEEP", "0"))
        when = os.environ.get("MESOCLINIC_TEST_SMS_SLEEP_WHEN", "before")
        if when == "before":
            time.sleep(seconds)
        provider_id = super().send(to=to, body=body, idempotency_key=idempotency_key)
        if when == "after":
            time.sleep(seconds)
        return provider_id


class SleepingSmsBackend:
    """A live but slow provider: sleeps `seconds` (longer than the lease), then delivers in memory."""

    seconds = 0.0

    def send(self, *, to: str, body: str, idempotency_key: str) -> str:
        time.sleep(type(self).seconds)
        return LocmemSmsBackend().send(to=to, body=body, idempotency_key=idempotency_key)
