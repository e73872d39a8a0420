// The crew tablet: the unit's current job, big status buttons that follow the unit state
// machine, acknowledge with a countdown, position sharing, and status changes queued while
// the tablet is offline and sent, in order, when it reconnects.

import { ApiError, authToken, esc, get, post, setDeviceToken, whenUnauthorized } from "/common/api.js";
import { currentLang, setLang, t, toggleLang } from "/common/i18n.js";
import { HubSocket } from "/common/socket.js";

const $ = (id) => document.getElementById(id);
// A tablet is paired once with its device token (e.g. from a link ending in #token=…).
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  setDeviceToken(fragment.get("token"));
  history.replaceState(null, "", location.pathname + location.search);
}
let unitId = new URLSearchParams(location.search).get("unit");
let QUEUE_KEY = "";

// What a crew may do next from each status (DESIGN.md's unit state machine).
const NEXT = {
  acknowledged: ["en_route"],
  en_route: ["on_scene"],
  on_scene: ["transporting", "available"],
  transporting: ["at_hospital"],
  at_hospital: ["handover_done"],
  handover_done: ["available"],
  disinfecting: ["available"],
  out_of_service: ["available"],
  available: ["out_of_service"],
};

const state = { unit: null, job: null, queue: [], fleet: false };
let socket = null;
const unitPath = () => `/api/v1/units/${encodeURIComponent(unitId)}`;

/** The unit's live state and its current job (GET /api/v1/units/{id}/job → {job}). */
async function refresh() {
  try {
    const [units, job] = await Promise.all([
      get("/api/v1/units"),
      state.fleet ? get(`${unitPath()}/job`) : { job: null },
    ]);
    state.unit = units.find((u) => u.id === unitId) || state.unit;
    state.job = job.job;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status !== 0) showMessage(error.message, true); // status 0: offline, retried later
  }
  render();
}

function handle(event) {
  const d = event.data;
  if (event.type === "message.sent") {
    $("messages").insertAdjacentHTML("afterbegin",
      `<li class="${d.urgent ? "urgent" : ""}">${esc(new Date(event.at).toLocaleTimeString())} · ${esc(d.text)}</li>`);
    return;
  }
  if (event.type === "unit.status" && d.unit_id === unitId) {
    state.unit = { ...state.unit, status: d.status };
  }
  if (event.type.startsWith("assignment.") || event.type === "unit.status") {
    refresh();
    return;
  }
  render();
}

function nextStatuses() {
  const status = state.unit?.status;
  let next = NEXT[status] || [];
  if (status === "handover_done" && (state.unit?.infectious_load || state.job?.infectious)) next = ["disinfecting"];
  if (status === "on_scene" && !state.job) next = ["available"];
  return next;
}

function setStatus(status) {
  const change = { status };
  state.queue.push(change);
  localStorage.setItem(QUEUE_KEY, JSON.stringify(state.queue));
  state.unit = { ...state.unit, status };
  render();
  flush();
}

// Status changes go out in order (POST /api/v1/units/{id}/status {status}); while the tablet
// is offline they wait in localStorage and are sent when the hub can be reached again.
let flushing = false;
async function flush() {
  if (flushing || !socket.online) return;
  flushing = true;
  try {
    while (state.queue.length && socket.online) {
      const change = state.queue[0];
      try {
        await post(`${unitPath()}/status`, { status: change.status });
      } catch (error) {
        if (!(error instanceof ApiError) || error.status === 0) break; // unreachable: keep it queued
        showMessage(`${t(change.status)}: ${error.message}`, true);
      }
      state.queue.shift();
      localStorage.setItem(QUEUE_KEY, JSON.stringify(state.queue));
    }
  } finally {
    flushing = false;
    render();
  }
  if (!state.queue.length) refresh();
}

function showMessage(text, urgent = false) {
  $("messages").insertAdjacentHTML("afterbegin", `<li class="${urgent ? "urgent" : ""}">${esc(text)}</li>`);
}

function render() {
  const unit = state.unit;
  $("unit-name").textContent = unit ? unit.call_sign : unitId;
  $("unit-status").textContent = unit ? t(unit.status) : "";
  $("unit-status").className = `status big ${unit ? unit.status : ""}`;
  $("queued").textContent = state.queue.length ? ` · ${t("queued")}: ${state.queue.map((c) => t(c.status)).join(" → ")}` : "";
  const job = state.job;
  if (!job) {
    $("job").innerHTML = `<p class="job-title">${esc(t("no_job"))}</p>
      <p class="waiting">${esc(t("waiting_for_job"))}</p>`;
  } else {
    const inc = job.incident || {};
    const dest = job.destination || {};
    $("job").innerHTML = `<div class="job">
      <p class="job-title">${esc(inc.address || `${inc.lat?.toFixed(5)}, ${inc.lon?.toFixed(5)}`)}</p>
      <dl>
        <dt>${esc(t("patient"))}</dt><dd>${esc(t(inc.category))} · ${esc(t(inc.severity))}${inc.infection_status && inc.infection_status !== "none" ? ` · ${esc(t(inc.infection_status))}` : ""}</dd>
        <dt>${esc(t("destination"))}</dt><dd class="dest">${esc(dest.name_zh || dest.name || "—")}</dd>
        <dt>${esc(t("transport"))}</dt><dd>${esc(t(job.transport_mode || ""))}</dd>
        ${inc.complaint ? `<dt>${esc(t("complaint"))}</dt><dd>${esc(inc.complaint)}</dd>` : ""}
      </dl>
      ${job.closed_loop ? `<p class="note">${esc(t("closed_loop"))}</p>` : ""}
      ${(job.crew_notes || []).map((n) => `<p class="note">${esc(n)}</p>`).join("")}
      ${inc.notes ? `<p class="note">${esc(inc.notes)}</p>` : ""}
    </div>`;
  }
  const awaitingAck = Boolean(job) && ["proposed", "confirmed"].includes(job.status);
  $("ack").hidden = !awaitingAck;
  // The next step of the job stands out; taking the unit out of service never does.
  $("statuses").innerHTML = awaitingAck ? "" : nextStatuses().map((s, i) =>
    `<button class="huge ${i === 0 && s !== "out_of_service" ? "next" : ""}" data-status="${s}">${esc(t(s))}</button>`).join("");
  for (const button of $("statuses").querySelectorAll("[data-status]")) {
    button.onclick = () => setStatus(button.dataset.status);
  }
  tick();
}

function tick() {
  const deadline = state.job?.ack_deadline;
  if (!deadline || $("ack").hidden) return;
  const left = Math.max(0, Math.round((Date.parse(deadline) - socket.now()) / 1000));
  $("countdown").textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
}

/** POST /api/v1/assignments/{id}/acknowledge or …/decline. */
async function answerJob(verb) {
  try {
    await post(`/api/v1/assignments/${encodeURIComponent(state.job.assignment_id)}/${verb}`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showMessage(error.message, true);
  }
  refresh();
}

let watcher = null;
let lastSent = 0;
function sharePosition(on) {
  if (!on) {
    if (watcher !== null) navigator.geolocation.clearWatch(watcher);
    watcher = null;
    $("position-state").textContent = "";
    return;
  }
  if (!navigator.geolocation) return;
  watcher = navigator.geolocation.watchPosition((pos) => {
    const now = Date.now();
    if (now - lastSent < 5000) return;
    lastSent = now;
    post(`${unitPath()}/position`, { lat: pos.coords.latitude, lon: pos.coords.longitude })
      .then(() => { $("position-state").textContent = t("position_shared"); })
      .catch(() => {});
  }, () => {}, { enableHighAccuracy: true, maximumAge: 5000 });
}

function pair() {
  $("pair").hidden = false;
  for (const el of document.querySelectorAll("header, main")) el.hidden = true;
  $("pair").onsubmit = (event) => {
    event.preventDefault();
    setDeviceToken(new FormData($("pair")).get("token").trim());
    location.reload();
  };
}

async function start() {
  setLang(currentLang());
  $("lang").onclick = () => { toggleLang(); render(); };
  $("ack-button").onclick = () => answerJob("acknowledge");
  $("decline-button").onclick = () => answerJob("decline");
  $("share-position").onchange = (e) => sharePosition(e.target.checked);
  whenUnauthorized(() => { setDeviceToken(null); pair(); });
  if (!authToken()) {
    pair();
    return;
  }
  const me = await get("/api/v1/auth/me");
  unitId = me.unit_id || unitId;  // a crew tablet's token names its unit
  if (!unitId) {
    $("job").innerHTML = "<p class='job-title'>?unit=…</p>";
    return;
  }
  QUEUE_KEY = `dispatch.crew.queue.${unitId}`;
  const config = await get("/api/v1/console/config");
  state.fleet = Boolean(config.features?.fleet);
  state.queue = JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]");
  socket = new HubSocket(`/ws/crew/${encodeURIComponent(unitId)}`, {
    onEvent: handle,
    onStatus: (online) => { $("offline").hidden = online; if (online) flush(); },
    onResync: () => refresh(),
    onDenied: () => { setDeviceToken(null); pair(); },
  });
  window.dispatchCrew = { socket, state };
  await refresh();
  socket.connect();
  setInterval(tick, 500);
  document.body.dataset.ready = "true";
}

start().catch((error) => showMessage(String(error.message || error), true));
