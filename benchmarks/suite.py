"""The benchmark suite: each module's run(requests) returns figures; this prints them."""

from __future__ import annotations

import importlib
import platform
import time

from django.db import connection

BENCHMARKS = ["patients", "courses", "schedule", "bookings"]


def run_all(*, only: str, requests: int) -> int:
    database = f"{connection.vendor} {connection.settings_dict['NAME']}"
    print(f"Mesoclinic benchmarks — {database}, Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}")
    for name in BENCHMARKS:
        if only and name != only:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        print(f"\n[{name}]")
        for figures in module.run(requests):
            print(figures.line())
    return 0
