"""A small text progress bar for long management commands (seeding, benchmarks)."""

from __future__ import annotations

import sys
import time
from typing import Protocol


class Writer(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> object: ...


class ProgressBar:
    def __init__(self, label: str, total: int, stream: Writer | None = None, width: int = 30) -> None:
        self.label, self.total, self.width = label, max(total, 1), width
        self.stream: Writer = stream or sys.stdout
        self.done = 0
        self.started = time.monotonic()
        self._last_draw = 0.0

    def advance(self, count: int = 1) -> None:
        self.done = min(self.total, self.done + count)
        now = time.monotonic()
        if now - self._last_draw >= 0.2 or self.done == self.total:
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        share = self.done / self.total
        filled = int(share * self.width)
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        bar = "#" * filled + "-" * (self.width - filled)
        end = "\n" if self.done == self.total else ""
        self.stream.write(f"\r{self.label:<14} [{bar}] {share:6.1%} {self.done:>9,}/{self.total:,} {rate:,.0f}/s{end}")
        self.stream.flush()

    def finish(self) -> None:
        if self.done < self.total:
            self.done = self.total
            self._draw(time.monotonic())
