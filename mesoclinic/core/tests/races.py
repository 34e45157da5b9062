"""Run calls at once, each in its own thread with its own database connection (PostgreSQL race tests)."""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from django.db import connection


@contextmanager
def connections_to_spare() -> Iterator[None]:
    """Test processes on this machine (pytest -n 2) take turns at races, so two never exhaust
    PostgreSQL's connections together (the same lock file as the booking races)."""
    with open(os.path.join(tempfile.gettempdir(), "mesoclinic-50-connection-race.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def race(calls: Sequence[Callable[[], object]]) -> list[object]:
    """Release every call together (a barrier); return each one's result or the exception it raised."""
    with connections_to_spare():
        barrier = threading.Barrier(len(calls))
        outcomes: list[object] = [None] * len(calls)

        def run(index: int, call: Callable[[], object]) -> None:
            try:
                barrier.wait()
                outcomes[index] = call()
            except Exception as error:  # collected for the test to assert on
                outcomes[index] = error
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        return outcomes


def kinds(outcomes: Sequence[object]) -> Counter[str]:
    """How many outcomes of each type: e.g. {"Patient": 1, "StaleEdit": 1}."""
    return Counter(type(outcome).__name__ for outcome in outcomes)
