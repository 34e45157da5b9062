"""Every catalog edit makes a version with a snapshot and what changed; old versions never change."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from mesoclinic.catalog import services
from mesoclinic.catalog.models import Area, CatalogVersion, Protocol
from mesoclinic.core.models import AuditEvent

from .factories import default_catalog, director, director_ctx, item

pytestmark = pytest.mark.django_db


def test_an_edit_makes_a_new_version_with_its_snapshot_and_what_changed(catalog, medical_director):
    hair = Protocol.objects.get(key="hair_cocktail")
    saved = services.save_item(
        ctx=director_ctx(medical_director), model=Protocol, pk=hair.pk, fields={"sessions_max": 8}, note="Longer hair courses"
    )
    version = saved.version
    assert version.number == 2 and version.created_by == medical_director and version.note == "Longer hair courses"
    assert item(version.snapshot, "protocols", "hair_cocktail")["sessions_max"] == 8
    assert version.changes == [
        {
            "section": "protocols",
            "key": "hair_cocktail",
            "label": hair.name,
            "action": "changed",
            "fields": [{"field": "sessions_max", "old": "6", "new": "8"}],
        }
    ]
    event = AuditEvent.objects.get(object_type="catalog-version", object_id="2")
    assert event.action == "update" and event.actor == medical_director
    assert event.detail["items"] == ["protocols:hair_cocktail"] and event.detail["previous"] == 1


def test_the_old_version_keeps_its_snapshot(catalog, medical_director):
    hair = Protocol.objects.get(key="hair_cocktail")
    services.save_item(ctx=director_ctx(medical_director), model=Protocol, pk=hair.pk, fields={"sessions_max": 8})
    first = CatalogVersion.objects.get(number=1)
    assert item(first.snapshot, "protocols", "hair_cocktail")["sessions_max"] == 6
    assert first.fingerprint == catalog.fingerprint


def test_a_new_item_is_described_as_added(catalog, medical_director):
    saved = services.save_item(
        ctx=director_ctx(medical_director),
        model=Area,
        pk=None,
        fields={"key": "neck", "name": "Neck", "kind": "body", "description": "The front and sides of the neck."},
    )
    assert saved.item.pk and saved.version.number == 2
    assert saved.version.changes == [{"section": "areas", "key": "neck", "label": "Neck", "action": "added", "fields": []}]
    assert saved.version.note == "Added area “Neck”"


def test_an_edit_that_changes_nothing_makes_no_version(catalog, medical_director):
    hair = Protocol.objects.get(key="hair_cocktail")
    saved = services.save_item(ctx=director_ctx(medical_director), model=Protocol, pk=hair.pk, fields={"sessions_max": 6})
    assert saved.version is None and CatalogVersion.objects.count() == 1


def test_an_edit_started_from_an_older_version_is_refused(catalog, medical_director):
    ctx = director_ctx(medical_director)
    hair = Protocol.objects.get(key="hair_cocktail")
    services.save_item(ctx=ctx, model=Protocol, pk=hair.pk, fields={"sessions_max": 8}, expected_version=1)
    with pytest.raises(services.CatalogConflict, match="now version 2"):
        services.save_item(ctx=ctx, model=Protocol, pk=hair.pk, fields={"sessions_min": 3}, expected_version=1)
    hair.refresh_from_db()
    assert (hair.sessions_min, hair.sessions_max) == (4, 8)


def test_versions_number_on_from_the_newest(catalog, medical_director):
    ctx = director_ctx(medical_director)
    hair = Protocol.objects.get(key="hair_cocktail")
    for maximum in (7, 8, 9):
        services.save_item(ctx=ctx, model=Protocol, pk=hair.pk, fields={"sessions_max": maximum})
    assert list(CatalogVersion.objects.values_list("number", flat=True)) == [4, 3, 2, 1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_directors_editing_at_once_get_consecutive_versions(location):
    default_catalog()
    first, second = director(location), director(location)
    hair_id = Protocol.objects.get(key="hair_cocktail").pk
    face_id = Protocol.objects.get(key="rejuvenation").pk
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def edit(user, pk):
        try:
            barrier.wait(timeout=10)
            services.save_item(ctx=director_ctx(user), model=Protocol, pk=pk, fields={"sessions_max": 8})
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(first, hair_id)), threading.Thread(target=edit, args=(second, face_id))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    versions = list(CatalogVersion.objects.order_by("number"))
    assert [version.number for version in versions] == [1, 2, 3]
    final = versions[-1].snapshot
    assert item(final, "protocols", "hair_cocktail")["sessions_max"] == 8
    assert item(final, "protocols", "rejuvenation")["sessions_max"] == 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_edits_from_the_same_version_at_once_let_one_win_and_refuse_the_other(location):
    default_catalog()
    users = [director(location), director(location)]
    hair_id = Protocol.objects.get(key="hair_cocktail").pk
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def edit(user, maximum):
        try:
            barrier.wait(timeout=10)
            services.save_item(ctx=director_ctx(user), model=Protocol, pk=hair_id, fields={"sessions_max": maximum}, expected_version=1)
            outcomes.append("saved")
        except services.CatalogConflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(user, maximum)) for user, maximum in zip(users, (7, 8), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "saved"]
    assert CatalogVersion.objects.count() == 2
