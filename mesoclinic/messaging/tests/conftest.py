from __future__ import annotations

import pytest

from mesoclinic.messaging.senders import LocmemSmsBackend


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.MESOCLINIC_SMS_BACKEND = "locmem"
    settings.MESOCLINIC_MESSAGE_MAX_ATTEMPTS = 3
    settings.MESOCLINIC_MESSAGE_RETRY_SECONDS = 60
    settings.MESOCLINIC_MESSAGE_LEASE_SECONDS = 300
    LocmemSmsBackend.reset()
    yield
    LocmemSmsBackend.reset()


@pytest.fixture
def no_worker(settings):
    """Tasks are recorded, not run: the test itself plays the worker (as with `db_worker` stopped)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
