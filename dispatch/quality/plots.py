"""The monthly report's plots, drawn with matplotlib's object API (no pyplot: no global state,
safe in a worker thread): SVG for the HTML page, pages of the PDF."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable

from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

INK = "#102a43"
RED = "#c0182b"
BLUE = "#2f6fb0"
SIZE = (7.5, 3.2)
A4 = (8.27, 11.69)  # portrait, inches


Plot = Callable[[Axes], None]


def histogram(values: list[float], *, title: str, xlabel: str, target: float, bins: list[float],
              clip: float) -> Plot:
    """A distribution with its target as a red line; values past `clip` pile up in the last bin."""

    def draw(ax: Axes) -> None:
        ax.hist([min(v, clip) for v in values], bins=bins, color=BLUE, edgecolor="white")
        ax.axvline(target, color=RED, linewidth=1.5, label=f"target {target:g}")
        ax.set_title(title, color=INK, fontsize=11)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("count")
        ax.legend(frameon=False)

    return draw


def response_by_area(areas: dict[str, tuple[float | None, float | None]]) -> Plot:
    """Response time (call to on scene) p50 and p90 per sub-district, in minutes."""
    return lambda ax: _response_by_area(ax, areas)


def _response_by_area(ax: Axes, areas: dict[str, tuple[float | None, float | None]]) -> None:
    names = list(areas)
    p50 = [(areas[n][0] or 0) / 60 for n in names]
    p90 = [(areas[n][1] or 0) / 60 for n in names]
    at = range(len(names))
    ax.bar([x - 0.2 for x in at], p50, width=0.4, color=BLUE, label="p50")
    ax.bar([x + 0.2 for x in at], p90, width=0.4, color=INK, label="p90")
    ax.set_xticks(list(at), names, rotation=40, ha="right", fontsize=8)
    ax.set_ylabel("minutes")
    ax.set_title("Response time (call to on scene) by sub-district", color=INK, fontsize=11)
    ax.set_ylim(0, max([*p90, 1]) * 1.3)
    ax.legend(frameon=False, ncols=2, loc="upper right")


def hourly(calls_per_hour: list[float], advised: list[int]) -> Plot:
    """Mean calls in each hour of the day, and the call-takers Erlang C advises for them."""
    return lambda ax: _hourly(ax, calls_per_hour, advised)


def _hourly(ax: Axes, calls_per_hour: list[float], advised: list[int]) -> None:
    hours = list(range(24))
    ax.bar(hours, calls_per_hour, color=BLUE, label="calls per hour (mean)")
    ax.set_xlabel("hour of the day (local)")
    ax.set_ylabel("calls per hour")
    ax.set_xticks(hours[::2])
    staff = ax.twinx()
    staff.step(hours, advised, where="mid", color=RED, label="call-takers advised (Erlang C)")
    staff.set_ylabel("call-takers")
    staff.set_ylim(0, max([*advised, 1]) + 1)
    ax.set_title("Hourly calls and staffing advice for the 10 s target", color=INK, fontsize=11)
    lines = ax.get_legend_handles_labels()[0] + staff.get_legend_handles_labels()[0]
    ax.legend(lines, [str(line.get_label()) for line in lines], frameon=False, fontsize=8, loc="upper left")


def svg(plot: Plot) -> str:
    """One plot as an inline SVG element."""
    fig = Figure(figsize=SIZE)
    plot(fig.add_subplot())
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg")
    text = out.getvalue()
    return text[text.index("<svg"):]


Table = tuple[list[str], list[list[str]], list[float]]  # header, rows, column widths


def table_page(title: str, subtitle: str, tables: list[Table]) -> Figure:
    """A page with a title and tables one under the other (the first page of the PDF)."""
    fig = Figure(figsize=A4)
    fig.text(0.06, 0.96, title, fontsize=16, color=INK, weight="bold", va="top")
    fig.text(0.06, 0.925, subtitle, fontsize=9, color="#52606d", linespacing=1.5, va="top")
    top = 0.85
    for header, given, widths in tables:
        rows = given or [["—"] * len(header)]  # a table needs a row
        height = 0.021 * (len(rows) + 1)
        ax = fig.add_axes((0.06, top - height, 0.88, height))
        ax.axis("off")
        table = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="left",
                         colWidths=widths, bbox=Bbox.from_bounds(0, 0, 1, 1))
        table.auto_set_font_size(False)
        table.set_fontsize(9)
        for (row, _), cell in table.get_celld().items():
            cell.set_edgecolor("#d9e2ec")
            if row == 0:
                cell.set_text_props(weight="bold", color=INK)
            if cell.get_text().get_text().startswith("fails"):
                cell.set_text_props(color=RED, weight="bold")
        top -= height + 0.03
    return fig


def plots_page(plots: list[Plot]) -> Figure:
    """An A4 page of plots, one above the other."""
    fig = Figure(figsize=A4)
    for n, plot in enumerate(plots, start=1):
        plot(fig.add_subplot(len(plots), 1, n))
    fig.tight_layout(pad=2.0, h_pad=2.5)
    return fig


def pdf(pages: Iterable[Figure], *, title: str) -> bytes:
    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": title, "Creator": "120 dispatch hub"}) as document:
        for page in pages:
            page.savefig(document, format="pdf")
    return out.getvalue()
