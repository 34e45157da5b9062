"""Measuring helpers: percentiles and a signed-in in-process client."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, reset_queries
from django.test import Client
from django.test.utils import CaptureQueriesContext


@dataclass(frozen=True)
class Figures:
    name: str
    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    queries: tuple[int, ...]

    def line(self) -> str:
        queries = f"{min(self.queries)}" if min(self.queries) == max(self.queries) else f"{min(self.queries)}–{max(self.queries)}"
        times = f"p50={self.p50_ms:7.2f} ms  p95={self.p95_ms:7.2f} ms  max={self.max_ms:7.2f} ms"
        return f"{self.name:<44} n={self.count:<5} {times}  queries/request={queries}"


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def measure(name: str, calls: list[Callable[[], object]], warmup: int = 20) -> Figures:
    """Time each call; the first `warmup` calls warm caches and are not counted."""
    for call in calls[:warmup]:
        call()
    samples, queries = [], []
    for call in calls[warmup:]:
        reset_queries()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            samples.append((time.perf_counter() - started) * 1000)
        queries.append(len(captured))
    return Figures(
        name=name,
        count=len(samples),
        p50_ms=statistics.median(samples),
        p95_ms=percentile(samples, 0.95),
        max_ms=max(samples),
        queries=tuple(sorted(set(queries))),
    )


def signed_in_client(user: object) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)  # type: ignore[arg-type]
    return client


def get_ok(client: Client, url: str) -> Callable[[], object]:
    def call() -> object:
        response = client.get(url)
        if response.status_code != 200:
            raise AssertionError(f"{url} answered {response.status_code}")
        return response

    return call
