"""Settings read from the environment: what a deployment gets for a given set of variables.

Each case imports config.settings in a fresh interpreter, since settings are read once at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

BASE_ENV = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "MESOCLINIC_", "DJANGO_", "PORT"))}


def read_setting(expression: str, **env: str) -> subprocess.CompletedProcess[str]:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run(  # noqa: S603 (our own interpreter, fixed code)
        [sys.executable, "-c", code],
        env={**BASE_ENV, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        cwd=Path(settings.BASE_DIR),
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_owner_url_must_name_the_same_database_as_the_application_url():
    result = read_setting(
        "settings.MESOCLINIC_DATABASE_OWNER['USER']",
        DATABASE_URL="postgres://mesoclinic_app:secret@db.example:5432/clinic",
        DATABASE_OWNER_URL="postgres://mesoclinic_owner:other@db.example:5432/another",
    )
    assert result.returncode != 0
    assert "DATABASE_OWNER_URL must name the same PostgreSQL server and database as DATABASE_URL" in result.stderr


def test_the_owner_url_gives_the_owners_credentials_for_migrate():
    result = read_setting(
        "settings.MESOCLINIC_DATABASE_OWNER['USER'], settings.DATABASES['default']['USER']",
        DATABASE_URL="postgres://mesoclinic_app:secret@db.example:5432/clinic",
        DATABASE_OWNER_URL="postgres://mesoclinic_owner:other@db.example:5432/clinic",
    )
    assert result.stdout.strip() == "mesoclinic_owner mesoclinic_app", result.stderr


def test_without_an_owner_url_there_is_one_role():
    result = read_setting("settings.MESOCLINIC_DATABASE_OWNER")
    assert result.stdout.strip() == "None", result.stderr


def test_links_in_messages_follow_the_port_the_development_server_runs_on():
    assert read_setting("settings.MESOCLINIC_PUBLIC_URL", PORT="8101").stdout.strip() == "http://127.0.0.1:8101"
    assert read_setting("settings.MESOCLINIC_PUBLIC_URL").stdout.strip() == "http://127.0.0.1:8000"


def test_a_public_url_that_is_set_wins_over_the_port():
    result = read_setting("settings.MESOCLINIC_PUBLIC_URL", PORT="8101", MESOCLINIC_PUBLIC_URL="https://clinic.example")
    assert result.stdout.strip() == "https://clinic.example", result.stderr
