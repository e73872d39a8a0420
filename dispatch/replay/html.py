"""The replay's HTML page: the figures, and plots drawn as inline SVG (self-contained)."""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any

from dispatch.replay import svg
from dispatch.replay.report import shown

STYLE = """body{font-family:sans-serif;margin:24px;max-width:980px;color:#1f2328}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #d0d7de;padding:3px 8px;
text-align:right}th{background:#f6f8fa}td:first-child,th:first-child{text-align:left}
.ok{color:#1a7f37;font-weight:bold}.bad{color:#d1242f;font-weight:bold}
figure{margin:12px 0}pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:12px}"""


def _table(rows: list[list[Any]], head: list[str]) -> str:
    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>")
    return "".join(out) + "</table>"


def _answer_histogram(answer: dict[str, Any]) -> str:
    times = answer.get("times") or []
    top = max(30.0, math.ceil(max(times, default=0.0)))
    width = max(1.0, top / 40)
    edges = [i * width for i in range(int(top / width) + 2)]
    counts = [0] * (len(edges) - 1)
    for t in times:
        counts[min(int(t // width), len(counts) - 1)] += 1
    return svg.histogram("Answer time (ring → answer)", edges, counts, x_label=f"seconds ({answer['clock']})",
                         mark=(answer["target_s"], f"target {answer['target_s']:g} s"))


def _spans(faults: list[dict[str, Any]]) -> list[tuple[float, float, str]]:
    """Each fault on the timeline, from its injection until the hub was whole again."""
    return [(f["at_s"], f.get("whole_s") or f["window_s"][1], f["label"]) for f in faults]


def _calls_chart(series: dict[str, Any], faults: list[dict[str, Any]]) -> str:
    size = series["bucket_s"]
    xs = [i * size for i in range(len(series["rung"]))]
    return svg.line_chart(f"Calls per {size:g} s of the run", [
        svg.Series("offered", xs, series["rung"]), svg.Series("answered", xs, series["answered"]),
        svg.Series("abandoned", xs, series["abandoned"])], x_label="seconds into the run", y_label="calls",
        spans=_spans(faults))


def _latency_chart(series: dict[str, Any], faults: list[dict[str, Any]]) -> str:
    size = series["bucket_s"]
    lines = [svg.Series(kind.replace("_", " "), [i * size for i in range(len(v))], v)
             for kind, v in series["p99_ms"].items()]
    return svg.line_chart("Hub-added latency, p99 per bucket", lines, x_label="seconds into the run",
                          y_label="ms (log)", log_y=True, marks=[(50.0, "50 ms")], spans=_spans(faults))


def _events_chart(series: dict[str, Any], faults: list[dict[str, Any]]) -> str:
    values = series["events_per_s"]
    return svg.line_chart("Call events accepted per second (ring, answer, incident, assignment, "
                          "unit status)", [svg.Series("events/s", list(range(len(values))), values)],
                          x_label="seconds into the run", y_label="events/s", spans=_spans(faults))


def _faults(faults: list[dict[str, Any]], target_s: float) -> str:
    """Each fault, and the calls and hub-added latency before, during and after it."""
    parts = []
    for fault in faults:
        recovery = fault["recovery_s"]
        parts.append(
            f"<h3>{escape(fault['label'])}: {escape(fault['what'])}</h3><p>Injected at "
            f"{fault['at_s']} s ({escape(str(fault.get('done')))}); the hub was whole again "
            + (f"{recovery} s later" if recovery is not None else "<span class='bad'>never</span>")
            + f". Ringing at that moment: {fault['ringing_at_fault']['calls']} call(s), "
            f"{fault['ringing_at_fault']['answered']} answered (the last after "
            f"{fault['ringing_at_fault']['answer_max_s']} s), {fault['ringing_at_fault']['abandoned']} "
            f"abandoned. During: a call ringing at any moment from {fault['window_s'][0]} to "
            f"{fault['window_s'][1]} s (the fault, the recovery and the {target_s:g}-s target).</p>")
        rows = []
        for name in ("before", "during", "after"):
            phase, hub = fault[name], fault[name]["hub_added"]
            share = phase["share_within_target"]
            rows.append([name, phase["calls"], phase["answered"], phase["abandoned"],
                         "—" if share is None else f"{share * 100:.1f} %",
                         " / ".join(shown(phase[k]) for k in ("answer_p50_s", "answer_p95_s",
                                                              "answer_max_s")),
                         hub["count"], f"{hub['p50_ms']} / {hub['p99_ms']} / {hub['max_ms']}"])
        parts.append(_table(rows, ["calls", "n", "answered", "abandoned", f"within {target_s:g} s",
                                   "answer p50 / p95 / max (s)", "hub-added n",
                                   "hub-added p50 / p99 / max (ms)"]))
    return "".join(parts)


def _verdict(verdict: dict[str, Any] | None) -> str:
    if not verdict:
        return ""
    rows = [[name, "yes" if ok else "no"] for name, ok in verdict["checks"].items()]
    word = "<span class='ok'>PASS</span>" if verdict["passed"] else "<span class='bad'>FAIL</span>"
    return (f"<h2>Overlay acceptance: {word}</h2><p>{verdict['events_per_s_over_60s']} call events/s "
            f"over the best {verdict['window_s']} s; p99 hub-added latency "
            f"{verdict['p99_hub_added_ms']} ms; {verdict['lost']} lost.</p>" + _table(rows, ["check", ""]))


def _provenance(stream: dict[str, Any]) -> str:
    """Which parts of the stream were the city's own and which the replay made up."""
    made_up = stream.get("simulated") or []
    notes = f"<p>Stream notes: {escape(stream['notes'])}.</p>" if stream.get("notes") else ""
    if not made_up:
        return notes + "<p>Every call and unit time is the city's own.</p>"
    return notes + ("<p>The calls are the city's own; simulated by the replay: "
                    + "; ".join(escape(m) for m in made_up) + ".</p>")


def render(result: dict[str, Any]) -> str:
    calls, answer, lost, lat = result["calls"], result["answer"], result["lost"], result["latency"]
    tp, cfg, stream = result["throughput"], result["config"], result["stream"]
    share = answer["share_within_target"]
    faults = result.get("faults") or []
    lost_class = "ok" if lost["total"] == 0 else "bad"
    latency_rows = [[lat["definitions"].get(k, k), v["count"], v["p50_ms"], v["p90_ms"], v["p99_ms"],
                     v["max_ms"]] for k, v in lat.items() if k != "definitions" and v["count"]]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Replay {escape(result['label'])}</title><style>{STYLE}</style></head><body>",
        f"<h1>Replay: {escape(stream['name'])}</h1>",
        f"<p>{stream['calls']} calls over {stream['span_hours']} h from "
        f"{escape(str(stream['source']))}; replayed at {cfg['speed']:g}× with overlay "
        f"{cfg['overlay']}, people's time {escape(cfg['human_time'])}, {cfg['positions']} "
        f"call-taker positions on {cfg['consoles']} consoles, crews "
        f"{'on' if cfg['crews'] else 'off'}. Run took {result['elapsed_s']} s.</p>",
        _provenance(stream),
        f"<p class='{lost_class}'>Events lost: {lost['total']}</p>",
        _verdict(result.get("acceptance")),
        _table([[k, v] for k, v in lost["by_kind"].items()], ["lost", "count"]) if lost["total"] else "",
        "<h2>Calls</h2>",
        _table([[k, v] for k, v in calls.items()], ["", "calls"]),
        "<h2>Answer time</h2>",
        _table([[f"answered within {answer['target_s']:g} s",
                 "—" if share is None else f"{share * 100:.1f} %"],
                ["p50 / p90 / p95 (s)", f"{answer['p50_s']} / {answer['p90_s']} / {answer['p95_s']}"],
                ["clock", answer["clock"]]], ["", ""]),
        f"<figure>{_answer_histogram(answer)}</figure>",
        f"<figure>{_calls_chart(result['series'], faults)}</figure>",
        "<h2>Hub-added latency</h2>",
        _table(latency_rows, ["measure", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"]),
        f"<figure>{_latency_chart(result['series'], faults)}</figure>",
        ("<h2>Faults</h2>" + _faults(faults, answer["target_s"])) if faults else "",
        "<h2>Throughput</h2>",
        _table([["call events", tp["call_events"]], ["mean per second", tp["mean_per_s"]],
                [f"best {tp.get('window_s', 0)} s window, per second", tp["best_60s_per_s"]],
                ["busiest second", tp["peak_1s"]]] +
               [[f"  {k}", v] for k, v in tp["by_kind"].items()], ["", ""]),
        f"<figure>{_events_chart(result['series'], faults)}</figure>",
        "<h2>Errors</h2>",
        _table([[k, v] for k, v in result["errors"].items()], ["error", "count"])
        if result["errors"] else "<p class='ok'>none</p>",
        _table([[k, v] for k, v in result["races"].items()], ["race (expected)", "count"])
        if result["races"] else "",
        "".join(f"<p>Note: {escape(n)}</p>" for n in result["notes"]),
        "<h2>Machine and versions</h2>",
        f"<pre>{escape(json.dumps({'machine': result['machine'], 'hub': result['hub']}, indent=2))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)
