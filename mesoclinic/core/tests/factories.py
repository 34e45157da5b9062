from __future__ import annotations

import factory

from mesoclinic.core.models import Device, Location, Organisation, Room


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = "Test Dermatology"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Clinic {n}")
    code = factory.Sequence(lambda n: f"c{n}")
    time_zone = "Europe/London"
    phone = "+44 20 7946 0000"


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    location = factory.SubFactory(LocationFactory)
    name = factory.Sequence(lambda n: f"Room {n}")


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    location = factory.SubFactory(LocationFactory)
    kind = Device.Kind.DERMAPEN
    model = "Dermapen 4"
    serial_number = factory.Sequence(lambda n: f"DP-{n:05d}")
