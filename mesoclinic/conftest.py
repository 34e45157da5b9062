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


# --- Browser tests -------------------------------------------------------------------------
# Playwright (Python) drives Debian's Chromium; never a downloaded browser. The live server runs
# in a thread of this process, so time-machine moves its clock too.

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "test-artifacts")


@pytest.fixture(scope="session")
def _chromium():
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(_chromium, live_server, request):
    """A fresh tablet-sized browser tab; a screenshot is saved to test-artifacts/ at the end."""
    context = _chromium.new_context(
        viewport={"width": 1024, "height": 768}, base_url=live_server.url, locale="en-GB", timezone_id="Europe/London"
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    os.makedirs(ARTIFACTS, exist_ok=True)
    tab.screenshot(path=os.path.join(ARTIFACTS, f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.fixture
def sign_in(page):
    """sign_in(user) signs `user` in through the real sign-in form."""
    from mesoclinic.accounts.tests.factories import PASSWORD

    def _sign_in(user) -> None:
        page.goto("/accounts/sign-in/")
        page.get_by_label("User name").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")

    return _sign_in
