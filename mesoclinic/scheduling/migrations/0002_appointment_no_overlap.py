"""No practitioner, room, device or patient in two overlapping active appointments (PostgreSQL).

Exclusion constraints over half-open time ranges (`[)`: back-to-back is allowed), limited to
active statuses, so a cancelled or missed appointment frees its time. The practitioner, room and
device are held from `resource_starts_at` (after a numbing wait in the waiting area); the patient
from `starts_at`. Django's ExclusionConstraint is PostgreSQL-only and would break SQLite, so the
constraints are installed here with SQL. They are checked at once (INITIALLY IMMEDIATE) but
DEFERRABLE, so moving a whole series can check the end state rather than each step. On SQLite the booking service serialises bookings and
re-checks overlaps inside its write-locked transaction (docs/decisions/0008).
"""

from django.db import migrations

ACTIVE = "status IN ('booked', 'checked_in', 'in_progress', 'completed')"
RULES = [
    ("scheduling_appointment_no_practitioner_overlap", "practitioner_id", "resource_starts_at", ACTIVE),
    ("scheduling_appointment_no_room_overlap", "room_id", "resource_starts_at", ACTIVE),
    ("scheduling_appointment_no_device_overlap", "device_id", "resource_starts_at", f"{ACTIVE} AND device_id IS NOT NULL"),
    ("scheduling_appointment_no_patient_overlap", "patient_id", "starts_at", ACTIVE),
]


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column, start, condition in RULES:
        schema_editor.execute(
            f"ALTER TABLE scheduling_appointment ADD CONSTRAINT {name} "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange({start}, ends_at, '[)') WITH &&) WHERE ({condition}) "
            "DEFERRABLE INITIALLY IMMEDIATE"
        )


def remove(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, *_ in RULES:
        schema_editor.execute(f"ALTER TABLE scheduling_appointment DROP CONSTRAINT IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_appointments_working_time_waitlist")]
    operations = [migrations.RunPython(install, remove)]
