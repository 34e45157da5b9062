"""Shared pytest setup: database selection, markers, and the fixtures every app's tests use."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core.tests.factories import LocationFactory


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    on_postgres = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://… (make test-postgres)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip_pg)
        if "browser" in item.keywords and not on_postgres:
            item.add_marker(pytest.mark.skip(reason="browser tests run against PostgreSQL (make test-browser)"))


@pytest.fixture(autouse=True)
def _fast_settings(settings: pytest.FixtureRequest) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def location(db):
    return LocationFactory()


@pytest.fixture
def other_location(db):
    return LocationFactory()


def _staff(role: Role, location):
    return UserFactory(role=role, locations=[location])


@pytest.fixture
def receptionist(location):
    return _staff(Role.RECEPTIONIST, location)


@pytest.fixture
def doctor(location):
    return _staff(Role.DOCTOR, location)


@pytest.fixture
def manager(location):
    return _staff(Role.MANAGER, location)


@pytest.fixture
def db_vendor(db) -> str:
    return connection.vendor
