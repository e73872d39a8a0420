// The dispatcher console: ringing calls and their timers, the incident form, the routing
// decision and why, unit recommendations, the unit board, the map, the SLO, callbacks, alerts.

import { ApiError, authToken, esc, get, post, setPersonToken, whenUnauthorized } from "/common/api.js";
import { t, tf, toggleLang, translate, setLang, currentLang, known, named } from "/common/i18n.js";
import { HubSocket } from "/common/socket.js";
import { tone } from "/common/tone.js";
import { ConsoleMap } from "./map.js";
import { IncidentDesk } from "./incident.js";
import { IncidentList } from "./incidents.js";
import { installKeys, KEYS } from "./keys.js";
import { Admin } from "./admin.js";
import { startQuality } from "./quality.js";

const $ = (id) => document.getElementById(id);
const TARGET_S = 10;
const AMBER_S = 6;

const state = {
  me: JSON.parse(localStorage.getItem("dispatch.me") || "null"),
  positions: new Map(),
  calls: new Map(),
  callbacks: new Map(),
  units: new Map(),
  hospitals: [],
  zones: [],
  posts: [],
  handovers: new Map(),
  slo: null,
  features: {},
};

const socket = new HubSocket("/ws/console", {
  onEvent: (event) => handle(event),
  onStatus: (online) => showConnection(online),
  onResync: () => { alert("info", () => t("resync")); reload(); },
  onDenied: () => signOut(),
});
window.dispatchConsole = { socket, state };

let map;
let desk;
let incidents;

let offlineAlarm = null;

function showConnection(online) {
  // The hub out of reach for more than a few seconds is an alert of its own (sounded, kept).
  clearTimeout(offlineAlarm);
  if (online) resolveAlert("hub:offline");
  else offlineAlarm = setTimeout(() => alert("critical", () => t("hub_offline_alert"), { key: "hub:offline" }), 5000);
  const pill = $("connection");
  pill.className = `pill ${online ? "online" : "offline"}`;
  pill.dataset.i18n = online ? "online" : "offline";
  pill.textContent = t(pill.dataset.i18n);
  $("offline-banner").hidden = online;
  document.body.dataset.online = String(online);
  if (desk) renderCalls(); // answering needs the hub
}

// --- alerts -------------------------------------------------------------------------------
// Information fades after a while; what needs a person (a lost unit, an overdue handover, a
// breached call) stays, counted in the tab title and sounded, until someone acts on it or
// acknowledges it. An alert with a `key` replaces the earlier one with the same key.

const INFO_SECONDS = 20;
const alerts = new Map(); // key -> element
let alertSeq = 0;

function titleCount() {
  const open = [...alerts.values()].filter((el) => el.classList.contains("sticky")).length;
  const ringing = state.calls.size;
  document.title = `${open ? `(${open}) ` : ""}${ringing ? `☎${ringing} ` : ""}${t("console_title")} · 120`;
}

const said = (text) => (typeof text === "function" ? text() : text);

/** Show an alert. `text` and the labels of `actions` ([label, handler] buttons) may be functions
 *  that say them in the current language (an alert is said again when the language changes);
 *  `sticky` keeps it until acted on. */
function alert(level, text, { key = null, actions = [], sticky = level === "critical" } = {}) {
  key = key || `a${++alertSeq}`;
  resolveAlert(key);
  const box = document.createElement("div");
  box.className = `alert ${level}${sticky ? " sticky" : ""}`;
  box.dataset.key = key;
  box.innerHTML = `<span>${esc(new Date().toLocaleTimeString())}</span><span class="text">${esc(said(text))}</span>
    ${actions.map(([label], i) => `<button class="act" data-act="${i}">${esc(said(label))}</button>`).join("")}
    <button class="dismiss" aria-label="${esc(t("acknowledge"))}" title="${esc(t("acknowledge"))}">×</button>`;
  box.say = () => {
    box.querySelector(".text").textContent = said(text);
    for (const button of box.querySelectorAll("[data-act]")) button.textContent = said(actions[Number(button.dataset.act)][0]);
    box.querySelector(".dismiss").title = t("acknowledge");
  };
  box.querySelector(".dismiss").onclick = () => resolveAlert(key);
  for (const button of box.querySelectorAll("[data-act]")) {
    button.onclick = async () => {
      button.disabled = true;
      try {
        await actions[Number(button.dataset.act)][1]();
        resolveAlert(key);
      } catch (error) {
        button.disabled = false;
        box.querySelector(".text").textContent = `${said(text)} — ${error.message}`;
      }
    };
  }
  $("alerts").prepend(box);
  alerts.set(key, box);
  if (!sticky) setTimeout(() => { if (alerts.get(key) === box) resolveAlert(key); }, INFO_SECONDS * 1000);
  if (level !== "info") tone(level);
  titleCount();
}

function resolveAlert(key) {
  const box = alerts.get(key);
  if (!box) return;
  box.remove();
  alerts.delete(key);
  titleCount();
}

function callSign(unitId) {
  return state.units.get(unitId)?.call_sign || unitId;
}

function hospitalName(id, fallback) {
  return named(state.hospitals.find((h) => h.id === id)) || fallback || id;
}

/** A unit declined, did not acknowledge or went out of service: name the next unit to send. */
function lostUnit(d) {
  if (!d.lost) return;
  const inc = d.incident || {};
  const where = inc.address || (inc.lat != null ? `${inc.lat.toFixed(4)}, ${inc.lon.toFixed(4)}` : "");
  const next = () => (d.unit_id
    ? `${t("next_unit")}: ${d.call_sign || callSign(d.unit_id)}${d.eta_seconds != null ? ` (${Math.round(d.eta_seconds / 60)} ${t("min_short")})` : ""}`
    : t("no_candidates"));
  const actions = d.unit_id ? [[() => `${t("assign")} ${d.call_sign || callSign(d.unit_id)}`, () =>
    post("/api/v1/assignments", { incident_id: d.incident_id, unit_id: d.unit_id })]] : [];
  alert(inc.severity === "critical" ? "critical" : "warning",
    () => `${callSign(d.lost.unit_id)} ${t(`lost_${d.lost.ending}`)} · ${t(inc.severity || "")} ${where} · ${next()}`,
    { key: `incident:${d.incident_id}`, actions, sticky: true });
}

// --- loading state over HTTP --------------------------------------------------------------

async function reload() {
  const [calls, positions, units, hospitals, zones, posts, callbacks] = await Promise.all([
    get("/api/v1/calls"), get("/api/v1/positions"), get("/api/v1/units"), get("/api/v1/hospitals"),
    get("/api/v1/zones"), get("/api/v1/posts"), get("/api/v1/callbacks"),
  ]);
  state.calls = new Map(calls.map((c) => [c.id, {
    ...c, call_id: c.id,
    carrier_location: c.carrier_lat == null ? null : { lat: c.carrier_lat, lon: c.carrier_lon },
  }]));
  state.positions = new Map(positions.map((p) => [p.id, p]));
  state.units = new Map(units.map((u) => [u.id, u]));
  state.callbacks = new Map(callbacks.map((c) => [c.id, c]));
  state.hospitals = hospitals;
  state.zones = zones;
  state.posts = posts;
  renderPositions();
  renderCalls();
  renderCallbacks();
  renderBoard();
  map.drawZones(zones);
  map.drawHospitals(hospitals);
  map.drawPosts(posts);
  for (const unit of units) map.updateUnit(unit);
  if (!state.framed) {
    map.frame([...posts.map((p) => [p.lat, p.lon]), ...units.map((u) => [u.lat, u.lon])]);
    state.framed = true;
  }
  desk.setHospitals(hospitals);
  await incidents.load();
  await loadSlo();
  await loadHandovers();
}

async function loadSlo() {
  try {
    state.slo = await get("/api/v1/slo");
    renderSlo();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
}

async function loadHandovers() {
  if (!state.features.handovers) return;
  try {
    const rows = await get("/api/v1/handovers");
    state.handovers = new Map(rows.map((h) => [h.id, h]));
  } catch (error) {
    state.handovers = new Map(); // the hospital side may not be deployed
  }
  renderHandovers();
}

// --- events -------------------------------------------------------------------------------

function handle(event) {
  const d = event.data;
  switch (event.type) {
    case "call.ringing":
      state.calls.set(d.call_id, { ...d, id: d.call_id });
      // A call rings: a tone for whoever can answer it (a ready position), the tab title counts it.
      if (state.me && state.positions.get(state.me.position)?.state === "ready") tone("info");
      renderCalls();
      break;
    case "call.offered": {
      const call = state.calls.get(d.call_id);
      if (call) call.offered_to = d.position_id;
      renderCalls();
      break;
    }
    case "call.escalated": {
      const call = state.calls.get(d.call_id);
      if (call) call.escalated_at = event.at;
      alert("warning", () => `${t("escalated")}: ${call ? (call.caller_number || t("withheld")) : d.call_id}`,
        { key: `call:${d.call_id}`, sticky: true });
      renderCalls();
      break;
    }
    case "slo.breach":
      alert("critical", () => `${t("breach")} (${d.ring_seconds}s)`, { key: `call:${d.call_id}` });
      break;
    case "call.answered": {
      const call = state.calls.get(d.call_id);
      state.calls.delete(d.call_id);
      resolveAlert(`call:${d.call_id}`);
      if (state.me && d.position_id === state.me.position) desk.openCall(d.call_id, call);
      renderCalls();
      break;
    }
    case "call.abandoned":
    case "call.ended":
      state.calls.delete(d.call_id);
      resolveAlert(`call:${d.call_id}`);
      if (desk.callId === d.call_id && event.type === "call.abandoned") desk.close();
      renderCalls();
      break;
    case "callback.due":
    case "callback.taken":
    case "callback.resolved":
      if (d.status === "resolved") state.callbacks.delete(d.callback_id);
      else state.callbacks.set(d.callback_id, { ...state.callbacks.get(d.callback_id), ...d, id: d.callback_id });
      renderCallbacks();
      break;
    case "position.state": {
      const position = state.positions.get(d.position_id);
      if (position) Object.assign(position, { state: d.state, call_id: d.call_id, user: d.user ?? position.user });
      renderPositions();
      break;
    }
    case "unit.status":
    case "unit.position": {
      const unit = { ...(state.units.get(d.unit_id) || { id: d.unit_id }), ...d, id: d.unit_id };
      if (event.type === "unit.position") Object.assign(unit, { position_stale: false, position_at: d.at });
      state.units.set(d.unit_id, unit);
      map.updateUnit(unit);
      renderBoard();
      desk.unitChanged(unit);
      break;
    }
    case "incident.created":
    case "incident.updated":
    case "routing.decided":
    case "home_visit.escalated":
      desk.incidentEvent(event);
      incidents.changed();
      break;
    case "hospitals.changed":
      get("/api/v1/hospitals").then((rows) => { state.hospitals = rows; map.drawHospitals(rows); desk.setHospitals(rows); });
      break;
    case "zones.changed":
      get("/api/v1/zones").then((rows) => { state.zones = rows; map.drawZones(rows); });
      break;
    case "coverage.warning":
      alert("warning", () => (d.sub_district_id ? tf("coverage_warning", {
        name: currentLang() === "zh" ? d.name : d.name_en || d.name,
        share: pct(d.covered_share), radius: d.radius_km,
      }) : `${t("posts")}: ${d.post_id}`));
      break;
    case "message.sent":
      alert("info", `${d.sender}: ${d.text}`);
      break;
    case "hub.resync":
      alert("info", () => t("resync"));
      reload();
      break;
    case "assignment.proposed":
      lostUnit(d);
      desk.assignmentEvent(event);
      break;
    case "incident.closed":
      resolveAlert(`incident:${d.incident_id}`);
      desk.incidentClosed(d.incident_id);
      incidents.changed();
      break;
    default:
      if (event.type === "assignment.confirmed") resolveAlert(`incident:${d.incident_id}`);
      if (["assignment.confirmed", "assignment.completed", "assignment.cancelled"].includes(event.type)) incidents.changed();
      if (event.type.startsWith("assignment.")) desk.assignmentEvent(event);
      if (event.type.startsWith("handover.")) handoverEvent(event);
      break;
  }
}

// --- ringing calls ------------------------------------------------------------------------

function ringSeconds(call) {
  return Math.max(0, (socket.now() - Date.parse(call.rung_at)) / 1000);
}

function renderCalls() {
  titleCount();
  const list = $("ringing");
  const calls = [...state.calls.values()].sort((a, b) =>
    (b.priority - a.priority) || (Date.parse(a.rung_at) - Date.parse(b.rung_at)));
  if (!calls.length) {
    list.innerHTML = `<li class="empty muted">${esc(t("no_ringing"))}</li>`;
    return;
  }
  const mine = state.me?.position;
  list.innerHTML = calls.map((c) => `
    <li data-call="${esc(c.id)}" class="${c.offered_to && c.offered_to === mine ? "mine" : ""}">
      <span><span class="timer">0.0s</span>
        ${c.priority ? `<span class="pill">${esc(t("priority"))}</span>` : ""}
        ${c.test ? `<span class="pill test-call">${esc(t("test_call_pill"))}</span>` : ""}</span>
      <button class="answer primary" ${mine && socket.online ? "" : "disabled"}>${esc(t("answer"))}</button>
      <span class="meta">${esc(t("line"))} ${esc(known(`line_${c.line}`) ? t(`line_${c.line}`) : c.line)} · ${esc(c.caller_number || t("withheld"))}
        ${c.offered_to ? `· ${esc(t("offered_to"))} ${esc(c.offered_to)}` : ""}</span>
    </li>`).join("");
  for (const li of list.querySelectorAll("li[data-call]")) {
    li.querySelector("button").onclick = () => answer(li.dataset.call);
  }
  tickTimers();
}

function tickTimers() {
  for (const li of $("ringing").querySelectorAll("li[data-call]")) {
    const call = state.calls.get(li.dataset.call);
    if (!call) continue;
    const s = ringSeconds(call);
    li.querySelector(".timer").textContent = `${s.toFixed(1)}s`;
    li.classList.toggle("amber", s >= AMBER_S && s < TARGET_S);
    li.classList.toggle("red", s >= TARGET_S);
  }
  for (const li of $("handovers").querySelectorAll("li[data-handover]")) {
    const handover = state.handovers.get(li.dataset.handover);
    if (!handover?.arrived_at) continue; // still on the way: no clock yet
    const minutes = (socket.now() - Date.parse(handover.arrived_at)) / 60000;
    const clock = li.querySelector(".clock");
    clock.textContent = `${Math.floor(minutes)}:${String(Math.floor((minutes % 1) * 60)).padStart(2, "0")}`;
    clock.classList.toggle("over", minutes >= (handover.target_minutes || 15));
  }
}

async function answer(callId) {
  if (!state.me) return;
  const call = state.calls.get(callId);
  try {
    await socket.request("call.answer", { call_id: callId, position_id: state.me.position });
    desk.openCall(callId, call);
  } catch (error) {
    alert("warning", error.message);
  }
}

// --- callbacks ----------------------------------------------------------------------------

const OUTCOMES = ["reached", "no_answer", "busy", "wrong_number", "resolved_elsewhere"];

function renderCallbacks() {
  const list = $("callbacks");
  const mine = state.me?.position;
  list.innerHTML = [...state.callbacks.values()].map((c) => `
    <li data-callback="${esc(c.id)}">
      <strong>${esc(c.caller_number || t("withheld"))}</strong>
      <span class="muted">· ${esc(c.attempts || 0)} ${esc(t("attempts"))} · ${esc(t(`callback_${c.status}`))}</span>
      ${c.status === "pending" && mine && c.caller_number ? `<button class="take">${esc(t("call_back"))}</button>` : ""}
      ${(c.status === "dialling" && c.taken_by === mine) || (c.status === "pending" && !c.caller_number)
        ? `<div class="outcomes">${OUTCOMES.map((o) => `<button data-outcome="${o}">${esc(t(o))}</button>`).join("")}</div>` : ""}
    </li>`).join("");
  for (const li of list.querySelectorAll("li[data-callback]")) {
    const id = li.dataset.callback;
    const take = li.querySelector(".take");
    if (take) take.onclick = () => post(`/api/v1/callbacks/${id}/take`, { position_id: mine }).catch((e) => alert("warning", e.message));
    for (const button of li.querySelectorAll("[data-outcome]")) {
      button.onclick = () => post(`/api/v1/callbacks/${id}/outcome`, { outcome: button.dataset.outcome })
        .catch((e) => alert("warning", e.message));
    }
  }
}

// --- positions and login (the auth issue adds real accounts behind this) -------------------

function renderPositions() {
  const select = $("position-select");
  const chosen = select.value;
  select.innerHTML = [...state.positions.values()].map((p) =>
    `<option value="${esc(p.id)}">${esc(p.id)} · ${esc(named(p))}</option>`).join("");
  if (chosen) select.value = chosen;
  const me = state.me && state.positions.get(state.me.position);
  $("login").hidden = Boolean(me && me.state !== "logged_out");
  $("me").hidden = !$("login").hidden;
  if (me && me.state !== "logged_out") {
    $("me-position").textContent = me.id;
    $("me-user").textContent = me.user || "";
    const settable = ["ready", "not_ready", "wrap_up"].includes(me.state);
    $("me-state-now").textContent = t(`state_${me.state}`);
    $("me-state-now").hidden = settable; // on a call, calling back: not chosen in the menu
    if (settable) $("me-state").value = me.state;
  }
  renderCalls();
  renderCallbacks();
}

async function login(event) {
  event.preventDefault();
  const form = new FormData($("login"));
  const position = form.get("position");
  try {
    await post(`/api/v1/positions/${position}/login`, { user: form.get("user"), ready: true });
    state.me = { position, user: form.get("user") };
    localStorage.setItem("dispatch.me", JSON.stringify(state.me));
    desk.setPosition(position);
    state.positions = new Map((await get("/api/v1/positions")).map((p) => [p.id, p]));
    renderPositions();
  } catch (error) {
    alert("warning", error.message);
  }
}

async function logout() {
  if (!state.me) return;
  await post(`/api/v1/positions/${state.me.position}/logout`).catch((e) => alert("warning", e.message));
  state.me = null;
  localStorage.removeItem("dispatch.me");
  desk.setPosition(null);
  renderPositions();
}

// --- unit board, SLO, handovers -------------------------------------------------------------

function postName(id) {
  return named(state.posts.find((p) => p.id === id)) || id || "";
}

const MOVING = ["en_route", "on_scene", "transporting"];

/** A unit on a job whose position stopped coming: say so until it reports again. */
function watchPositions(rows) {
  const limit = (state.staleSeconds || 120) * 1000;
  for (const u of rows) {
    // From the last fix's time on this screen's clock (corrected to the hub's), whatever a reply
    // read a moment earlier said: an alert must not go and come back with each refresh.
    if (u.position_at) u.position_stale = socket.now() - Date.parse(u.position_at) > limit;
    const key = `stale:${u.id}`;
    if (u.position_stale && MOVING.includes(u.status)) {
      if (!alerts.has(key)) alert("warning", () => `${u.call_sign || u.id}: ${t("no_position_alert")}`, { key, sticky: true });
    } else {
      resolveAlert(key);
    }
  }
}

function renderBoard() {
  const rows = [...state.units.values()].sort((a, b) => a.id.localeCompare(b.id));
  watchPositions(rows);
  $("board").querySelector("tbody").innerHTML = rows.map((u) => `
    <tr data-unit="${esc(u.id)}">
      <td title="${esc(u.call_sign || u.id)}"><strong>${esc(u.call_sign || u.id)}</strong></td>
      <td class="muted" title="${esc(u.kind ? t(u.kind) : "")}">${esc(u.kind ? t(`short_${u.kind}`) : "")}</td>
      <td><span class="status ${esc(u.status)}">${esc(t(u.status))}</span></td>
      <td class="muted post" title="${esc(postName(u.post_id))}">${esc(postName(u.post_id))}</td>
      <td>${u.position_stale ? `<span class="stale">${esc(t("stale"))}</span>` : ""}</td>
    </tr>`).join("");
  for (const tr of $("board").querySelectorAll("tr[data-unit]")) tr.onclick = () => openUnit(tr.dataset.unit).catch((e) => alert("warning", e.message));
}

/** A unit's dialog: a message to its crew, or its status changed for the crew with a reason
 *  (POST /api/v1/messages; POST /api/v1/units/{id}/status — audited with who and why). */
async function openUnit(unitId) {
  const dialog = $("unit-detail");
  const unit = await get(`/api/v1/units/${encodeURIComponent(unitId)}`);
  dialog.querySelector("h3").textContent = `${unit.call_sign} · ${t(unit.status)}`;
  $("unit-detail-error").textContent = "";
  const choices = [...unit.next_statuses, ...(unit.status === "out_of_service" ? [] : ["out_of_service"])];
  $("unit-override").status.innerHTML = choices.map((s) => `<option value="${esc(s)}">${esc(t(s))}</option>`).join("");
  $("unit-override").hidden = !choices.length;
  const fail = (error) => { $("unit-detail-error").textContent = error.message; };
  $("unit-message").onsubmit = (event) => {
    event.preventDefault();
    const form = $("unit-message");
    post("/api/v1/messages", { unit_id: unitId, text: form.text.value, urgent: form.urgent.checked })
      .then(() => { form.reset(); alert("info", () => `${unit.call_sign}: ${t("message_sent")}`); })
      .catch(fail);
  };
  $("unit-override").onsubmit = (event) => {
    event.preventDefault();
    const form = $("unit-override");
    post(`/api/v1/units/${encodeURIComponent(unitId)}/status`, { status: form.status.value, reason: form.reason.value })
      .then(() => { form.reset(); dialog.close(); })
      .catch(fail);
  };
  $("unit-detail-close").onclick = () => dialog.close();
  if (!dialog.open) dialog.showModal();
}

function pct(value) {
  return value == null ? "—" : `${(value * 100).toFixed(1)}%`;
}

function seconds(value) {
  return value == null ? "—" : `${Number(value).toFixed(1)} s`;
}

function renderSlo() {
  const slo = state.slo;
  if (!slo) return;
  const quarter = slo.windows[0];
  const bad = quarter.share_within_target != null && quarter.share_within_target < slo.target_share;
  $("slo-strip").innerHTML = `
    <span>${esc(t("within_target"))} <b class="${bad ? "bad" : ""}">${pct(quarter.share_within_target)}</b></span>
    <span>${esc(t("p95"))} <b>${seconds(quarter.answer_p95_s)}</b></span>
    <span>${esc(t("staffing"))} <b>${slo.staffing.needed}</b> / ${esc(t("ready_now"))} <b>${slo.staffing.ready}</b></span>`;
  $("slo-strip").title = $("slo-strip").textContent.replace(/\s+/g, " ").trim();
  $("slo").innerHTML = `<table><thead><tr><th></th>${slo.windows.map((w) => `<th>${esc(t(`w_${w.window}`))}</th>`).join("")}</tr></thead>
    <tbody>
      <tr><td>${esc(t("within_target"))}</td>${slo.windows.map((w) => `<td>${pct(w.share_within_target)}</td>`).join("")}</tr>
      <tr><td>${esc(t("p95"))}</td>${slo.windows.map((w) => `<td>${seconds(w.answer_p95_s)}</td>`).join("")}</tr>
      <tr><td>${esc(t("abandoned"))}</td>${slo.windows.map((w) => `<td>${w.abandoned}</td>`).join("")}</tr>
      <tr><td>${esc(t("answer_rate"))}</td>${slo.windows.map((w) => `<td>${pct(w.answer_rate)}</td>`).join("")}</tr>
    </tbody></table>
    <p>${esc(t("callbacks_pending"))}: <b>${slo.callbacks_pending}</b> ·
       ${esc(t("staffing"))}: <b>${slo.staffing.needed}</b> · ${esc(t("ready_now"))}: <b>${slo.staffing.ready}</b></p>`;
}

function handoverEvent(event) {
  const d = event.data;
  loadHandovers();
  const key = `handover:${d.handover_id || d.id}`;
  if (event.type === "handover.overdue") {
    alert("critical", () => `${t("handover_overdue")}: ${d.unit_call_sign || callSign(d.unit_id)} → ${hospitalName(d.hospital_id, d.hospital_name)}`, { key });
  }
  if (["handover.done", "handover.cancelled"].includes(event.type)) resolveAlert(key);
}

/** Where each patient on the way to or at a hospital stands: on the way (with the ETA), the
 *  notice acknowledged, at the door (with the handover clock). */
function handoverStage(h) {
  if (h.arrived_at) return `<span class="clock">0:00</span>`;
  const eta = h.eta_at ? ` · ${t("eta")} ${new Date(h.eta_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}` : "";
  const seen = h.notice_acknowledged_at ? ` · ${t("hospital_acknowledged")}` : "";
  return `<span class="stage">${esc(t("transporting"))}${esc(eta)}${esc(seen)}</span>`;
}

function renderHandovers() {
  const rows = [...state.handovers.values()];
  $("handovers").innerHTML = rows.length ? rows.map((h) => `
    <li data-handover="${esc(h.id)}"><span>${esc(h.unit_call_sign || callSign(h.unit_id))} → ${esc(hospitalName(h.hospital_id, h.hospital_name))}</span>
      ${handoverStage(h)}</li>`).join("")
    : `<li class="muted">${esc(t("no_handovers"))}</li>`;
}

// --- start --------------------------------------------------------------------------------

function signOut() {
  post("/api/v1/auth/logout").catch(() => {});
  setPersonToken(null);
  location.reload();
}

/** Show the sign-in form; resolves once the hub has issued a token. */
function signIn() {
  $("signin").hidden = false;
  $("signin").querySelector(".lang-switch").onclick = () => toggleLang();
  return new Promise((resolve) => {
    $("signin-form").onsubmit = async (event) => {
      event.preventDefault();
      const form = new FormData($("signin-form"));
      try {
        const session = await post("/api/v1/auth/login",
          { username: form.get("username"), password: form.get("password") });
        setPersonToken(session.access_token);
        sessionStorage.setItem("dispatch.username", session.username);
        $("signin").hidden = true;
        resolve();
      } catch (error) {
        $("signin-error").textContent = error.status === 401 ? t("wrong_login") : error.message;
      }
    };
  });
}

/** Panels over the grid open under the header, however many lines it takes. */
function followHeader() {
  const bar = document.querySelector(".bar");
  const place = () => document.documentElement.style.setProperty(
    "--bar-bottom", `${Math.ceil(bar.getBoundingClientRect().bottom)}px`);
  new ResizeObserver(place).observe(bar);
  place();
}

async function start() {
  setLang(currentLang());
  followHeader();
  if (!authToken()) await signIn();
  whenUnauthorized(() => { setPersonToken(null); location.reload(); });
  $("user-input").value = sessionStorage.getItem("dispatch.username") || "";
  $("sign-out").onclick = signOut;
  $("lang").onclick = () => { toggleLang(); renderAll(); };
  $("login").onsubmit = login;
  $("logout").onclick = logout;
  $("me-state").onchange = (e) => {
    if (state.me) socket.request("position.state", { position_id: state.me.position, state: e.target.value })
      .catch((error) => alert("warning", error.message));
  };
  const config = await get("/api/v1/console/config");
  state.features = config.features || {};
  state.staleSeconds = config.stale_position_seconds;
  $("handover-panel").hidden = !state.features.handovers;
  map = new ConsoleMap($("map"), config, { onPick: (lat, lon) => desk.picked(lat, lon) });
  desk = new IncidentDesk({ socket, map, alert, state });
  incidents = new IncidentList({ state, desk, alert, now: () => socket.now() });
  if (state.me) desk.setPosition(state.me.position);
  installKeys({
    answer: () => {
      const calls = [...state.calls.values()].sort((a, b) => Date.parse(a.rung_at) - Date.parse(b.rung_at));
      const call = calls.find((c) => c.offered_to && c.offered_to === state.me?.position) || calls[0];
      if (call && !desk.callId) answer(call.id);
    },
    save: () => desk.callId && desk.save(),
    dispatch: () => {
      const first = document.querySelector("#recommendations tr.top button[data-assign]:enabled");
      if (first) first.click();
    },
    end: () => desk.hangUp(),
    alert: () => $("alerts").querySelector(".alert .act:enabled")?.click(),
    alertAck: () => $("alerts").querySelector(".alert .dismiss")?.click(),
    help: () => showKeys(),
    helpOpen: () => $("key-help").open,
    closeHelp: () => $("key-help").close(),
  });
  $("key-help-open").onclick = () => showKeys();
  const me = await get("/api/v1/auth/me");
  // A call-taker logs in at a position under its own name; supervisors may for others.
  if (!(me.roles || []).some((r) => ["supervisor", "admin"].includes(r))) {
    $("user-input").value = me.username;
    $("user-input").readOnly = true;
  }
  $("test-call").hidden = !(me.roles || []).some((r) => ["supervisor", "admin"].includes(r));
  $("test-call").onclick = () => post("/api/v1/calls/test").catch((e) => alert("warning", e.message));
  $("admin-open").hidden = !(me.roles || []).includes("admin");
  if (!$("admin-open").hidden) {
    const admin = new Admin();
    $("admin-open").onclick = () => admin.open().catch((e) => alert("warning", e.message));
  }
  $("key-help-close").onclick = () => $("key-help").close();
  await reload();
  socket.connect();
  setInterval(tickTimers, 200);
  setInterval(loadSlo, 5000);
  setInterval(renderBoard, 10000); // positions go stale with time alone: the board's age column
  // and the stale alert, looked at every second (the alert within a second of the fix going stale)
  setInterval(() => watchPositions([...state.units.values()]), 1000);
  await startQuality();
  document.body.dataset.ready = "true";
}

function showKeys() {
  $("key-list").innerHTML = KEYS.map(([key, label]) =>
    `<tr><td><kbd>${esc(key)}</kbd></td><td>${esc(t(label))}</td></tr>`).join("");
  if (!$("key-help").open) $("key-help").showModal();
}

function renderAll() {
  translate(document);
  for (const box of alerts.values()) box.say();
  renderPositions();
  renderCalls();
  renderCallbacks();
  renderBoard();
  renderSlo();
  renderHandovers();
  incidents.render();
  desk.render();
  map.relabel();
}

start().catch((error) => {
  console.warn("console start failed", error);
  alert("critical", String(error.message || error));
});
