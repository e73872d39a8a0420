// The hospital terminal: patients on their way (pre-arrival notice, ETA, triage) and at the
// door (the 15-minute handover clock), acknowledge, take over, the hospital's capacity and
// whether it is suspended. Paired with a device token or signed in with a hospital account.

import { ApiError, authToken, esc, get, post, put, setDeviceToken, setPersonToken, whenUnauthorized } from "/common/api.js";
import { currentLang, named, setLang, t, toggleLang, translate } from "/common/i18n.js";
import { HubSocket } from "/common/socket.js";
import { tone } from "/common/tone.js";
import { triageRows } from "/common/triage.js";

const $ = (id) => document.getElementById(id);
const CATEGORIES = ["general", "icu", "dialysis", "delivery", "neonatal", "oncology"];
const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("token")) {
  setDeviceToken(fragment.get("token"));
  history.replaceState(null, "", location.pathname + location.search);
}

const state = { hospitalId: null, hospital: null, incoming: new Map(), capacity: [], seen: new Set(),
  targetMinutes: 15 };
let socket = null;

async function reload() {
  const id = encodeURIComponent(state.hospitalId);
  try {
    const [hospital, incoming, capacity] = await Promise.all([
      get(`/api/v1/hospitals/${id}`), get(`/api/v1/hospitals/${id}/incoming`),
      get(`/api/v1/hospitals/${id}/capacity`)]);
    state.hospital = hospital;
    // Every kind of bed, reported or not yet (routing ranks by them; no hospital may refuse).
    state.capacity = CATEGORIES.map((category) => capacity.find((c) => c.category === category)
      || { category, available: null, total: null });
    const fresh = incoming.filter((h) => !state.seen.has(h.id) && !h.notice_acknowledged_at);
    state.incoming = new Map(incoming.map((h) => [h.id, h]));
    if (fresh.length && state.seen.size) tone(fresh.some((h) => h.severity === "critical") ? "critical" : "warning");
    for (const h of incoming) state.seen.add(h.id);
    if (!state.seen.size) state.seen.add("");
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 0) return; // offline: keep what is shown
    $("incoming").innerHTML = `<li class="form-error">${esc(error.message)}</li>`;
    return;
  }
  render();
}

function clock(h) {
  const minutes = (socket.now() - Date.parse(h.arrived_at)) / 60000;
  return [minutes, `${Math.floor(minutes)}:${String(Math.floor((minutes % 1) * 60)).padStart(2, "0")}`];
}

function render() {
  const hospital = state.hospital;
  $("hospital-name").textContent = named(hospital);
  $("hospital-status").textContent = hospital ? t(hospital.status) : "";
  $("hospital-status").className = `pill ${hospital?.status || ""}`;
  $("hospital-status").title = hospital?.status_reason || "";
  const rows = [...state.incoming.values()];
  $("incoming").innerHTML = rows.length ? rows.map((h) => {
    const eta = h.eta_at ? new Date(h.eta_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "—";
    const stage = h.arrived_at ? `<span class="clock">0:00</span>` : `<span>${esc(t("eta"))} <b>${esc(eta)}</b></span>`;
    const actions = [
      !h.arrived_at && !h.notice_acknowledged_at ? `<button class="primary" data-ack="${esc(h.id)}">${esc(t("acknowledge_notice"))}</button>` : "",
      h.arrived_at ? `<button class="primary" data-done="${esc(h.id)}">${esc(t("take_over"))}</button>` : "",
    ].join("");
    return `<li data-handover="${esc(h.id)}" class="${h.arrived_at ? "arrived" : ""} ${!h.notice_acknowledged_at && !h.arrived_at ? "new" : ""}">
      <span class="who">${esc(h.unit_call_sign || h.unit_id)} · <span class="${h.severity === "critical" ? "critical" : ""}">${esc(t(h.severity))}</span> · ${esc(t(h.category))}${h.infection_status && h.infection_status !== "none" ? ` · ${esc(t(h.infection_status))}` : ""}</span>
      ${stage}
      <dl class="facts">${triageRows(h.triage)}</dl>
      <span class="muted">${h.notice_acknowledged_at ? esc(t("notice_seen")) : ""}</span>
      <span class="actions">${actions}</span>
    </li>`;
  }).join("") : `<li class="muted">${esc(t("no_incoming"))}</li>`;
  for (const b of $("incoming").querySelectorAll("[data-ack]")) b.onclick = () => act(`/api/v1/handovers/${b.dataset.ack}/acknowledge`);
  for (const b of $("incoming").querySelectorAll("[data-done]")) b.onclick = () => act(`/api/v1/handovers/${b.dataset.done}/done`);
  $("capacity").querySelector("tbody").innerHTML = state.capacity.map((c) => `
    <tr data-category="${esc(c.category)}"><td>${esc(t(`capacity_${c.category}`))}</td>
      <td class="n ${c.available === 0 ? "full" : ""}">${esc(c.available ?? "—")}</td><td class="muted">/ ${esc(c.total ?? "—")}</td>
      <td><button data-delta="-1" aria-label="−1">−</button> <button data-delta="1" aria-label="+1">+</button></td></tr>`).join("")
    || `<tr><td class="muted">—</td></tr>`;
  for (const b of $("capacity").querySelectorAll("[data-delta]")) {
    const category = b.closest("tr").dataset.category;
    const row = state.capacity.find((c) => c.category === category);
    b.onclick = () => act(`/api/v1/hospitals/${encodeURIComponent(state.hospitalId)}/capacity/${category}`,
      { available: Math.max(0, (row.available ?? 0) + Number(b.dataset.delta)),
        ...(row.total != null ? { total: Math.max(row.total, (row.available ?? 0) + Number(b.dataset.delta)) } : {}) }, put);
  }
  tick();
}

async function act(path, body, verb = post) {
  try {
    await verb(path, body ?? {});
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    alert(error.message); // eslint-disable-line no-alert
  }
  reload();
}

function tick() {
  for (const li of $("incoming").querySelectorAll("li[data-handover]")) {
    const h = state.incoming.get(li.dataset.handover);
    if (!h?.arrived_at) continue;
    const [minutes, text] = clock(h);
    const el = li.querySelector(".clock");
    el.textContent = text;
    el.classList.toggle("over", minutes >= state.targetMinutes);
    li.classList.toggle("over", minutes >= state.targetMinutes);
  }
}

function signIn(message = "") {
  socket?.stop();
  $("signin").hidden = false;
  $("signin-message").textContent = message;
  $("signin").querySelector(".lang-switch").onclick = () => toggleLang();
  $("signin-form").onsubmit = async (event) => {
    event.preventDefault();
    const form = new FormData($("signin-form"));
    try {
      if (form.get("token")) {
        setDeviceToken(String(form.get("token")).trim());
      } else {
        const session = await post("/api/v1/auth/login", { username: form.get("username"), password: form.get("password") });
        setPersonToken(session.access_token);
      }
      location.reload();
    } catch (error) {
      $("signin-error").textContent = error.status === 401 ? t("wrong_login") : error.message;
    }
  };
}

async function start() {
  setLang(currentLang());
  translate(document);
  $("lang").onclick = () => { toggleLang(); render(); };
  whenUnauthorized(() => { setPersonToken(null); setDeviceToken(null); signIn(t("unpaired")); });
  if (!authToken()) {
    signIn();
    return;
  }
  const me = await get("/api/v1/auth/me");
  state.hospitalId = me.hospital_id || new URLSearchParams(location.search).get("hospital");
  if (!state.hospitalId) {
    signIn(t("not_a_hospital"));
    return;
  }
  const config = await get("/api/v1/console/config");
  state.targetMinutes = config.handover_target_minutes || 15;
  socket = new HubSocket(`/ws/hospital/${encodeURIComponent(state.hospitalId)}`, {
    onEvent: () => reload(),
    onStatus: (online) => {
      $("connection").className = `pill ${online ? "online" : "offline"}`;
      $("connection").dataset.i18n = online ? "online" : "offline"; // kept when the language changes
      $("connection").textContent = t(online ? "online" : "offline");
      $("offline-banner").hidden = online;
      if (online) reload();
    },
    onResync: () => reload(),
    onDenied: () => { setDeviceToken(null); setPersonToken(null); signIn(t("unpaired")); },
  });
  window.dispatchHospital = { socket, state };
  await reload();
  socket.connect();
  setInterval(tick, 1000);
  document.body.dataset.ready = "true";
}

start().catch((error) => { $("incoming").innerHTML = `<li class="form-error">${esc(String(error.message || error))}</li>`; });
