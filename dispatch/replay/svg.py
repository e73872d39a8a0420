"""Small inline SVG charts for the HTML report: no scripts, no network, opens anywhere."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#57606a")
W, H = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 40


@dataclass
class Series:
    name: str
    xs: Sequence[float]
    ys: Sequence[float]


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.3g}"


class Frame:
    """Axes mapping data to the drawing area (y optionally logarithmic)."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float, *, log_y: bool = False) -> None:
        self.log_y = log_y
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        if log_y:
            y0, y1 = math.log10(max(y0, 1e-3)), math.log10(max(y1, 1e-3))
        self.y0, self.y1 = y0, y1 if y1 > y0 else y0 + 1

    def x(self, value: float) -> float:
        return LEFT + (value - self.x0) / (self.x1 - self.x0) * (W - LEFT - RIGHT)

    def y(self, value: float) -> float:
        if self.log_y:
            value = math.log10(max(value, 1e-3))
        return H - BOTTOM - (value - self.y0) / (self.y1 - self.y0) * (H - TOP - BOTTOM)

    def axes(self, x_label: str, y_label: str) -> list[str]:
        parts = [f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" stroke="#888"/>',
                 f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#888"/>']
        for tx in _ticks(self.x0, self.x1):
            px = self.x(tx)
            parts.append(f'<text x="{px:.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{_fmt(tx)}</text>')
        if self.log_y:
            y_ticks = [10.0 ** e for e in range(math.floor(self.y0), math.ceil(self.y1) + 1)]
        else:
            y_ticks = _ticks(self.y0, self.y1)
        for ty in y_ticks:
            py = self.y(ty)
            if TOP - 1 <= py <= H - BOTTOM + 1:
                parts.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{W - RIGHT}" y2="{py:.1f}" '
                             'stroke="#eee"/>')
                parts.append(f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{_fmt(ty)}</text>')
        parts.append(f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 6}" text-anchor="middle">'
                     f'{escape(x_label)}</text>')
        parts.append(f'<text x="14" y="{(TOP + H - BOTTOM) / 2}" text-anchor="middle" '
                     f'transform="rotate(-90 14 {(TOP + H - BOTTOM) / 2})">{escape(y_label)}</text>')
        return parts


def _svg(title: str, body: list[str], legend: Sequence[str] = ()) -> str:
    items = [f'<text x="{LEFT}" y="16" font-weight="bold">{escape(title)}</text>']
    x = W - RIGHT
    for index, name in reversed(list(enumerate(legend))):
        width = 12 + 7 * len(name)
        x -= width
        items.append(f'<rect x="{x}" y="8" width="10" height="10" fill="{COLOURS[index % len(COLOURS)]}"/>'
                     f'<text x="{x + 14}" y="17">{escape(name)}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="{W}" height="{H}" '
            f'font-family="sans-serif" font-size="11" role="img" aria-label="{escape(title)}">'
            + "".join(items + body) + "</svg>")


def line_chart(title: str, series: Sequence[Series], *, x_label: str, y_label: str,
               log_y: bool = False, marks: Sequence[tuple[float, str]] = (),
               spans: Sequence[tuple[float, float, str]] = ()) -> str:
    """Lines over a shared x axis; `marks` draws horizontal reference lines (value, label),
    `spans` shaded stretches of the x axis (from, to, label), such as a fault."""
    xs = [x for s in series for x in s.xs] + [x for start, end, _ in spans for x in (start, end)]
    ys = [y for s in series for y in s.ys if not math.isnan(y)] + [m[0] for m in marks]
    if not xs or not ys:
        return _svg(title, [f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">no data</text>'])
    low = min(ys) if log_y else min(0.0, min(ys))
    frame = Frame(min(xs), max(xs), low, max(ys) * 1.05, log_y=log_y)
    body = frame.axes(x_label, y_label)
    for start, end, label in spans:
        x0, x1 = frame.x(start), frame.x(end)
        body.append(f'<rect x="{x0:.1f}" y="{TOP}" width="{max(x1 - x0, 2):.1f}" '
                    f'height="{H - TOP - BOTTOM}" fill="#d1242f" fill-opacity="0.15"/>'
                    f'<line x1="{x0:.1f}" y1="{TOP}" x2="{x0:.1f}" y2="{H - BOTTOM}" stroke="#d1242f"/>'
                    f'<text x="{x0 + 3:.1f}" y="{TOP + 10}" fill="#d1242f">{escape(label)}</text>')
    for index, s in enumerate(series):
        points = " ".join(f"{frame.x(x):.1f},{frame.y(y):.1f}" for x, y in zip(s.xs, s.ys, strict=True)
                          if not math.isnan(y))
        body.append(f'<polyline fill="none" stroke-width="1.5" stroke="{COLOURS[index % len(COLOURS)]}" '
                    f'points="{points}"/>')
    for value, label in marks:
        py = frame.y(value)
        body.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{W - RIGHT}" y2="{py:.1f}" stroke="#d1242f" '
                    f'stroke-dasharray="4 3"/><text x="{W - RIGHT - 4}" y="{py - 4:.1f}" '
                    f'text-anchor="end" fill="#d1242f">{escape(label)}</text>')
    return _svg(title, body, [s.name for s in series])


def histogram(title: str, edges: Sequence[float], counts: Sequence[int], *, x_label: str,
              y_label: str = "calls", mark: tuple[float, str] | None = None) -> str:
    """Bars between consecutive `edges`; `mark` draws a vertical line (value, label)."""
    if not counts or not edges:
        return _svg(title, [f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">no data</text>'])
    frame = Frame(edges[0], edges[-1], 0, max(max(counts), 1) * 1.1)
    body = frame.axes(x_label, y_label)
    for left, right, count in zip(edges, edges[1:], counts, strict=False):
        x0, x1 = frame.x(left), frame.x(right)
        y = frame.y(count)
        body.append(f'<rect x="{x0 + 0.5:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" '
                    f'height="{H - BOTTOM - y:.1f}" fill="{COLOURS[0]}"/>')
    if mark is not None:
        px = frame.x(mark[0])
        body.append(f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{H - BOTTOM}" stroke="#d1242f" '
                    f'stroke-dasharray="4 3"/><text x="{px + 4:.1f}" y="{TOP + 10}" fill="#d1242f">'
                    f'{escape(mark[1])}</text>')
    return _svg(title, body)
