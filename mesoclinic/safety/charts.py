"""A server-rendered SVG bar chart: geometry computed here, drawn by a template. No JavaScript."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    label_x: float


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    plot_right: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


def nice_ceiling(value: int) -> int:
    """The axis maximum: at least 1, rounded up to 1, 2 or 5 × a power of ten."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def bar_chart(items: Sequence[tuple[str, int]], *, width: int = 720, height: int = 260) -> BarChart:
    left, right, top, bottom = 40, 10, 10, 40
    plot_width, plot_height = width - left - right, height - top - bottom
    top_value = nice_ceiling(max((value for _label, value in items), default=0))
    slot = plot_width / max(1, len(items))
    bar_width = min(56.0, max(2.0, slot * 0.7))  # one month alone is a bar, not a wall
    bars = []
    for index, (label, value) in enumerate(items):
        bar_height = plot_height * value / top_value
        x = left + index * slot + (slot - bar_width) / 2
        bars.append(
            Bar(
                x=round(x, 1),
                y=round(top + plot_height - bar_height, 1),
                width=round(bar_width, 1),
                height=round(bar_height, 1),
                label=label,
                value=value,
                label_x=round(x + bar_width / 2, 1),
            )
        )
    steps = top_value if top_value <= 5 else 5
    ticks = tuple(
        Tick(y=round(top + plot_height - plot_height * n / steps, 1), value=round(top_value * n / steps)) for n in range(steps + 1)
    )
    return BarChart(
        width=width, height=height, plot_left=left, plot_bottom=top + plot_height, plot_right=width - right, bars=tuple(bars), ticks=ticks
    )
