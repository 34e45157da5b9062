from mesoclinic.aftercare.tests.conftest import _sms_in_memory, no_worker  # noqa: F401 (shared fixtures)
