// The crew tablet: the unit's current job, big status buttons that follow the unit state
// machine, acknowledge with a countdown, position sharing, and an outbox: every tap is kept
// on the tablet (it survives a reload and a restart), sent with an idempotency key and the
// time it was tapped, and retried with backoff until the hub answers. Until then it shows
// "waiting to send".

import { ApiError, authToken, esc, get, newKey, post, setDeviceToken, whenUnauthorized } from "/common/api.js";
import { currentLang, named, oneOf, setLang, t, toggleLang } from "/common/i18n.js";
import { HubSocket } from "/common/socket.js";
import { triageRows } from "/common/triage.js";

const $ = (id) => document.getElementById(id);
// A tablet is paired once with its device token (e.g. from a link ending in #token=…).
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  setDeviceToken(fragment.get("token"));
  history.replaceState(null, "", location.pathname + location.search);
}
let unitId = new URLSearchParams(location.search).get("unit");
const stored = (name) => `dispatch.crew.${name}.${unitId}`;
const remember = (name, value) => localStorage.setItem(stored(name), JSON.stringify(value));
const recall = (name, fallback) => JSON.parse(localStorage.getItem(stored(name)) || "null") ?? fallback;

// What a crew may do next from each status when the hub cannot be asked (DESIGN.md).
const NEXT = {
  acknowledged: ["en_route"],
  en_route: ["on_scene"],
  on_scene: ["transporting", "available", "disinfecting"],
  transporting: ["at_hospital"],
  at_hospital: ["handover_done"],
  handover_done: ["available", "disinfecting"],
  disinfecting: ["available"],
  out_of_service: ["available"],
  available: [],
};
const RETRY_MAX_MS = 30000;

const state = { unit: null, job: null, outbox: [], fleet: false, offset: 0, hub: null, choosing: false };
let socket = null;
const unitPath = () => `/api/v1/units/${encodeURIComponent(unitId)}`;

/** The unit's live state and its current job, kept on the tablet for when it is offline
 *  (read in full at start and after a resync; events and answers keep it up to date). */
async function refresh() {
  await Promise.all([readUnit(), readJob()]);
}

/** One targeted read: GET the unit (its status and the statuses its crew may report next). */
async function readUnit() {
  await reading(async () => takeUnit(await get(unitPath())));
}

/** One targeted read: GET the unit's job (a new job's address, patient and destination). */
async function readJob() {
  await reading(async () => {
    state.job = state.fleet ? (await get(`${unitPath()}/job`)).job : null;
    if (state.job && state.unit) { // the job says where the unit stands too
      state.hub = { status: state.job.unit_status, next: state.job.next_statuses };
      state.unit = { ...state.unit, status: state.job.unit_status, infectious_load: state.job.infectious };
    }
  });
}

async function reading(read) {
  try {
    await read();
    state.outbox.forEach(ahead); // what is still waiting to send stays on screen as tapped
    keep();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status !== 0 && error.status !== 401) showMessage(error.message, true);
  }
  render();
}

function takeUnit(unit) {
  state.hub = { status: unit.status, next: unit.next_statuses };
  state.unit = unit;
}

function keep() {
  remember("unit", state.unit);
  remember("job", state.job);
  remember("hub", state.hub);
}

const ENDED = ["completed", "cancelled", "declined", "timed_out"];

/** What an event changes on the tablet: taken from the event itself, or one targeted read
 *  (a new job, a status the hub set) — never the whole unit and job again on every event. */
function handle(event) {
  const d = event.data;
  if (event.type === "message.sent") {
    $("messages").insertAdjacentHTML("afterbegin",
      `<li class="${d.urgent ? "urgent" : ""}">${esc(new Date(event.at).toLocaleTimeString())} · ${esc(d.text)}</li>`);
    return;
  }
  const ours = state.job && (d.assignment_id || d.id) === state.job.assignment_id;
  if (event.type === "unit.status" && d.unit_id === unitId) {
    // A status this tablet reported is on screen already (it is sent, or the hub answered);
    // a new job's status comes with the job (assignment.confirmed).
    const tapped = state.outbox.some((i) => i.kind === "status" && i.body.status === d.status);
    if (!tapped && d.status !== "assigned" && d.status !== state.hub?.status) readUnit();
    return;
  }
  if (event.type === "assignment.confirmed" && d.unit_id === unitId && !ours) {
    readJob();
    return;
  }
  if (event.type.startsWith("assignment.") && ours) {
    const status = event.type.split(".")[1];
    state.job = ENDED.includes(status) ? null : { ...state.job, status, ack_deadline: d.ack_deadline };
  } else if (event.type.startsWith("handover.") && ours) {
    state.job = { ...state.job, handover: event.type === "handover.cancelled" ? null : {
      crew_reasons: state.job.handover?.crew_reasons, status: d.status,
      notice_acknowledged_at: d.notice_acknowledged_at, arrived_at: d.arrived_at,
      done_at: d.done_at, overdue_level: d.overdue_level } };
  } else {
    return;
  }
  state.outbox.forEach(ahead);
  keep();
  render();
}

function infectious() {
  return Boolean(state.unit?.infectious_load || state.job?.infectious);
}

function nextStatuses() {
  const status = state.unit?.status;
  let next = state.hub && state.hub.status === status ? [...state.hub.next] : [...(NEXT[status] || [])];
  if (infectious()) next = next.filter((s) => s !== "available" || status === "disinfecting");
  if (status === "on_scene" && !state.job) next = next.filter((s) => s !== "transporting");
  if (status === "available") next.push("out_of_service");
  return next;
}

// --- the outbox ---------------------------------------------------------------------------

function tappedNow() {
  return new Date(Date.now() + state.offset).toISOString();
}

/** Keep an action on the tablet and send it; the screen moves on at once. */
function enqueue(kind, path, body, label) {
  state.outbox.push({ key: newKey(), kind, path, body, label, tapped_at: tappedNow() });
  remember("outbox", state.outbox);
  ahead(state.outbox[state.outbox.length - 1]);
  render();
  flush();
}

/** The screen as it will be once the hub has the action (it is shown at once). */
function ahead(item) {
  if (item.kind === "status") state.unit = { ...state.unit, status: item.body.status };
  if (item.kind === "ack" && state.job) state.job = { ...state.job, status: "acknowledged" };
  if (item.kind === "decline") state.job = null;
}

function setStatus(status, reason) {
  enqueue("status", `${unitPath()}/status`,
    { status, at: tappedNow(), ...(reason ? { reason } : {}) }, t(status));
}

function answerJob(verb) {
  const id = encodeURIComponent(state.job.assignment_id);
  enqueue(verb === "acknowledge" ? "ack" : "decline", `/api/v1/assignments/${id}/${verb}`, {},
    t(verb === "acknowledge" ? "ack" : "decline"));
}

let flushing = false;
let retryTimer = null;
let backoff = 1000;

function retryLater() {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(flush, backoff * (0.8 + Math.random() * 0.4));
  backoff = Math.min(backoff * 2, RETRY_MAX_MS);
}

/** Send the outbox in order. An action leaves it when the hub has answered: done, already
 *  done (a retry of something that went through), or refused (said on screen). */
async function flush() {
  if (flushing || !state.outbox.length) return;
  flushing = true;
  clearTimeout(retryTimer);
  let refusal = false;
  try {
    while (state.outbox.length) {
      const item = state.outbox[0];
      try {
        const answer = await post(item.path, item.body, { "Idempotency-Key": item.key });
        if (item.kind === "status" && answer?.status) takeUnit(answer); // the hub's answer, no re-read
        if (item.kind === "ack" && state.job) state.job = { ...state.job, status: "acknowledged" };
        if (item.kind === "decline") state.job = null;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        const retriable = error.status === 0 || error.status >= 500 || error.status === 429
          || error.status === 401 || error.problem.type === "/problems/request-in-progress";
        if (retriable) {
          retryLater();
          return;
        }
        const already = item.kind === "status" && error.problem.status_now === item.body.status;
        if (!already) {
          showMessage(`${t("send_refused")}: ${item.label} — ${error.message}`, true);
          refusal = true;
        }
      }
      state.outbox.shift();
      remember("outbox", state.outbox);
      backoff = 1000;
    }
  } finally {
    flushing = false;
    state.outbox.forEach(ahead);
    keep();
    render();
  }
  if (refusal) refresh(); // the hub refused something: see where things stand
}

function showMessage(text, urgent = false) {
  $("messages").insertAdjacentHTML("afterbegin",
    `<li class="${urgent ? "urgent" : ""}">${esc(new Date().toLocaleTimeString())} · ${esc(text)}</li>`);
}

// --- the screen ---------------------------------------------------------------------------

function handoverLine(handover) {
  if (!handover) return "";
  const said = handover.status === "handed_over" ? t("hospital_confirmed")
    : handover.notice_acknowledged_at ? t("hospital_acknowledged") : t("hospital_waiting");
  return `<dt>${esc(t("handover"))}</dt><dd class="handover-state">${esc(said)}</dd>`;
}

function render() {
  const unit = state.unit;
  $("unit-name").textContent = unit ? unit.call_sign : unitId;
  $("unit-status").textContent = unit ? t(unit.status) : "";
  $("unit-status").className = `status big ${unit ? unit.status : ""}`;
  const waiting = state.outbox.map((c) => `${c.label} (${t("sent_at")} ${new Date(c.tapped_at).toLocaleTimeString()})`);
  $("queued").textContent = waiting.length ? ` · ${t("waiting_to_send")}: ${waiting.join(" → ")}` : "";
  $("outbox").hidden = !waiting.length;
  $("outbox").innerHTML = `<b>${esc(t("waiting_to_send"))}</b> ${waiting.map((w) => `<span class="item">${esc(w)}</span>`).join(" → ")}`;
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
        <dt>${esc(t("destination"))}</dt><dd class="dest">${esc(named(dest) || "—")}</dd>
        <dt>${esc(t("transport"))}</dt><dd>${esc(t(job.transport_mode || ""))}</dd>
        ${inc.complaint ? `<dt>${esc(t("complaint"))}</dt><dd>${esc(inc.complaint)}</dd>` : ""}
        ${triageRows(inc.triage)}
        ${handoverLine(job.handover)}
      </dl>
      ${job.closed_loop ? `<p class="note">${esc(t("closed_loop"))}</p>` : ""}
      ${(job.crew_notes || []).map((n) => `<p class="note">${esc(oneOf(n))}</p>`).join("")}
      ${inc.notes ? `<p class="note">${esc(inc.notes)}</p>` : ""}
    </div>`;
  }
  const awaitingAck = Boolean(job) && ["proposed", "confirmed"].includes(job.status);
  $("ack").hidden = !awaitingAck;
  renderStatuses(awaitingAck);
  tick();
}

function renderStatuses(awaitingAck) {
  if (state.choosing) {
    // The hospital has not confirmed the handover: the crew says why it closes it.
    const reasons = state.job?.handover?.crew_reasons || ["hospital_not_on_system", "no_response_within_target", "handed_over_in_person"];
    $("statuses").innerHTML = `<p class="reason-title">${esc(t("handover_reason"))}</p>
      ${reasons.map((r) => `<button class="huge" data-reason="${esc(r)}">${esc(t(r))}</button>`).join("")}
      <button class="huge" data-cancel>${esc(t("cancel"))}</button>`;
    for (const button of $("statuses").querySelectorAll("[data-reason]")) {
      button.onclick = () => { state.choosing = false; setStatus("handover_done", button.dataset.reason); };
    }
    $("statuses").querySelector("[data-cancel]").onclick = () => { state.choosing = false; render(); };
    return;
  }
  // The next step of the job stands out; taking the unit out of service never does.
  $("statuses").innerHTML = awaitingAck ? "" : nextStatuses().map((s, i) =>
    `<button class="huge ${i === 0 && s !== "out_of_service" ? "next" : ""}" data-status="${s}">${esc(t(s))}</button>`).join("");
  for (const button of $("statuses").querySelectorAll("[data-status]")) {
    button.onclick = () => choose(button.dataset.status);
  }
}

function choose(status) {
  const handover = state.job?.handover;
  if (status === "handover_done" && handover && handover.status !== "handed_over") {
    state.choosing = true;
    render();
    return;
  }
  setStatus(status);
}

function tick() {
  const deadline = state.job?.ack_deadline;
  if (!deadline || $("ack").hidden) return;
  const left = Math.max(0, Math.round((Date.parse(deadline) - Date.now() - state.offset) / 1000));
  $("countdown").textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
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

function pair(message) {
  socket?.stop();
  $("pair").hidden = false;
  $("pair-message").textContent = message || "";
  for (const el of document.querySelectorAll("header, main, #offline")) el.hidden = true;
  $("pair").onsubmit = (event) => {
    event.preventDefault();
    setDeviceToken(new FormData($("pair")).get("token").trim());
    location.reload();
  };
}

/** GET that answers null when the hub cannot be reached or is restarting (the tablet then
 *  uses what it kept, and the outbox keeps retrying). */
async function reachable(path) {
  try {
    return await get(path);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 0 || error.status >= 500 || error.status === 429)) return null;
    throw error;
  }
}

async function start() {
  setLang(currentLang());
  $("lang").onclick = () => { toggleLang(); render(); };
  $("ack-button").onclick = () => answerJob("acknowledge");
  $("decline-button").onclick = () => answerJob("decline");
  $("share-position").onchange = (e) => sharePosition(e.target.checked);
  const unpaired = () => { setDeviceToken(null); pair(t("unpaired")); };
  whenUnauthorized(unpaired);
  if (!authToken()) {
    pair();
    return;
  }
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/crew/sw.js").catch(() => {});
  const me = await reachable("/api/v1/auth/me");
  if (!authToken()) return; // refused: the pairing screen is up
  unitId = me?.unit_id || unitId || localStorage.getItem("dispatch.crew.unit");
  if (!unitId) {
    $("job").innerHTML = "<p class='job-title'>?unit=…</p>";
    return;
  }
  localStorage.setItem("dispatch.crew.unit", unitId);
  const config = await reachable("/api/v1/console/config");
  if (config) remember("features", config.features || {});
  state.fleet = Boolean((config?.features || recall("features", {})).fleet);
  state.outbox = recall("outbox", []);
  state.unit = recall("unit", null);
  state.job = recall("job", null);
  state.hub = recall("hub", null);
  state.offset = recall("offset", 0);
  state.outbox.forEach(ahead); // what was tapped before a reload still shows
  socket = new HubSocket(`/ws/crew/${encodeURIComponent(unitId)}`, {
    onEvent: handle,
    onStatus: (online) => { $("offline").hidden = online; if (online) flush(); },
    onHello: () => { state.offset = socket.serverOffsetMs; remember("offset", state.offset); },
    onResync: () => refresh(),
    onDenied: unpaired,
  });
  window.dispatchCrew = { socket, state, flush };
  window.addEventListener("online", () => { backoff = 1000; flush(); });
  render();
  await refresh();
  socket.connect();
  setTimeout(() => { if (!socket.online && !socket.stopped) $("offline").hidden = false; }, 2000);
  flush();
  setInterval(tick, 500);
  setInterval(flush, RETRY_MAX_MS); // a backstop: nothing waits for a reconnect
  document.body.dataset.ready = "true";
}

start().catch((error) => showMessage(String(error.message || error), true));
