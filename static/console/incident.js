// The call-taker's desk: the incident of the call in hand, where the patient goes and why,
// and the units that can go, with one-click assignment.

import { ApiError, esc, get, newKey, patch, post } from "/common/api.js";
import { capability, currentLang, named, oneOf, reasonOf, t } from "/common/i18n.js";

// Assignment events after which the units that may go are not the same: read them again.
const RANKING_CHANGES = ["assignment.confirmed", "assignment.declined", "assignment.timed_out",
  "assignment.cancelled", "assignment.completed"];

const SEVERITIES = ["critical", "urgent", "non_urgent"];
const CATEGORIES = ["ordinary", "pregnant", "newborn", "dialysis", "cancer", "chronic", "psychiatric",
  "disabled", "immobile_elderly"];
const INFECTION = ["none", "suspected", "confirmed"];
const FLAGS = ["isolation", "has_certificate", "in_labour", "fever", "danger_signs", "needs_oxygen",
  "prescription_refill"];
// Structured triage, in the order a call-taker asks (dispatch/incidents/triage.py).
const PROTOCOLS = ["stroke", "chest_pain", "major_trauma", "poisoning", "breathing", "unconscious",
  "obstetric", "fever", "psychiatric", "other"];
const SEXES = ["female", "male", "unknown"];
const DANGER_SIGNS = ["not_breathing_normally", "unresponsive", "severe_bleeding", "face_arm_speech",
  "chest_pain_sweating", "seizure", "low_spo2", "pale_cold_skin"];

const $ = (id) => document.getElementById(id);

/** Why a unit is not recommended, in the console's language (the hub says it in English). */
function exclusion(reason) {
  if (reason === "declined or did not acknowledge this incident") return t("excl_declined");
  if (reason === "not in service") return t("excl_not_in_service");
  if (reason.startsWith("status ")) return `${t("excl_status")} ${t(reason.slice(7))}`;
  if (reason.startsWith("lacks ")) return `${t("excl_lacks")} ${reason.slice(6).split(", ").map(capability).join(currentLang() === "zh" ? "、" : ", ")}`;
  return reason;
}
const list = (items) => items.join(currentLang() === "zh" ? "、" : ", ");
const FACTS = { severity: "severity", category: "category", infection: "infection", zone_status: "zone",
  complaint: "protocol" };

/** A rule's "why" (`severity=critical, zone_status=sealed (z1)`) in the console's words; the
 *  zone is named. */
function plainWhy(why, zone) {
  if (why === "always") return t("rule_always");
  return why.split(", ").map((part) => {
    const match = /^([a-z_]+)=([^ ]+)( \((.*)\))?$/.exec(part);
    if (!match) return part;
    const [, fact, value, , zoneId] = match;
    const where = zoneId ? ` (${zone?.id === zoneId && named(zone) ? named(zone) : zoneId})` : "";
    if (fact in FACTS) {
      const shown = fact === "complaint" ? t(`protocol_${value}`) : t(value);
      return `${t(FACTS[fact])}: ${shown}${where}`;
    }
    return value === "true" ? t(fact) : value === "false" ? `${t(fact)} ✗` : `${t(fact)}: ${value}`;
  }).join(" · ");
}

/** What a matched rule did and why, in the console's words. */
function ruleWords(rule, decision) {
  if (rule.id.startsWith("guard:")) return [t(`guard_${rule.id.slice(6).replaceAll("-", "_")}`), ""];
  if (rule.id.startsWith("pathway:") && decision.pathway) {
    const p = decision.pathway;
    return [currentLang() === "zh" ? p.label_zh : p.label_en,
      `${t("pathway_needs")} ${list(p.hospital_needs.map((c) => t(`hcap_${c}`)))}`];
  }
  const description = currentLang() === "zh" ? rule.description_zh || rule.description : rule.description;
  return [description || rule.id, plainWhy(rule.why, decision.zone)];
}

export class IncidentDesk {
  constructor({ socket, map, alert, state }) {
    this.socket = socket;
    this.map = map;
    this.alert = alert;
    this.state = state;
    this.form = $("incident-form");
    this.callId = null;
    this.incident = null;
    this.recommendations = null;
    this.assignments = new Map();
    this.position = null;
    this.buildForm();
  }

  buildForm() {
    const options = (values) => values.map((v) => `<option value="${v}" data-i18n="${v}">${esc(t(v))}</option>`).join("");
    this.form.severity.innerHTML = `<option value=""></option>${options(SEVERITIES)}`;
    this.form.category.innerHTML = options(CATEGORIES);
    this.form.infection_status.innerHTML = options(INFECTION);
    const labelled = (values, prefix) => values.map((v) =>
      `<option value="${v}" data-i18n="${prefix}${v}">${esc(t(prefix + v))}</option>`).join("");
    this.form.protocol.innerHTML = `<option value=""></option>${labelled(PROTOCOLS, "protocol_")}`;
    this.form.sex.innerHTML = `<option value=""></option>${labelled(SEXES, "")}`;
    $("danger-signs").insertAdjacentHTML("beforeend", DANGER_SIGNS.map((d) =>
      `<label><input type="checkbox" name="sign_${d}"> <span data-i18n="sign_${d}">${esc(t(`sign_${d}`))}</span></label>`).join(""));
    $("flags").insertAdjacentHTML("beforeend", FLAGS.map((f) =>
      `<label><input type="checkbox" name="flag_${f}"> <span data-i18n="${f}">${esc(t(f))}</span></label>`).join(""));
    this.form.onsubmit = (e) => { e.preventDefault(); this.save(); };
    $("pick").onclick = () => this.map.startPicking();
    $("hang-up").onclick = () => this.hangUp();
    for (const name of ["lat", "lon"]) {
      this.form[name].oninput = () => this.map.showIncident(parseFloat(this.form.lat.value), parseFloat(this.form.lon.value));
    }
  }

  setPosition(position) {
    this.position = position;
  }

  setHospitals(hospitals) {
    const open = hospitals.filter((h) => h.status !== "suspended");
    const html = `<option value="">—</option>` + open.map((h) =>
      `<option value="${esc(h.id)}">${esc(named(h))}</option>`).join("");
    for (const name of ["registered_hospital_id", "treating_hospital_id"]) {
      const chosen = this.form[name].value;
      this.form[name].innerHTML = html;
      this.form[name].value = chosen;
    }
  }

  /** Open the call in hand; `call` is what the ringing queue knew of it (number, location). */
  openCall(callId, call = this.state.calls.get(callId)) {
    if (this.callId === callId) return;
    this.callId = callId;
    this.createKey = newKey(); // a retried save of this call's incident makes one incident
    this.createBody = null;
    this.incident = null;
    this.recommendations = null;
    this.form.reset();
    this.form.call_id.value = callId;
    this.form.incident_id.value = "";
    this.form.hidden = false;
    $("incident-idle").hidden = true;
    this.clearErrors();
    $("my-call").textContent = call ? `· ${call.caller_number || t("withheld")}` : "";
    if (call?.carrier_location) {
      this.form.lat.value = call.carrier_location.lat.toFixed(5);
      this.form.lon.value = call.carrier_location.lon.toFixed(5);
      this.map.showIncident(call.carrier_location.lat, call.carrier_location.lon);
    }
    this.render();
    this.form.address.focus();
  }

  /** The call is over. Its incident stays on the desk only while it still needs a unit
   *  (decided, open, none sent); otherwise the desk is cleared for the next call. */
  close() {
    this.callId = null;
    this.form.hidden = true;
    $("incident-idle").hidden = false;
    $("my-call").textContent = "";
    if (!this.needsUnit()) this.clear();
  }

  needsUnit() {
    const open = this.incident && ["open", "dispatched"].includes(this.incident.status);
    const transport = this.incident?.decision && (this.incident.decision.outcome || "transport") === "transport";
    return Boolean(open && transport && !this.activeAssignments().length);
  }

  /** An incident from the list, to dispatch it (no call in hand). */
  async showIncident(incident) {
    if (this.callId) return; // the call in hand comes first
    this.incident = incident;
    await this.loadRecommendations({ fresh: true });
    this.render();
    $("decision-panel").scrollIntoView({ block: "nearest" });
  }

  clear() {
    this.incident = null;
    this.recommendations = null;
    this.render();
  }

  /** The incident ended (its last job completed): nothing more to do for it here. */
  incidentClosed(incidentId) {
    if (this.incident?.id === incidentId && !this.callId) this.clear();
    else if (this.incident?.id === incidentId) this.incident = { ...this.incident, status: "closed" };
  }

  activeAssignments() {
    return [...this.assignments.values()].filter((a) =>
      a.incident_id === this.incident?.id && ["proposed", "confirmed", "acknowledged"].includes(a.status));
  }

  picked(lat, lon) {
    this.form.lat.value = lat.toFixed(5);
    this.form.lon.value = lon.toFixed(5);
    this.map.showIncident(lat, lon);
    this.form.lat.classList.remove("invalid");
    this.form.lon.classList.remove("invalid");
  }

  clearErrors() {
    $("incident-error").textContent = "";
    delete $("incident-error").dataset.i18n;
    $("incident-error").classList.remove("ok");
    for (const el of this.form.querySelectorAll(".invalid")) el.classList.remove("invalid");
    for (const el of this.form.querySelectorAll(".field-error")) el.remove();
  }

  markError(name, message) {
    const input = this.form[name];
    if (!input) return;
    input.classList.add("invalid");
    input.insertAdjacentHTML("afterend", `<span class="field-error">${esc(message)}</span>`);
  }

  /** Check the form in the browser first; the hub checks again and names any bad field. */
  collect() {
    this.clearErrors();
    const f = this.form;
    const errors = {};
    const lat = f.lat.value.trim() === "" ? null : Number(f.lat.value);
    const lon = f.lon.value.trim() === "" ? null : Number(f.lon.value);
    if (lat !== null && !(lat >= -90 && lat <= 90)) errors.lat = "−90…90";
    if (lon !== null && !(lon >= -180 && lon <= 180)) errors.lon = "−180…180";
    if ((lat === null) !== (lon === null)) errors[lat === null ? "lat" : "lon"] = t("required");
    if (lat === null && !f.address.value.trim()) errors.address = t("required");
    if (!f.severity.value) errors.severity = t("required");
    const age = f.age_years.value.trim() === "" ? null : Number(f.age_years.value);
    if (age !== null && !(Number.isInteger(age) && age >= 0 && age <= 130)) errors.age_years = "0…130";
    const lkw = f.last_known_well.value ? new Date(f.last_known_well.value) : null;
    if (lkw && Number.isNaN(lkw.getTime())) errors.last_known_well = t("required");
    for (const [name, message] of Object.entries(errors)) this.markError(name, message);
    if (Object.keys(errors).length) return null;
    const flags = Object.fromEntries(FLAGS.map((flag) => [flag, f[`flag_${flag}`].checked]));
    const triage = {
      protocol: f.protocol.value || null, age_years: age, sex: f.sex.value || null,
      last_known_well: lkw ? lkw.toISOString() : null,
      danger_signs: DANGER_SIGNS.filter((d) => f[`sign_${d}`].checked),
    };
    return {
      triage,
      location: { address: f.address.value.trim() || null, lat, lon },
      severity: f.severity.value, category: f.category.value, infection_status: f.infection_status.value,
      flags, complaint: f.complaint.value.trim() || null, notes: f.notes.value.trim() || null,
      registered_hospital_id: f.registered_hospital_id.value || null,
      treating_hospital_id: f.treating_hospital_id.value || null,
    };
  }

  async save() {
    const body = this.collect();
    if (!body) return;
    try {
      this.incident = this.incident
        ? await patch(`/api/v1/incidents/${this.incident.id}`, body)
        : await this.create(body);
      this.form.incident_id.value = this.incident.id;
      $("incident-error").dataset.i18n = "saved"; // relabelled if the language changes
      $("incident-error").textContent = t("saved");
      $("incident-error").classList.add("ok");
      await this.loadRecommendations({ fresh: true });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      delete $("incident-error").dataset.i18n;
      $("incident-error").textContent = error.message;
      for (const [name, message] of Object.entries(error.fieldErrors())) this.markError(name, message);
    }
    this.render();
    if (this.incident?.decision) $("decision-panel").scrollIntoView({ block: "nearest" });
  }

  /** POST /api/v1/incidents, safe to retry: the same form again is answered from the first
   *  attempt (its idempotency key); an edited form after a save whose answer was lost finds the
   *  call already has its incident and updates it instead. */
  async create(body) {
    const sent = JSON.stringify(body);
    if (sent !== this.createBody) {
      this.createKey = newKey();
      this.createBody = sent;
    }
    try {
      return await post("/api/v1/incidents", { call_id: this.callId, ...body }, { "Idempotency-Key": this.createKey });
    } catch (error) {
      const existing = error instanceof ApiError && error.status === 409 && error.problem.incident_id;
      if (!existing) throw error;
      return patch(`/api/v1/incidents/${existing}`, body);
    }
  }

  async hangUp() {
    if (!this.callId) return;
    try {
      await post(`/api/v1/calls/${this.callId}/ended`);
    } catch (error) {
      this.alert("warning", error.message);
    }
    this.close();
  }

  /** incident.created / updated carry the incident as the hub now has it: taken as it is.
   *  A new routing decision (or an escalated home visit) is one read of the incident, and the
   *  recommendations are read again only when the decision changed. */
  async incidentEvent(event) {
    const d = event.data;
    if (!this.incident || d.incident_id !== this.incident.id && d.id !== this.incident.id) return;
    const decided = this.incident.decision?.id;
    if (event.type === "incident.created" || event.type === "incident.updated") {
      this.incident = { ...this.incident, ...d };
    } else if (event.type === "routing.decided" && d.decision_id === decided) {
      return; // the decision on screen already
    } else {
      this.incident = await get(`/api/v1/incidents/${this.incident.id}`);
    }
    const changed = this.incident.decision?.id !== decided;
    if (changed || !this.recommendations) await this.loadRecommendations({ fresh: changed });
    this.render();
  }

  /** assignment.proposed / confirmed / acknowledged / declined / …: `status` is the suffix. */
  async assignmentEvent(event) {
    const d = event.data;
    const id = d.assignment_id || d.id;
    if (id && event.type !== "assignment.proposed") {
      this.assignments.set(id, { ...this.assignments.get(id), ...d, id, status: event.type.split(".")[1] });
    }
    if (!this.callId && this.incident && d.incident_id === this.incident.id && event.type === "assignment.confirmed") {
      this.clear(); // the call is over and a unit is on its way: the desk is free
      return;
    }
    if (this.incident && d.incident_id === this.incident.id) {
      // Who may go changes when a unit is sent or freed; a proposal or an acknowledgement
      // changes nothing the recommendations show.
      if (RANKING_CHANGES.includes(event.type)) await this.loadRecommendations({ fresh: true });
      this.render();
    }
  }

  unitChanged(unit) {
    if (this.recommendations?.candidates?.some((c) => c.unit_id === unit.id)) this.render();
  }

  /** The recommendations, read once however many events ask at the same moment: a caller
   *  arriving while a read is on its way shares it, and one that needs what changed since
   *  (`fresh`) gets a single read after it, however many asked. */
  async loadRecommendations({ fresh = false } = {}) {
    if (this.recommending) {
      this.readAgain ||= fresh;
      return this.recommending;
    }
    this.recommending = (async () => {
      do {
        this.readAgain = false;
        await this.readRecommendations();
      } while (this.readAgain);
    })();
    try {
      await this.recommending;
    } finally {
      this.recommending = null;
    }
  }

  /** GET /api/v1/incidents/{id}/recommendations, once the patient's destination is decided. */
  async readRecommendations() {
    if (!this.incident?.decision) {
      this.recommendations = null;
      return;
    }
    if (!this.state.features.fleet) {
      this.recommendations = { error: t("fleet_unavailable") };
      return;
    }
    const incidentId = this.incident.id;
    try {
      const rec = await get(`/api/v1/incidents/${incidentId}/recommendations`);
      if (this.incident?.id !== incidentId) return; // another incident is on the desk now
      this.recommendations = Array.isArray(rec) ? { candidates: rec } : { candidates: [], ...rec };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.recommendations = { error: error.message };
    }
  }

  /** POST /api/v1/assignments {incident_id, unit_id}: the hub reserves the unit atomically. */
  async assign(unitId) {
    const incidentId = this.incident.id; // the desk may move on while the request is out
    try {
      const assignment = await post("/api/v1/assignments", { incident_id: incidentId, unit_id: unitId });
      const id = assignment.assignment_id || assignment.id;
      this.assignments.set(id, { ...assignment, id, unit_id: assignment.unit_id || unitId,
        incident_id: incidentId, status: assignment.status || "proposed" });
      if (this.incident?.id !== incidentId) return;
      await this.loadRecommendations({ fresh: true });
      this.render();
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.alert("warning", error.message);
    }
  }

  render() {
    this.renderDecision();
    this.renderRecommendations();
    const inc = this.incident;
    const destId = inc?.decision?.destination?.hospital_id;
    const sent = this.activeAssignments()[0];
    this.map.showRoute(inc, this.state.hospitals.find((h) => h.id === destId),
      sent ? this.state.units.get(sent.unit_id) : null);
  }

  renderDecision() {
    const box = $("decision");
    const decision = this.incident?.decision;
    if (!decision) {
      box.innerHTML = `<p class="muted">${esc(t("no_decision"))}</p>`;
      return;
    }
    const dest = decision.destination;
    const care = decision.outcome && decision.outcome !== "transport";
    box.innerHTML = `<div class="decision">
      <dl>
        ${care ? `<dt>${esc(t("outcome"))}</dt><dd class="outcome">${esc(t(decision.outcome))}</dd>` : ""}
        ${decision.referral ? this.referralHtml(decision.referral) : `<dt>${esc(t("destination"))}</dt>
        <dd class="dest">${dest ? esc(named(dest)) : "—"}
          ${dest?.distance_km != null ? `<span class="muted">${dest.distance_km.toFixed(1)} km</span>` : ""}</dd>
        ${dest?.reason ? `<dt>${esc(t("why"))}</dt><dd class="why">${esc(reasonOf(dest))}</dd>` : ""}`}
        <dt>${esc(t("transport"))}</dt><dd class="transport">${esc(t(decision.transport_mode))}</dd>
        <dt>${esc(t("capabilities"))}</dt><dd class="caps">${esc(list((decision.required_unit_capabilities || []).map(capability)))}</dd>
        <dt>${esc(t("zone"))}</dt><dd class="zone">${named(decision.zone) ? `${esc(named(decision.zone))} · ` : ""}${esc(t(decision.zone?.status || "normal"))}</dd>
        ${decision.paperwork?.length ? `<dt>${esc(t("paperwork"))}</dt><dd>${esc(list(decision.paperwork.map((p) => t(p))))}</dd>` : ""}
        ${decision.closed_loop ? `<dt></dt><dd>${esc(t("closed_loop"))}</dd>` : ""}
        ${decision.pathway ? this.pathwayHtml(decision.pathway) : ""}
        ${decision.crew_notes?.length ? `<dt>${esc(t("crew_notes"))}</dt><dd class="notes">${decision.crew_notes.map((n) => esc(oneOf(n))).join("<br>")}</dd>` : ""}
      </dl>
      <p class="muted rules">${esc(t("rules_applied"))}</p>
      <ol>${(decision.matched_rules || []).filter((r) => r.decided?.length).map((r) => {
        const [what, why] = ruleWords(r, decision);
        // The rule file's rules by their id; the hub's own guards and pathways by their seed.
        const ref = [r.id.includes(":") ? "" : r.id, r.seed || ""].filter(Boolean).join(" · ");
        return `<li data-rule="${esc(r.id)}"><b>${esc(what)}</b>${why ? ` — <span class="rule-why" title="${esc(r.why)}">${esc(why)}</span>` : ""} <span class="muted" title="${esc(r.id)}">(${esc(ref)})</span></li>`;
      }).join("")}</ol>
    </div>`;
  }

  /** The clinical pathway: what care the hospital needs, and the onset for the receiving team. */
  pathwayHtml(pathway) {
    const label = currentLang() === "zh" ? pathway.label_zh : pathway.label_en;
    const lkw = this.incident?.triage?.last_known_well;
    const onset = lkw == null ? "" : `<dt>${esc(t("onset"))}</dt><dd class="onset">${esc(t("last_known_well"))}
      ${esc(new Date(lkw).toLocaleString(currentLang() === "zh" ? "zh-CN" : "en-GB", { dateStyle: "short", timeStyle: "short" }))}
      · ${pathway.onset_minutes} ${esc(t("minutes_ago"))}</dd>`;
    const needs = pathway.hospital_needs?.length ? list(pathway.hospital_needs.map((c) => t(`hcap_${c}`)))
      : oneOf(pathway.hospital_needs_words);
    return `<dt>${esc(t("pathway"))}</dt><dd class="pathway"><b>${esc(label)}</b> · ${esc(t("hospital_needs"))}
      ${esc(needs)}${pathway.outside_rule_set ? `<br><span class="muted">${esc(t("looked_outside"))}</span>` : ""}</dd>${onset}`;
  }

  /** The place the caller is sent to (or whose team comes): what to tell the caller. */
  referralHtml(ref) {
    const hours = ref.hours === "24h" ? t("hours_24h") : ref.hours || t("not_known");
    const phone = ref.phone ? `<a href="tel:${esc(ref.phone)}">${esc(ref.phone)}</a>` : esc(t("not_known"));
    const where = `${ref.distance_km.toFixed(1)} km ${t(`dir_${ref.direction}`)}${ref.location_approximate ? ` · ${t("approximate")}` : ""}`;
    return `<dt>${esc(t("place"))}</dt>
      <dd class="dest referral">${esc(named(ref))} <span class="muted">${esc(t(ref.kind))}</span></dd>
      <dt>${esc(t("phone"))}</dt><dd class="phone">${phone}</dd>
      <dt>${esc(t("hours"))}</dt><dd class="hours">${esc(hours)}</dd>
      <dt>${esc(t("distance"))}</dt><dd class="distance">${esc(where)}</dd>
      ${ref.address ? `<dt>${esc(t("address"))}</dt><dd>${esc(ref.address)}</dd>` : ""}
      ${ref.unit_id ? `<dt>${esc(t("team"))}</dt><dd>${esc(this.state.units.get(ref.unit_id)?.call_sign || ref.unit_id)}</dd>` : ""}
      <dt>${esc(t("why"))}</dt><dd class="why">${esc(reasonOf(ref))}</dd>`;
  }

  renderRecommendations() {
    const box = $("recommendations");
    const rec = this.recommendations;
    if (!rec) {
      box.innerHTML = "";
      return;
    }
    if (rec.error) {
      box.innerHTML = `<p class="muted">${esc(rec.error)}</p>`;
      return;
    }
    const active = this.activeAssignments();
    const callSign = (id) => this.state.units.get(id)?.call_sign || id;
    const activeHtml = active.map((a) => `<p class="dispatched" data-assignment="${esc(a.id)}">
      <b>${esc(callSign(a.unit_id))}</b> · ${esc(t("dispatched"))} · ${esc(t(`assignment_${a.status}`))}</p>`).join("");
    const rows = rec.candidates.map((c, i) => `
      <tr class="${i === 0 ? "top" : ""}" data-unit="${esc(c.unit_id)}">
        <td><b>${esc(c.call_sign || c.unit_id)}</b> <span class="muted">${esc(t(c.kind))}</span></td>
        <td class="eta">${c.eta_seconds == null ? "—" : `${Math.round(c.eta_seconds / 60)} ${esc(t("min_short"))}`}</td>
        <td class="muted">${c.distance_km == null ? "" : `${c.distance_km.toFixed(1)} km`}</td>
        <td><button class="${i === 0 ? "primary" : ""}" data-assign="${esc(c.unit_id)}">${esc(t(i === 0 ? "assign" : "override"))}</button></td>
      </tr>`).join("");
    box.innerHTML = `${activeHtml}
      ${rec.candidates.length ? `<table class="rec"><thead><tr><th></th><th>${esc(t("eta"))}</th><th>${esc(t("distance"))}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
        : `<p class="muted">${esc(t("no_candidates"))}</p>`}
      ${rec.excluded?.length ? `<details class="excluded"><summary>${esc(t("excluded"))} (${rec.excluded.length})</summary>
        ${rec.excluded.map((e) => `<div>${esc(e.call_sign || e.unit_id)}: ${esc(exclusion(e.reason))}</div>`).join("")}</details>` : ""}`;
    for (const button of box.querySelectorAll("[data-assign]")) {
      button.disabled = active.length > 0;
      button.onclick = () => this.assign(button.dataset.assign);
    }
  }
}
