// The incident list: what is still open (age, severity, zone, unit, destination, status),
// kept after the call ends; earlier incidents found by number, caller or words; the timeline of
// one incident and reopening it.

import { ApiError, esc, get, post } from "/common/api.js";
import { known, named, t } from "/common/i18n.js";

const $ = (id) => document.getElementById(id);
const OPEN = ["open", "dispatched"];

function age(iso, now) {
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60000));
  const min = t("min_short");
  return minutes < 60 ? `${minutes} ${min}` : `${Math.floor(minutes / 60)} ${t("hours_short")} ${minutes % 60} ${min}`;
}

export class IncidentList {
  constructor({ state, desk, alert, now }) {
    this.state = state;
    this.desk = desk;
    this.alert = alert;
    this.now = now;
    this.rows = [];
    this.searching = false;
    this.pending = null;
    setInterval(() => this.render(), 30000); // ages move on
    $("incident-search").onsubmit = (event) => { event.preventDefault(); this.search(); };
    $("incident-search").onreset = () => { this.searching = false; setTimeout(() => this.load(), 0); };
    $("incident-detail-close").onclick = () => { this.detail = null; $("incident-detail").close(); };
  }

  /** GET /api/v1/incidents?status=open&status=dispatched (or the search's filters). */
  async load(params = null) {
    const query = new URLSearchParams(params || OPEN.map((s) => ["status", s]));
    try {
      this.rows = await get(`/api/v1/incidents?${query}`);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status !== 0) this.alert("warning", error.message);
      return;
    }
    this.render();
  }

  async search() {
    const form = new FormData($("incident-search"));
    const params = [];
    for (const [field, value] of form.entries()) {
      if (!value) continue;
      const name = field.replace(/^find_/, ""); // the form's fields are named apart from the desk's
      if (name === "since") params.push(["since", new Date(`${value}T00:00`).toISOString()]);
      else params.push([name, String(value).trim()]);
    }
    this.searching = true;
    await this.load(params);
  }

  /** Incident news: the open list follows it within a moment (one reload for a burst of
   *  news; a search waits until it is cleared). */
  changed() {
    if (this.searching || this.pending) return;
    this.pending = setTimeout(() => { this.pending = null; this.load(); }, 400);
  }

  render() {
    this.renderDetail();
    const units = this.state.units;
    const list = $("incident-list");
    if (!this.rows.length) {
      list.innerHTML = `<li class="muted">${esc(t(this.searching ? "nothing_found" : "no_open_incidents"))}</li>`;
      return;
    }
    const now = this.now();
    list.innerHTML = this.rows.map((i) => {
      const dest = i.decision?.destination;
      const unit = i.unit_id ? (units.get(i.unit_id)?.call_sign || i.unit_id) : "—";
      return `<li data-incident="${esc(i.id)}" class="sev-${esc(i.severity)}">
        <span class="num">${esc(i.number || i.id.slice(0, 8))}</span>
        <span class="age">${esc(age(i.created_at, now))}</span>
        <span class="pill sev">${esc(t(i.severity))}</span>
        <span class="zone">${esc(t(i.zone_status || "normal"))}</span>
        <span class="unit">${esc(unit)}</span>
        <span class="dest" title="${esc(named(dest))}">${esc(named(dest) || "—")}</span>
        <span class="st">${esc(t(`incident_${i.status}`))}</span>
      </li>`;
    }).join("");
    for (const li of list.querySelectorAll("li[data-incident]")) {
      li.onclick = () => this.open(li.dataset.incident);
    }
  }

  /** The open incident's timeline (again after a change of language). */
  renderDetail() {
    if (!this.detail) return;
    const { incident, steps } = this.detail;
    $("incident-detail").querySelector("h3").textContent = `${incident.number || ""} · ${t(`incident_${incident.status}`)}`;
    $("incident-timeline").innerHTML = steps.map((s) => `<li><time>${esc(new Date(s.at).toLocaleTimeString())}</time>
      <b>${esc(this.step(s))}</b> <span class="muted">${esc(s.who || "")}</span></li>`).join("");
  }

  /** A timeline step in words: `call.answer` → "Answered", `unit.on_scene` → "高新01 到达现场". */
  step(s) {
    if (s.what.startsWith("unit.")) {
      const unit = s.target?.startsWith("unit ") ? s.target.slice(5) : "";
      return `${this.state.units.get(unit)?.call_sign || unit || t("tl_unit")} · ${t(s.what.slice(5))}`;
    }
    const key = `tl_${s.what.replaceAll(".", "_")}`;
    return known(key) ? t(key) : s.what;
  }

  /** One incident: put it on the desk (to dispatch it) and show its timeline. */
  async open(id) {
    const incident = this.rows.find((i) => i.id === id) || await get(`/api/v1/incidents/${id}`);
    if (OPEN.includes(incident.status)) this.desk.showIncident(incident);
    const steps = await get(`/api/v1/incidents/${id}/timeline`);
    const dialog = $("incident-detail");
    this.detail = { incident, steps };
    this.renderDetail();
    const closed = ["closed", "cancelled"].includes(incident.status);
    $("incident-reopen").hidden = !closed;
    $("incident-reopen").onsubmit = async (event) => {
      event.preventDefault();
      const reason = new FormData($("incident-reopen")).get("reason");
      try {
        const reopened = await post(`/api/v1/incidents/${id}/reopen`, { reason });
        dialog.close();
        this.desk.showIncident(reopened);
        this.load();
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        $("incident-reopen-error").textContent = error.message;
      }
    };
    if (!dialog.open) dialog.show(); // not modal: the desk stays usable beside it
  }
}
