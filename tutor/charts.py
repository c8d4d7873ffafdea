"""Geometry of the small bar charts on the results page (no Flask): the template draws the SVG.

Bars are horizontal, one per question, a share from 0 to 1; a question nobody answered gets no bar
and the words "no answers". Everything is in SVG user units inside a viewBox, so the chart scales
to the column it sits in, and colours come from the stylesheet (the site's CSP allows no inline style).
"""

from __future__ import annotations

from dataclasses import dataclass

LABEL_WIDTH = 48
BAR_AREA = 240
VALUE_WIDTH = 84
ROW_HEIGHT = 28
BAR_HEIGHT = 18
TOP = 24  # room for the 0% / 50% / 100% scale


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value in words, and where it is drawn."""

    label: str
    text: str
    y: float
    width: float  # 0 when there is no value
    empty: bool


@dataclass(frozen=True)
class Tick:
    """A scale mark: its x and its words."""

    x: float
    text: str


@dataclass(frozen=True)
class BarChart:
    """A whole chart: its size, its accessible name and description, its bars and scale."""

    title: str
    desc: str
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]


def percent(value: float | None) -> str:
    """A share as the report prints it: '67%', or '-' when there is none."""
    return "-" if value is None else f"{round(value * 100)}%"


def share_chart(items: list[tuple[str, float | None]], title: str, desc: str) -> BarChart:
    """A bar per (label, share) item, shares from 0 to 1 (None: nobody answered)."""
    bars = []
    for index, (label, value) in enumerate(items):
        y = TOP + index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2
        width = 0.0 if value is None else round(max(0.0, min(1.0, value)) * BAR_AREA, 1)
        text = "no answers" if value is None else percent(value)
        bars.append(Bar(label, text, y, width, value is None))
    ticks = tuple(Tick(LABEL_WIDTH + BAR_AREA * share, f"{round(share * 100)}%") for share in (0.0, 0.5, 1.0))
    return BarChart(
        title=title,
        desc=desc,
        width=LABEL_WIDTH + BAR_AREA + VALUE_WIDTH,
        height=TOP + max(len(bars), 1) * ROW_HEIGHT + 4,
        label_width=LABEL_WIDTH,
        bar_height=BAR_HEIGHT,
        bars=tuple(bars),
        ticks=ticks,
    )
