"""The slot engine: pure Python over busy intervals that the selectors load in a few queries.

Times inside the engine are integer seconds since the epoch (UTC), so comparisons never depend on
time-zone objects (two aware datetimes with the same tzinfo compare by wall clock in Python, which
is wrong across a daylight-saving change). Local wall-clock periods (opening hours, working hours)
are turned into epoch seconds per local date with `local_periods`.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Period = tuple[int, int]


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def local_periods(zone: ZoneInfo, day: date, periods: Iterable[tuple[time, time]]) -> list[Period]:
    """Wall-clock periods on `day` in `zone` as epoch-second intervals (DST-safe), sorted."""
    return sorted(
        (epoch(datetime.combine(day, opens, tzinfo=zone)), epoch(datetime.combine(day, closes, tzinfo=zone))) for opens, closes in periods
    )


def covered(periods: Iterable[Period], start: int, end: int) -> bool:
    """Whether [start, end) lies inside one of `periods`."""
    return any(period_start <= start and end <= period_end for period_start, period_end in periods)


class Busy:
    """A set of half-open intervals, merged into disjoint sorted runs for O(log n) overlap checks."""

    __slots__ = ("ends", "starts")

    def __init__(self, intervals: Iterable[Period] = ()) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end in sorted(intervals):
            if end <= start:
                continue
            if self.ends and start <= self.ends[-1]:
                self.ends[-1] = max(self.ends[-1], end)
            else:
                self.starts.append(start)
                self.ends.append(end)

    def __len__(self) -> int:
        return len(self.starts)

    def overlaps(self, start: int, end: int) -> bool:
        """Whether [start, end) meets any interval (back-to-back does not count)."""
        index = bisect.bisect_right(self.starts, start) - 1
        if index >= 0 and self.ends[index] > start:
            return True
        following = index + 1
        return following < len(self.starts) and self.starts[following] < end

    def add(self, start: int, end: int) -> None:
        merged = Busy([*zip(self.starts, self.ends, strict=True), (start, end)])
        self.starts, self.ends = merged.starts, merged.ends


@dataclass(frozen=True)
class Durations:
    """How long a booking takes: the numbing wait, then the procedure (minutes)."""

    numbing_minutes: int
    procedure_minutes: int

    @property
    def total_seconds(self) -> int:
        return 60 * (self.numbing_minutes + self.procedure_minutes)

    def resource_offset_seconds(self, numbing_in_waiting_area: bool) -> int:
        """Seconds after the patient's start at which the room and practitioner are needed."""
        return 60 * self.numbing_minutes if numbing_in_waiting_area else 0


@dataclass(frozen=True)
class Slot:
    """A bookable combination: when, with whom, where, and which device (if any)."""

    starts_at: datetime
    resource_starts_at: datetime
    ends_at: datetime
    practitioner_id: int
    room_id: int
    device_id: int | None

    @property
    def value(self) -> str:
        """A compact form for HTML radio values: start|practitioner|room|device."""
        return f"{self.starts_at.isoformat()}|{self.practitioner_id}|{self.room_id}|{self.device_id or ''}"


@dataclass
class Availability:
    """What one location looks like for a span of days: hours, resources and what is already busy."""

    zone: ZoneInfo
    numbing_in_waiting_area: bool
    slot_minutes: int
    opening: dict[int, list[tuple[time, time]]]  # weekday → wall-clock periods
    working: dict[int, dict[int, list[tuple[time, time]]]]  # practitioner → weekday → periods
    practitioners: list[int]
    rooms: list[int]
    devices: list[int]
    closures: Busy
    busy_practitioner: dict[int, Busy]
    busy_room: dict[int, Busy]
    busy_device: dict[int, Busy]
    busy_patient: Busy

    def starts_on(self, day: date, durations: Durations) -> Iterator[int]:
        """Candidate patient start times on `day`, on the slot grid, inside opening hours."""
        total = durations.total_seconds
        step = 60 * self.slot_minutes
        for opens, closes in local_periods(self.zone, day, self.opening.get(day.weekday(), [])):
            start = opens
            while start + total <= closes:
                yield start
                start += step

    def working_periods(self, practitioner_id: int, day: date) -> list[Period]:
        return local_periods(self.zone, day, self.working.get(practitioner_id, {}).get(day.weekday(), []))

    def first_free(
        self,
        *,
        day: date,
        durations: Durations,
        practitioners: list[int],
        needs_device: bool,
        not_before: int,
        from_time: time | None = None,
        to_time: time | None = None,
        every_start: bool = False,
    ) -> Iterator[Slot]:
        """Free slots on `day`, earliest first: one per start time (the first free combination)."""
        total = durations.total_seconds
        offset = durations.resource_offset_seconds(self.numbing_in_waiting_area)
        working = {p: self.working_periods(p, day) for p in practitioners}
        working = {p: periods for p, periods in working.items() if periods}
        if not working:
            return
        lower = epoch(datetime.combine(day, from_time, tzinfo=self.zone)) if from_time else None
        upper = epoch(datetime.combine(day, to_time, tzinfo=self.zone)) if to_time else None
        for start in self.starts_on(day, durations):
            if start < not_before or (lower is not None and start < lower) or (upper is not None and start > upper):
                continue
            end = start + total
            if self.closures.overlaps(start, end) or self.busy_patient.overlaps(start, end):
                continue
            resource_start = start + offset
            slot = self._resources_for(resource_start, end, working, needs_device)
            if slot is None:
                continue
            practitioner_id, room_id, device_id = slot
            yield Slot(
                starts_at=from_epoch(start),
                resource_starts_at=from_epoch(resource_start),
                ends_at=from_epoch(end),
                practitioner_id=practitioner_id,
                room_id=room_id,
                device_id=device_id,
            )
            if not every_start:
                return

    def _resources_for(
        self, start: int, end: int, working: dict[int, list[Period]], needs_device: bool
    ) -> tuple[int, int, int | None] | None:
        room = next((r for r in self.rooms if not _busy(self.busy_room, r, start, end)), None)
        if room is None:
            return None
        device = None
        if needs_device:
            device = next((d for d in self.devices if not _busy(self.busy_device, d, start, end)), None)
            if device is None:
                return None
        for practitioner, periods in working.items():
            if covered(periods, start, end) and not _busy(self.busy_practitioner, practitioner, start, end):
                return practitioner, room, device
        return None

    def hold(self, slot: Slot, *, patient: bool = True) -> None:
        """Mark a proposed slot busy, so later proposals in the same plan do not collide with it."""
        start, resource_start, end = epoch(slot.starts_at), epoch(slot.resource_starts_at), epoch(slot.ends_at)
        self.busy_practitioner.setdefault(slot.practitioner_id, Busy()).add(resource_start, end)
        self.busy_room.setdefault(slot.room_id, Busy()).add(resource_start, end)
        if slot.device_id is not None:
            self.busy_device.setdefault(slot.device_id, Busy()).add(resource_start, end)
        if patient:
            self.busy_patient.add(start, end)


def _busy(table: dict[int, Busy], key: int, start: int, end: int) -> bool:
    busy = table.get(key)
    return busy is not None and busy.overlaps(start, end)


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)
