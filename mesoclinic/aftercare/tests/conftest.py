from __future__ import annotations

import pytest

from mesoclinic.messaging.senders import LocmemSmsBackend


@pytest.fixture(autouse=True)
def _sms_in_memory(settings):
    settings.MESOCLINIC_SMS_BACKEND = "locmem"
    settings.MESOCLINIC_PUBLIC_URL = "https://clinic.example"
    LocmemSmsBackend.reset()
    yield
    LocmemSmsBackend.reset()


@pytest.fixture
def no_worker(settings):
    """Tasks are recorded, not run: the test itself plays the worker."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
