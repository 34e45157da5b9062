"""On PostgreSQL the application connects as a role that owns nothing (decision 26): from its own
connection it cannot disable a trigger, alter or truncate a table, nor delete an audit row; the
owner migrates; tables made later are usable by it without another grant."""

from __future__ import annotations

import io
import secrets
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.db.models.signals import pre_migrate

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class Login:
    user: str
    password: str


def sql(statement: str) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)


def current_user() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]


def reconnect_as(login: Login) -> None:
    connection.close()
    connection.settings_dict.update(USER=login.user, PASSWORD=login.password)


@contextmanager
def connected_as(login: Login, then: Login):
    reconnect_as(login)
    try:
        yield
    finally:
        reconnect_as(then)


def drop_role(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
        if cursor.fetchone():
            cursor.execute(f'DROP OWNED BY "{name}"')
            cursor.execute(f'DROP ROLE "{name}"')


@pytest.fixture
def owner(settings) -> Login:
    """The test database's owner (a superuser) becomes DATABASE_OWNER_URL's role, as in production."""
    login = Login(connection.settings_dict["USER"], connection.settings_dict["PASSWORD"])
    settings.MESOCLINIC_DATABASE_OWNER = {**connection.settings_dict, "USER": login.user, "PASSWORD": login.password}
    return login


@pytest.fixture
def app(owner, monkeypatch) -> Login:
    """A new role for this test database, made by `grant_app_role --create`; Django's own connection
    then runs as it, like the web process's."""
    login = Login(f"{connection.settings_dict['NAME']}_app"[:63], secrets.token_urlsafe(16))
    drop_role(login.user)
    monkeypatch.setenv("MESOCLINIC_TEST_APP_PASSWORD", login.password)
    output = io.StringIO()
    call_command("grant_app_role", login.user, "--create", "--password-env", "MESOCLINIC_TEST_APP_PASSWORD", stdout=output)
    assert f"created role {login.user}" in output.getvalue()
    reconnect_as(login)
    yield login
    reconnect_as(owner)  # the flush after the test needs the superuser
    drop_role(login.user)


def test_the_application_role_reads_and_writes_rows(app):
    assert current_user() == app.user
    event = audit.record(audit.SYSTEM, action=AuditEvent.Action.VIEW, object_type="patient", object_id=7)
    assert AuditEvent.objects.get(pk=event.pk).object_id == "7"


def test_the_application_role_cannot_disable_a_trigger_drop_one_or_alter_a_table(app):
    with pytest.raises(DatabaseError, match="must be owner of table core_auditevent"):
        sql("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
    with pytest.raises(DatabaseError, match="must be owner of table inventory_stockmovement"):
        sql("ALTER TABLE inventory_stockmovement DISABLE TRIGGER ALL")
    with pytest.raises(DatabaseError, match="must be owner of relation procedures_procedurerecord"):
        sql("DROP TRIGGER procedures_procedurerecord_signed_immutable ON procedures_procedurerecord")
    with pytest.raises(DatabaseError, match="must be owner of table core_auditevent"):
        sql("ALTER TABLE core_auditevent DROP COLUMN actor_label")


def test_the_application_role_cannot_truncate(app):
    audit.record(audit.SYSTEM, action=AuditEvent.Action.VIEW, object_type="patient", object_id=7)
    for table in ("core_auditevent", "inventory_stockmovement", "procedures_procedurerecord", "patients_patient"):
        with pytest.raises(DatabaseError, match=f"permission denied for table {table}"):
            sql(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == 1


def test_the_application_role_cannot_delete_an_audit_row_nor_switch_the_triggers_off(app):
    event = audit.record(audit.SYSTEM, action=AuditEvent.Action.VIEW, object_type="patient", object_id=7)
    with pytest.raises(DatabaseError, match="core_auditevent_append_only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match='permission denied to set parameter "session_replication_role"'):
        sql("SET session_replication_role = replica")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_migrate_runs_as_the_owner_and_leaves_the_application_role_connected(app, owner):
    users_during_migrate = []

    def note_user(**kwargs):
        users_during_migrate.append(current_user())

    pre_migrate.connect(note_user, dispatch_uid="test-note-user")
    try:
        call_command("migrate", verbosity=0, interactive=False)
    finally:
        pre_migrate.disconnect(dispatch_uid="test-note-user")
    assert set(users_during_migrate) == {owner.user}
    assert current_user() == app.user


def test_a_table_the_owner_makes_later_is_usable_by_the_application_role_without_a_new_grant(app, owner):
    if connection.pg_version >= 150000:  # before 15, PUBLIC may create in public unless revoked (docs/configuration.md)
        with pytest.raises(DatabaseError, match="permission denied for schema public"):
            sql("CREATE TABLE core_later_probe (id integer)")
    with connected_as(owner, then=app):
        sql("CREATE TABLE core_later_probe (id integer GENERATED BY DEFAULT AS IDENTITY, note text)")
    try:
        sql("INSERT INTO core_later_probe (note) VALUES ('made after the grant')")
        with connection.cursor() as cursor:
            cursor.execute("SELECT note FROM core_later_probe")
            assert cursor.fetchall() == [("made after the grant",)]
    finally:
        with connected_as(owner, then=app):
            sql("DROP TABLE core_later_probe")


def test_grant_app_role_refuses_the_owner_itself_and_a_role_that_does_not_exist(owner):
    with pytest.raises(CommandError, match="owns the tables"):
        call_command("grant_app_role", owner.user)
    with pytest.raises(CommandError, match="there is no role nobody_here"):
        call_command("grant_app_role", "nobody_here")


def deploy_warnings() -> list[str]:
    return [
        message.id for message in run_checks(include_deployment_checks=True, databases=["default"]) if message.id.startswith("mesoclinic")
    ]


def test_the_deploy_check_warns_about_a_superuser_and_is_quiet_for_the_application_role(app, owner):
    assert deploy_warnings() == []
    with connected_as(owner, then=app):
        assert deploy_warnings() == ["mesoclinic.W001"]


def test_the_deploy_check_warns_about_a_role_that_owns_tables(owner):
    table_owner = Login(f"{connection.settings_dict['NAME']}_own"[:63], secrets.token_urlsafe(16))
    drop_role(table_owner.user)
    sql(f"CREATE ROLE \"{table_owner.user}\" LOGIN PASSWORD '{table_owner.password}'")
    sql("CREATE TABLE core_owned_probe (id integer)")
    sql(f'ALTER TABLE core_owned_probe OWNER TO "{table_owner.user}"')
    try:
        with connected_as(table_owner, then=owner):
            assert deploy_warnings() == ["mesoclinic.W002"]
    finally:
        sql("DROP TABLE core_owned_probe")
        drop_role(table_owner.user)
