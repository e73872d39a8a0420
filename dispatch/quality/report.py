"""The monthly report a supervisor hands to the health commission: a self-contained HTML page, a
PDF with the same figures and plots, and a CSV of every incident's chain of times."""

from __future__ import annotations

import asyncio
import csv
import html
import io
import math
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import erlang
from dispatch.calls import slo
from dispatch.places.hours import zone_info
from dispatch.quality import chain as chains
from dispatch.quality import plots, service
from dispatch.quality.schemas import Indicator, QualityOut
from dispatch.runtime import Runtime

# Each indicator's name in both languages (the console's labels: static/common/i18n.js).
NAMES = {
    "answered_within_10s": ("10秒接听率", "Answered within 10 s"),
    "answer_rate": ("应答率（含回拨）", "Answer rate (with callbacks)"),
    "answer_p90": ("接听时间P90", "Answer time P90"),
    "answer_to_dispatch_p90": ("受理至派车P90", "Answer to dispatch P90"),
    "turnout_within_3min": ("3分钟出车率", "Out within 3 min"),
    "turnout_p90": ("出车时间P90", "Turnout P90"),
    "response_p50": ("反应时间P50", "Response P50 (call to on scene)"),
    "response_p90": ("反应时间P90", "Response P90 (call to on scene)"),
    "on_scene_p50": ("现场处置时间P50", "On-scene time P50"),
    "transport_p50": ("转运时间P50", "Transport time P50"),
    "handover_within_15min": ("15分钟交接率", "Handed over within 15 min"),
    "handover_refusals": ("拒收", "Refusals"),
    "community_care_share": ("社区分流占比", "Resolved by community care"),
}
TIMELINE = ("incident_id", "created_at", "status", "severity", "zone_status", "sub_district_id",
            "call_rung_at", "answered_at", "dispatched_at", "en_route_at", "on_scene_at",
            "left_scene_at", "at_hospital_at", "handed_over_at", "jobs", "units")


@dataclass(slots=True)
class MonthReport:
    month: str
    timezone: str
    figures: QualityOut
    records: chains.Records
    handling_s: float
    calls_per_hour: list[float]
    advised: list[int]
    units: dict[uuid.UUID, list[str]]


async def build(*, session: AsyncSession, rt: Runtime, month: str) -> MonthReport:
    """Read a month's records and compute its figures and staffing advice."""
    tz = rt.settings.timezone
    name, start, end = service.span_of(window=None, month=month, now=rt.clock.now(), timezone=tz)
    records = await chains.read(session=session, start=start, end=end)
    figures = service.figures(records, name=name, start=start, end=end,
                              answer_target_s=rt.settings.answer_target_seconds,
                              handover_target_minutes=rt.settings.handover_target_minutes)
    handled = service.present(records.calls.ended_at - records.calls.answered_at)
    handling = float(handled.mean()) if len(handled) else slo.DEFAULT_HANDLING_SECONDS
    days = max(1.0, (end - start).total_seconds() / 86400)
    local = zone_info(tz)
    per_hour = Counter(datetime.fromtimestamp(at, local).hour for at in records.calls.rung_at.tolist())
    calls_per_hour = [round(per_hour[h] / days, 2) for h in range(24)]
    advised = [erlang.agents_needed(rate / 3600, handling, rt.settings.answer_target_seconds)
               for rate in calls_per_hour]
    return MonthReport(month=month, timezone=tz, figures=figures, records=records,
                       handling_s=round(handling, 1), calls_per_hour=calls_per_hour, advised=advised,
                       units=await chains.units_of(session=session, start=start, end=end))


def shown(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.0f} s" if value < 120 else f"{int(value // 60)}:{int(value % 60):02d}"
    return f"{value:g}"


def target(item: Indicator) -> str:
    if item.target is None:
        return "—"
    return f"{'≥' if item.comparison == '>=' else '≤'} {shown(item.target, item.unit)}"


def verdict(item: Indicator) -> str:
    return "—" if item.holds is None else ("holds 达标" if item.holds else "fails 未达标")


def timeline_csv(report: MonthReport) -> str:
    """Every incident of the month and the first time each step of its chain happened."""
    local = zone_info(report.timezone)
    chain = report.records.chains

    def when(at: float) -> str:
        return "" if math.isnan(at) else datetime.fromtimestamp(round(at, 3), local).isoformat(
            timespec="seconds")

    steps = [chain.at[step].tolist() for step in chains.STEPS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TIMELINE)
    for n in sorted(range(len(chain)), key=lambda n: steps[0][n]):
        created, *chained = (when(at[n]) for at in steps)
        writer.writerow([chain.ids[n], created, chain.status[n], chain.severity[n],
                         chain.zone_status[n] or "", chain.sub_district_id[n] or "", *chained,
                         chain.jobs[n], " ".join(report.units.get(chain.ids[n], []))])
    return out.getvalue()


def distributions(report: MonthReport) -> tuple[list[float], list[float]]:
    answers = report.records.calls.waits().tolist()
    turnouts = service.present(service.gap(report.records.chains, "dispatched_at", "en_route_at"))
    return answers, turnouts.tolist()


def figures_of(report: MonthReport) -> list[plots.Plot]:
    answers, turnouts = distributions(report)
    areas = group_response(report)
    return [
        plots.histogram(answers, title="Time to answer (first ring to answer)", xlabel="seconds",
                        target=10, bins=[float(b) for b in range(0, 32, 2)], clip=30),
        plots.histogram(turnouts, title="Turnout (dispatch to en route)", xlabel="seconds",
                        target=180, bins=[float(b) for b in range(0, 630, 30)], clip=600),
        plots.response_by_area(areas),
        plots.hourly(report.calls_per_hour, report.advised),
    ]


def group_response(report: MonthReport) -> dict[str, tuple[float | None, float | None]]:
    """Response time p50 and p90 per sub-district."""
    return {a.sub_district_id or "—": (a.response_p50_s, a.response_p90_s)
            for a in report.figures.by_sub_district}


STYLE = """body{font-family:"Noto Sans CJK SC","Noto Sans",sans-serif;color:#102a43;margin:24px auto;
max-width:980px}table{border-collapse:collapse;margin:8px 0 16px}td,th{border-bottom:1px solid #d9e2ec;
padding:4px 8px;text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#0f7b3f}
.bad{color:#c0182b;font-weight:600}.muted{color:#52606d;font-size:13px}svg{max-width:100%;height:auto}"""


def page_html(report: MonthReport) -> str:
    """A page that needs nothing else: styles and plots (SVG) inline."""
    q, e = report.figures, html.escape
    rows = "".join(
        f"<tr><td>{e(NAMES[i.key][0])}<br><span class=muted>{e(NAMES[i.key][1])}</span></td>"
        f"<td class=n>{e(shown(i.value, i.unit))}</td><td class=n>{e(target(i))}</td>"
        f"<td class={'ok' if i.holds else 'bad' if i.holds is False else 'muted'}>{e(verdict(i))}</td>"
        f"<td class=n>{i.count}</td></tr>" for i in q.indicators)
    groups = "".join(
        f"<tr><td>{e(k)}</td><td class=n>{d.count}</td><td class=n>{e(shown(d.p50_s, 's'))}</td>"
        f"<td class=n>{e(shown(d.p90_s, 's'))}</td></tr>"
        for k, d in [*q.response_by_zone_status.items(), *q.response_by_severity.items()])
    areas = "".join(
        f"<tr><td>{e(a.sub_district_id or '—')}</td><td class=n>{a.incidents}</td>"
        f"<td class=n>{e(shown(a.turnout_share_within_target, 'ratio'))}</td>"
        f"<td class=n>{e(shown(a.response_p90_s, 's'))}</td></tr>" for a in q.by_sub_district)
    svgs = "".join(f"<figure>{plots.svg(f)}</figure>" for f in figures_of(report))
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>120 质量控制月报 · Quality report {e(report.month)}</title><style>{STYLE}</style></head><body>
<h1>120 质量控制月报 · Quality report {e(report.month)}</h1>
<p class=muted>{e(q.start.isoformat())} – {e(q.end.isoformat())} ({e(report.timezone)}).
事件 Incidents {q.incidents} · 派车 dispatched {q.dispatched} · 取消 cancelled {q.cancelled} ·
来电 calls {q.answer.calls} · 放弃 abandoned {q.answer.abandoned} · 回拨 called back {q.answer.called_back} ·
mean handling time {report.handling_s:g} s. Definitions and sources: docs/quality.md.</p>
<h2>指标 Indicators</h2>
<table><tr><th>指标 Indicator</th><th>数值 Value</th><th>目标 Target</th><th>达标 Holds</th><th>n</th></tr>
{rows}</table>
<h2>反应时间 Response time by zone status and severity</h2>
<table><tr><th></th><th>n</th><th>P50</th><th>P90</th></tr>{groups}</table>
<h2>按街道 By sub-district</h2>
<table><tr><th></th><th>事件 Incidents</th><th>3分钟出车率 Out within 3 min</th>
<th>反应P90 Response P90</th></tr>{areas}</table>
<h2>分布 Distributions</h2>{svgs}
<p class=muted>Staffing advice: Erlang C with each hour's mean arrival rate and the month's mean
handling time, for 95 % answered within the target. The hub keeps no history of how many
call-takers were logged in, so the advice is not set against actual staffing.</p>
</body></html>"""


def pdf_bytes(report: MonthReport) -> bytes:
    q = report.figures
    indicators = [[NAMES[i.key][1], shown(i.value, i.unit), target(i), verdict(i).split(" ")[0],
                   str(i.count)] for i in q.indicators]
    groups = [[k, str(d.count), shown(d.p50_s, "s"), shown(d.p90_s, "s")]
              for k, d in [*q.response_by_zone_status.items(), *q.response_by_severity.items()]]
    areas = [[a.sub_district_id or "—", str(a.incidents), shown(a.turnout_share_within_target, "ratio"),
              shown(a.response_p90_s, "s")] for a in q.by_sub_district]
    first = plots.table_page(
        f"120 quality report {report.month}",
        f"{q.start.isoformat()} to {q.end.isoformat()} ({report.timezone})\n"
        f"incidents {q.incidents}, dispatched {q.dispatched}, cancelled {q.cancelled}, "
        f"calls {q.answer.calls}, abandoned {q.answer.abandoned}, called back {q.answer.called_back}\n"
        "Definitions and sources of each indicator: docs/quality.md",
        [(["Indicator", "Value", "Target", "Holds", "n"], indicators, [0.46, 0.16, 0.14, 0.1, 0.14]),
         (["Response time by zone status, severity", "n", "P50", "P90"], groups, [0.46, 0.18, 0.18, 0.18]),
         (["Sub-district", "incidents", "out within 3 min", "response P90"], areas,
          [0.46, 0.18, 0.18, 0.18])])
    return plots.pdf([first, plots.plots_page(figures_of(report))],
                     title=f"120 quality report {report.month}")


async def render(report: MonthReport, fmt: str) -> bytes:
    """The report in one format (html, pdf, csv); drawing runs in a worker thread."""
    if fmt == "csv":
        return timeline_csv(report).encode()
    if fmt == "html":
        return (await asyncio.to_thread(page_html, report)).encode()
    return await asyncio.to_thread(pdf_bytes, report)
