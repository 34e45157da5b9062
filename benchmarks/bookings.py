"""Bookings per second under concurrent load, through the real web server (issue 4).

gunicorn serves `config.wsgi` with WORKERS sync workers and the production settings of
scripts/bench.sh (see webserver.py). CLIENTS threads, each a receptionist's browser with its own
session, sign in through the real form at /accounts/sign-in/ as a dedicated benchmark user, then
book patients of the busiest location on a few weekdays from a week ahead, as the booking screen
does: the htmx GET of the free times for that patient and day, then the POST of one of the first
PICK_FROM times shown (to `scheduling:appointment-new`, with the CSRF token from that form).
Clients looking at the same day at the same moment see the same free times, so some POSTs lose
and answer 409; the client then picks one of the next free times that answer offers, up to
RETRIES times — as a receptionist would.

Printed: attempts (POSTs), booked (302), conflicts (409), refusals (400), server errors (5xx,
must be 0), wall time, bookings (302s) and attempts per second, the conflict rate, p50/p95 of a
booking POST as the clients saw it (with the wait for a free worker) and as the worker spent it
(gunicorn's access log), and the same for the free-times GET. Then a check that none of the
appointments booked here overlaps another active appointment on its practitioner, room, Dermapen
or patient, by the rule of the exclusion constraints.

Afterwards the appointments booked here are deleted, with their outbox messages, their queued
delivery tasks, the outbox sweep they armed and the clients' sessions. The audit rows stay (the
audit table is append-only), and so does the benchmark user they name: inactive, with no password
and no location. The database is ready for the next run (which also clears what an interrupted
run left).
"""

from __future__ import annotations

import html
import queue
import random
import re
import secrets
import statistics
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from mesoclinic.accounts.models import Membership, User
from mesoclinic.accounts.roles import Role
from mesoclinic.core.models import Location
from mesoclinic.messaging.models import OutboundMessage, OutboxSweep
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.models import MAX_APPOINTMENT_MINUTES, Appointment

from .schedule import busiest_location
from .timing import Figures, percentile
from .webserver import Browser, Server, csrf_token, gunicorn

WORKERS = 3  # gunicorn sync workers: one more than the machine's two cores, to cover the database waits
CLIENTS = 16
PICK_FROM = 4  # a receptionist picks one of the first free times shown
RETRIES = 2  # after a conflict, one of the next free times offered, at most this often
PATIENTS_PER_DAY = 60  # how many patients are booked on each day the clients share
KINDS = [("treatment", 30, 20, True), ("treatment", 30, 15, False), ("consultation", 0, 15, False)]  # (…, with a Dermapen)
USERNAME = "benchmark-bookings"
SLOT = re.compile(r'name="slot" value="([^"]+)"')
ALERT = re.compile(r'role="alert">(.*?)</(?:div|p)>', re.S)


def _slots(page: str) -> list[str]:
    return [html.unescape(value) for value in SLOT.findall(page)]


def _offered(page: str) -> list[str]:
    """The next free times a 409 offers (listed before the rest of the day's free times)."""
    start, end = page.find(">Next free times<"), page.find(">Free times that day<")
    return _slots(page[start:end]) if start >= 0 else []


def _alert(page: str) -> str:
    found = ALERT.search(page)
    return html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).strip()[:200] if found else "(no message)"


# --- the clients -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    patient_id: int
    on: date
    kind: tuple[str, int, int, bool]


@dataclass
class Tally:
    posts: list[tuple[int, float]] = field(default_factory=list)  # (status, ms)
    pickers: list[float] = field(default_factory=list)
    full: int = 0  # patients whose day showed no free time
    unexpected: list[str] = field(default_factory=list)


def _book(browser: Browser, job: Job, location_id: int, rng: random.Random, tally: Tally) -> None:
    kind, numbing, procedure, device = job.kind
    details = {
        "patient": str(job.patient_id),
        "location": str(location_id),
        "on": job.on.isoformat(),
        "kind": kind,
        "numbing_minutes": str(numbing),
        "procedure_minutes": str(procedure),
    } | ({"needs_device": "on"} if device else {})
    path = reverse("scheduling:appointment-new")
    picker = browser.request(f"{path}?{urllib.parse.urlencode(details)}", headers={"HX-Request": "true"})
    tally.pickers.append(picker.ms)
    if picker.status != 200:
        tally.unexpected.append(f"free times answered {picker.status}")
        return
    shown = _slots(picker.body)
    if not shown:
        tally.full += 1
        return
    form = details | {"csrfmiddlewaretoken": csrf_token(picker.body), "notes": ""}
    slot = rng.choice(shown[:PICK_FROM])
    for _ in range(1 + RETRIES):
        reply = browser.request(path, form | {"slot": slot})
        tally.posts.append((reply.status, reply.ms))
        offered = _offered(reply.body) if reply.status == 409 else []
        if not offered:
            if reply.status not in (302, 409):
                tally.unexpected.append(f"booking answered {reply.status}: {_alert(reply.body)}")
            return
        slot = rng.choice(offered[:PICK_FROM])


def _client(
    browser: Browser, index: int, password: str, jobs: queue.SimpleQueue[Job], location_id: int, start: threading.Barrier, tally: Tally
) -> None:
    try:
        browser.sign_in(USERNAME, password)
        start.wait()
        rng = random.Random(100 + index)
        while True:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                return
            _book(browser, job, location_id, rng, tally)
    except (Exception, SystemExit) as error:  # reported; the other clients go on
        tally.unexpected.append(f"client {index} stopped: {error!r}")
        start.abort()


def _load(password: str, jobs: queue.SimpleQueue[Job], location: Location, browsers: list[Browser]) -> tuple[list[Tally], float]:
    """All clients sign in, then book until no job is left. Returns their tallies and the wall time."""
    tallies = [Tally() for _ in browsers]
    start = threading.Barrier(len(browsers) + 1)
    threads = [
        threading.Thread(target=_client, args=(browser, index, password, jobs, location.pk, start, tally), daemon=True)
        for index, (browser, tally) in enumerate(zip(browsers, tallies, strict=True))
    ]
    for thread in threads:
        thread.start()
    try:
        start.wait(timeout=300)
    except threading.BrokenBarrierError:
        raise SystemExit(f"the clients could not all sign in: {[p for t in tallies for p in t.unexpected][:3]}") from None
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return tallies, time.perf_counter() - started


# --- the user, the check, the clean-up ---------------------------------------------------------------------


def _benchmark_user(location: Location) -> tuple[User, str]:
    """A receptionist of `location` for this run, with a fresh random password."""
    password = secrets.token_urlsafe(18)
    user, _ = User.objects.update_or_create(
        username=USERNAME, defaults={"role": Role.RECEPTIONIST, "is_active": True, "first_name": "Benchmark", "last_name": "Bookings"}
    )
    user.set_password(password)
    user.save(update_fields=["password"])
    Membership.objects.get_or_create(user=user, location=location)
    return user, password


RESOURCES = {"practitioner": "resource_starts_at", "room": "resource_starts_at", "device": "resource_starts_at", "patient": "starts_at"}


def overlaps(ids: list[int]) -> dict[str, int]:
    """Per resource, how many of these appointments overlap another active appointment holding it:
    the exclusion constraints' rule (active statuses, half-open ranges from the resource's start)."""
    span = timedelta(minutes=MAX_APPOINTMENT_MINUTES)
    ours = Appointment.objects.filter(pk__in=ids, status__in=Appointment.ACTIVE)
    found = {}
    for resource, start in RESOURCES.items():
        rule = {f"{resource}_id": OuterRef(f"{resource}_id"), f"{start}__lt": OuterRef("ends_at"), "ends_at__gt": OuterRef(start)}
        clash = Appointment.objects.filter(
            status__in=Appointment.ACTIVE,
            starts_at__gt=OuterRef("starts_at") - span,  # bounds the index scan: no appointment is longer
            **{"starts_at__lt": OuterRef("ends_at"), **rule},
        ).exclude(pk=OuterRef("pk"))
        found[resource] = ours.filter(**{f"{resource}_id__isnull": False}).filter(Exists(clash)).count()
    return found


@dataclass(frozen=True)
class Sweep:
    """The outbox sweep as it was before the run (bookings queue messages, which arm a sweep)."""

    since: datetime
    next_run_at: datetime | None

    @classmethod
    def now(cls) -> Sweep:
        return cls(timezone.now(), OutboxSweep.objects.filter(id=1).values_list("next_run_at", flat=True).first())


def clean_up(user: User, session_keys: list[str], sweep: Sweep | None = None) -> str:
    """Delete what `user` booked, its outbox messages and their delivery tasks, the sweep armed since
    `sweep.since` and the clients' sessions; leave the user inactive, with no password or location."""
    with transaction.atomic():
        ids = list(Appointment.objects.filter(booked_by=user).values_list("id", flat=True))
        messages = OutboundMessage.objects.filter(related_type=Appointment._meta.label_lower, related_id__in=[str(pk) for pk in ids])
        message_ids = list(messages.values_list("id", flat=True))
        tasks, _ = DBTaskResult.objects.filter(task_path__endswith=".deliver_message", args_kwargs__args__0__in=message_ids).delete()
        if sweep is not None:
            DBTaskResult.objects.filter(task_path__endswith=".sweep_outbox", status="READY", enqueued_at__gte=sweep.since).delete()
            OutboxSweep.objects.filter(id=1).update(next_run_at=sweep.next_run_at)
        messages.delete()
        Appointment.objects.filter(pk__in=ids).delete()
        sessions, _ = Session.objects.filter(session_key__in=session_keys).delete()
        Membership.objects.filter(user=user).delete()
        user.set_unusable_password()
        user.is_active = False
        user.save(update_fields=["password", "is_active"])
    return f"{len(ids)} appointments, {len(message_ids)} outbox messages, {tasks} delivery tasks, {sessions} sessions"


# --- the benchmark -------------------------------------------------------------------------------------


def _days(location: Location, count: int) -> list[date]:
    """The first `count` weekdays from a week ahead (inside the seeded 65 days, partly booked)."""
    today = location.local(timezone.now()).date()
    return [day for day in (today + timedelta(days=7 + n) for n in range(3 * count + 7)) if day.weekday() < 5][:count]


def _jobs(location: Location, requests: int, rng: random.Random) -> tuple[queue.SimpleQueue[Job], list[date]]:
    days = _days(location, max(2, requests // PATIENTS_PER_DAY))
    patients = list(Patient.objects.filter(location=location).order_by("id").values_list("id", flat=True)[: 20 * requests])
    jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
    for patient_id in rng.sample(patients, min(requests, len(patients))):
        jobs.put(Job(patient_id, rng.choice(days), rng.choice(KINDS)))
    return jobs, days


def run(requests: int) -> list[Figures]:
    location = busiest_location()
    jobs, days = _jobs(location, requests, random.Random(17))
    leftover = User.objects.filter(username=USERNAME).first()
    if leftover is not None:
        clean_up(leftover, [])  # what an interrupted run left behind
    sweep = Sweep.now()
    user, password = _benchmark_user(location)
    browsers: list[Browser] = []
    try:
        with gunicorn(workers=WORKERS) as server:
            print(
                f"gunicorn, {server.workers} sync workers; {CLIENTS} clients, each signed in through the sign-in form; "
                f"{jobs.qsize()} patients of {location.name} to book on {', '.join(f'{d:%a %d %b}' for d in days)}"
            )
            browsers = [Browser(server.base) for _ in range(CLIENTS)]
            tallies, wall = _load(password, jobs, location, browsers)
            _report(tallies, wall, server)
        ids = list(Appointment.objects.filter(booked_by=user).values_list("id", flat=True))
        found = ", ".join(f"{resource} {count}" for resource, count in overlaps(ids).items())
        print(f"{len(ids)} appointments booked by this run; overlapping another active appointment: {found}")
    finally:
        print(f"deleted {clean_up(user, [browser.session_key() for browser in browsers], sweep)}; their audit rows stay (append-only)")
    return []


def _ms(samples: list[float]) -> str:
    if not samples:
        return "none"
    return f"p50={statistics.median(samples):7.2f} ms  p95={percentile(samples, 0.95):7.2f} ms  max={max(samples):7.2f} ms"


def _report(tallies: list[Tally], wall: float, server: Server) -> None:
    posts = [post for tally in tallies for post in tally.posts]
    statuses = Counter(status for status, _ in posts)
    attempts, booked, conflicts = len(posts), statuses[302], statuses[409]
    errors = sum(count for status, count in statuses.items() if status >= 500)
    others = {status: count for status, count in statuses.items() if status not in (302, 400, 409) and status < 500}
    print(
        f"attempts={attempts}  booked (302)={booked}  conflicts (409)={conflicts}  refused (400)={statuses[400]}  "
        f"errors (5xx)={errors}" + (f"  other={others}" if others else "")
    )
    print(
        f"wall={wall:.1f} s  bookings/s={booked / wall:.1f}  attempts/s={attempts / wall:.1f}  "
        f"conflict rate={conflicts / max(1, attempts):.0%}  patients whose day showed no free time={sum(t.full for t in tallies)}"
    )
    path = reverse("scheduling:appointment-new")
    worker = [row for row in server.timings() if row.path == path]
    rows = [
        ("booking POST, client side", [ms for _, ms in posts]),
        ("booking POST → 302, in the worker", [row.ms for row in worker if row.method == "POST" and row.status == 302]),
        ("booking POST → 409, in the worker", [row.ms for row in worker if row.method == "POST" and row.status == 409]),
        ("free-times GET, client side", [ms for tally in tallies for ms in tally.pickers]),
        ("free-times GET, in the worker", [row.ms for row in worker if row.method == "GET"]),
    ]
    for label, samples in rows:
        print(f"{label:<44} n={len(samples):<5} {_ms(samples)}")
    for problem in sorted({problem for tally in tallies for problem in tally.unexpected})[:5]:
        print(f"  unexpected: {problem}")
