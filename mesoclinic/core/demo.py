"""Demo organisation, locations with opening hours, rooms and Dermapens."""

from __future__ import annotations

from datetime import time

from .models import Device, Location, OpeningHours, Organisation, Room
from .seeding import SeedRun

CITIES = [
    ("London Harley Street", "LDN", "Europe/London"),
    ("Madrid Salamanca", "MAD", "Europe/Madrid"),
    ("Manchester Spinningfields", "MAN", "Europe/London"),
    ("Dublin Ranelagh", "DUB", "Europe/Dublin"),
    ("Lisbon Chiado", "LIS", "Europe/Lisbon"),
    ("Berlin Mitte", "BER", "Europe/Berlin"),
    ("New York SoHo", "NYC", "America/New_York"),
    ("Dubai Marina", "DXB", "Asia/Dubai"),
    ("Mumbai Bandra", "BOM", "Asia/Kolkata"),
    ("Sydney Paddington", "SYD", "Australia/Sydney"),
]


def seed(run: SeedRun) -> None:
    organisation = Organisation.objects.create(name="Mesoclinic Demo Dermatology")
    locations = []
    for index in range(run.scale.locations):
        name, code, zone = CITIES[index % len(CITIES)]
        if index >= len(CITIES):
            name, code = f"{name} {index // len(CITIES) + 1}", f"{code}{index // len(CITIES) + 1}"
        locations.append(
            Location(
                organisation=organisation,
                name=name,
                code=code.lower(),
                time_zone=zone,
                phone=f"+44 20 7946 {index:04d}",
                email=f"{code.lower()}@clinic.example",
                address=f"{index + 1} Clinic Street, {name.split()[0]}",
            )
        )
    Location.objects.bulk_create(locations)
    locations = list(Location.objects.filter(organisation=organisation).order_by("id"))
    hours, rooms, devices = [], [], []
    for location in locations:
        for weekday in range(6):  # Monday to Saturday
            closes = time(14, 0) if weekday == 5 else time(19, 0)
            hours.append(OpeningHours(location=location, weekday=weekday, opens_at=time(9, 0), closes_at=closes))
        rooms += [Room(location=location, name=f"Treatment room {n + 1}") for n in range(run.scale.rooms_per_location)]
        for n in range(run.scale.dermapens_per_location):
            devices.append(
                Device(
                    location=location,
                    kind=Device.Kind.DERMAPEN,
                    model="Dermapen 4",
                    serial_number=f"DP4-{location.code.upper()}-{n + 1:03d}",
                    in_service=n != run.scale.dermapens_per_location - 1 or run.scale.dermapens_per_location == 1,
                )
            )
    OpeningHours.objects.bulk_create(hours)
    Room.objects.bulk_create(rooms)
    Device.objects.bulk_create(devices)
    run.shared["organisation"] = organisation
    run.shared["locations"] = locations
    run.say(
        f"Organisation with {len(locations)} locations, {len(rooms)} rooms, {len(devices)} Dermapens (one per location out of service)."
    )
