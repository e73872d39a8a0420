// The supervisor's quality panel: the national 120 indicators over a window or a month, each
// with its target and whether it holds (definitions: docs/quality.md). Shown to supervisors
// and administrators only; the hub refuses the figures to anyone else.

import { authToken, esc, get } from "/common/api.js";
import { currentLang, t, translate } from "/common/i18n.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 30000;
const SUPERVISORS = ["supervisor", "admin"];

let figures = null;
let cover = null;
let timer = null;

function pct(value) {
  return value == null ? "—" : `${(value * 100).toFixed(1)}%`;
}

function duration(seconds) {
  if (seconds == null) return "—";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  const m = Math.floor(seconds / 60);
  return `${m}:${String(Math.round(seconds % 60)).padStart(2, "0")}`;
}

function shown(value, unit) {
  if (unit === "ratio") return pct(value);
  if (unit === "s") return duration(value);
  return value == null ? "—" : String(value);
}

function target(item) {
  if (item.target == null) return "—";
  return `${item.comparison === ">=" ? "≥" : "≤"} ${shown(item.target, item.unit)}`;
}

function verdict(item) {
  if (item.holds == null) return `<span class="q-none">—</span>`;
  return item.holds ? `<span class="q-ok">✓ ${esc(t("q_holds"))}</span>`
    : `<span class="q-bad">✗ ${esc(t("q_fails"))}</span>`;
}

function durationsRows(groups, label) {
  return Object.entries(groups).map(([key, d]) => `<tr><td>${esc(label(key))}</td><td>${d.count}</td>
    <td>${duration(d.p50_s)}</td><td>${duration(d.p90_s)}</td></tr>`).join("");
}

/** A sub-district's name in the panel's language (from the coverage figures), else its id. */
function areaName(id) {
  const area = cover?.areas?.find((a) => a.sub_district_id === id);
  if (!area) return id ?? "—";
  return currentLang() === "zh" ? area.name : area.name_en || area.name;
}

function query() {
  const params = new URLSearchParams();
  const win = $("quality-window").value;
  if (win === "month") params.set("month", $("quality-month").value);
  else params.set("window", win);
  const area = $("quality-area").value;
  if (area) params.set("sub_district_id", area);
  return params.toString();
}

function render() {
  const q = figures;
  if (!q) return;
  $("quality-span").textContent = `${new Date(q.start).toLocaleString()} – ${new Date(q.end).toLocaleString()}`;
  $("quality-table").innerHTML = `<thead><tr><th>${esc(t("q_indicator"))}</th><th>${esc(t("q_value"))}</th>
    <th>${esc(t("q_target"))}</th><th>${esc(t("q_status"))}</th><th>n</th></tr></thead><tbody>
    ${q.indicators.map((i) => `<tr data-indicator="${esc(i.key)}"><td>${esc(t(`q_${i.key}`))}</td>
      <td class="num">${shown(i.value, i.unit)}</td><td class="num">${target(i)}</td>
      <td>${verdict(i)}</td><td class="num">${i.count}</td></tr>`).join("")}</tbody>`;
  const head = `<tr><th></th><th>n</th><th>P50</th><th>P90</th></tr>`;
  $("quality-detail").innerHTML = `${coverBlock()}
    <h3>${esc(t("q_response_by"))}</h3>
    <table class="q-small"><thead>${head}</thead><tbody>
      ${durationsRows(q.response_by_zone_status, (k) => t(k))}
      ${durationsRows(q.response_by_severity, (k) => t(k))}</tbody></table>
    <h3>${esc(t("q_by_sub_district"))}</h3>
    <table class="q-small" id="quality-areas"><thead><tr><th></th><th>${esc(t("q_incidents"))}</th>
      <th>${esc(t("q_turnout_within_3min"))}</th><th>${esc(t("q_response_p90"))}</th></tr></thead><tbody>
      ${q.by_sub_district.map((a) => `<tr><td>${esc(areaName(a.sub_district_id))}</td><td>${a.incidents}</td>
        <td>${pct(a.turnout_share_within_target)}</td><td>${duration(a.response_p90_s)}</td></tr>`).join("")}
    </tbody></table>
    <p class="muted">${esc(t("q_incidents"))} ${q.incidents} · ${esc(t("dispatched"))} ${q.dispatched} ·
      ${esc(t("q_stood_down"))} ${q.turnout.stood_down} · ${esc(t("abandoned"))} ${q.answer.abandoned} ·
      ${esc(t("q_called_back"))} ${q.answer.called_back} · ${esc(t("q_arrivals"))} ${q.handover.arrived}</p>`;
  if (!q.sub_district_id) fillAreas(q.by_sub_district.map((a) => a.sub_district_id).filter(Boolean));
}

function coverBlock() {
  if (!cover) return "";
  const np = cover.available_negative_pressure_share;
  const low = (v) => (v != null && v < cover.negative_pressure_target ? " q-bad" : "");
  return `<h3>${esc(t("q_coverage"))}</h3>
    <table class="q-small" id="quality-cover"><tbody>
      <tr><td>${esc(t("q_covered"))}</td><td class="num">${pct(cover.covered_share)}</td></tr>
      <tr><td>${esc(t("q_np_fleet"))} (≥ ${pct(cover.negative_pressure_target)})</td>
        <td class="num${low(cover.negative_pressure_share)}">${pct(cover.negative_pressure_share)}</td></tr>
      <tr><td>${esc(t("q_np_available"))}</td><td class="num${low(np)}">${pct(np)}</td></tr>
      <tr><td>${esc(t("q_out_of_cover"))}</td><td>${esc(cover.out_of_cover.map(areaName).join(", ") || "—")}</td></tr>
    </tbody></table>`;
}

function fillAreas(ids) {
  const select = $("quality-area");
  const known = new Set([...select.options].map((o) => o.value));
  for (const id of ids) {
    if (!known.has(id)) select.add(new Option(areaName(id), id));
  }
  for (const option of select.options) {
    if (option.value) option.textContent = areaName(option.value);
  }
}

async function load() {
  try {
    [figures, cover] = await Promise.all([get(`/api/v1/quality?${query()}`), get("/api/v1/quality/coverage")]);
    $("quality-error").textContent = "";
    render();
  } catch (error) {
    $("quality-error").textContent = error.message;
  }
}

async function download(format) {
  const month = $("quality-month").value;
  const response = await fetch(`/api/v1/quality/report?month=${encodeURIComponent(month)}&format=${format}`,
    { headers: { Authorization: `Bearer ${authToken()}` } });
  if (!response.ok) {
    $("quality-error").textContent = (await response.json().catch(() => ({}))).detail || response.statusText;
    return;
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = `quality-${month}.${format}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

function open(show) {
  $("quality-panel").hidden = !show;
  clearInterval(timer);
  if (show) {
    load();
    timer = setInterval(load, REFRESH_MS);
  }
}

function lastMonth() {
  const now = new Date();
  const first = new Date(now.getFullYear(), now.getMonth() - 1, 1);
  return `${first.getFullYear()}-${String(first.getMonth() + 1).padStart(2, "0")}`;
}

/** Offer the panel to supervisors and administrators. */
export async function startQuality() {
  const me = await get("/api/v1/auth/me");
  if (!me.roles.some((role) => SUPERVISORS.includes(role))) return;
  $("quality-month").value = lastMonth();
  $("quality-open").hidden = false;
  $("quality-open").onclick = () => open($("quality-panel").hidden);
  $("quality-close").onclick = () => open(false);
  $("quality-window").onchange = () => {
    $("quality-month").hidden = $("quality-window").value !== "month";
    load();
  };
  $("quality-month").onchange = load;
  $("quality-area").onchange = load;
  for (const button of document.querySelectorAll("[data-report]")) {
    button.onclick = () => download(button.dataset.report);
  }
  // After the console's own handler has switched the language.
  $("lang").addEventListener("click", () => { translate($("quality-panel")); render(); });
}
