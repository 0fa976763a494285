"""Bar charts as geometry for inline SVG drawn server-side (no script, no inline style): the
template draws ``<rect>``s and labels from what these functions compute."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 200
BOTTOM = 24  # room for the labels under the bars
TOP = 16  # room for a value over the tallest bar


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int
    series: int  # 0 for the first series, 1 for the second (class "alt")


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    labels: list[tuple[float, str]]  # (x of the group's centre, label)


def grouped(
    labels: Sequence[str], *series: Sequence[int], width: int = WIDTH, height: int = HEIGHT
) -> Chart:
    """One group of bars per label, one bar per series in each group, scaled to the largest
    value (negative values are drawn as zero)."""
    count = max(len(labels), 1)
    biggest = max([v for values in series for v in values] + [1])
    plot = height - BOTTOM - TOP
    slot = width / count
    bar_width = slot * 0.8 / max(len(series), 1)
    bars: list[Bar] = []
    centres: list[tuple[float, str]] = []
    for i, label in enumerate(labels):
        left = i * slot + slot * 0.1
        centres.append((round(i * slot + slot / 2, 1), label))
        for s, values in enumerate(series):
            value = values[i]
            h = plot * max(value, 0) / biggest
            bars.append(
                Bar(
                    x=round(left + s * bar_width, 1),
                    y=round(TOP + plot - h, 1),
                    width=round(bar_width * 0.9, 1),
                    height=round(h, 1),
                    label=label,
                    value=value,
                    series=s,
                )
            )
    return Chart(width, height, TOP + plot, bars, centres)
