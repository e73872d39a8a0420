// Administration for admins: accounts (create, disable) and device tokens (issue one for a crew
// tablet or a hospital terminal and pair it by scanning a QR code; revoke a lost one).

import { ApiError, esc, get, post } from "/common/api.js";
import { t } from "/common/i18n.js";

const $ = (id) => document.getElementById(id);
const ROLES = ["call_taker", "dispatcher", "supervisor", "admin", "hospital", "crew"];

export class Admin {
  constructor() {
    $("admin-user").onsubmit = (event) => { event.preventDefault(); this.createUser(); };
    $("admin-device").onsubmit = (event) => { event.preventDefault(); this.createDevice(); };
    $("admin-close").onclick = () => $("admin").close();
  }

  async open() {
    // Labelled on each opening: the language may have changed since.
    const chosen = new Set([...$("admin-user").roles.selectedOptions].map((o) => o.value));
    $("admin-user").roles.innerHTML = ROLES.map((r) => `<option value="${r}" ${chosen.has(r) ? "selected" : ""}>${esc(t(`role_${r}`))}</option>`).join("");
    $("admin-pairing").hidden = true; // a token is shown once, not again on the next opening
    $("admin-pairing-qr").innerHTML = "";
    $("admin-pairing-link").textContent = "";
    await this.load();
    if (!$("admin").open) $("admin").showModal();
  }

  async load() {
    const [users, devices] = await Promise.all([get("/api/v1/users"), get("/api/v1/devices")]);
    $("admin-users").innerHTML = users.map((u) => `<tr data-user="${esc(u.username)}">
      <td>${esc(u.username)}</td><td>${esc(u.roles.map((r) => t(`role_${r}`)).join(", "))}</td>
      <td>${esc(u.unit_id || u.hospital_id || "")}</td>
      <td>${u.active ? `<button data-disable="${esc(u.username)}">${esc(t("disable"))}</button>` : esc(t("disabled"))}</td></tr>`).join("");
    $("admin-devices").innerHTML = devices.map((d) => `<tr data-device="${esc(d.id)}">
      <td>${esc(d.name)}</td><td>${esc(t(`device_${d.kind}`))}</td><td>${esc(d.unit_id || d.hospital_id || "")}</td>
      <td>${d.revoked_at ? esc(t("revoked")) : `<button data-revoke="${esc(d.id)}">${esc(t("revoke"))}</button>`}</td></tr>`).join("");
    for (const b of $("admin-users").querySelectorAll("[data-disable]")) {
      b.onclick = () => this.act(`/api/v1/users/${encodeURIComponent(b.dataset.disable)}/disable`);
    }
    for (const b of $("admin-devices").querySelectorAll("[data-revoke]")) {
      b.onclick = () => this.act(`/api/v1/devices/${encodeURIComponent(b.dataset.revoke)}/revoke`);
    }
  }

  async act(path, body) {
    $("admin-error").textContent = "";
    try {
      const out = await post(path, body);
      await this.load();
      return out;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      $("admin-error").textContent = error.message;
      return null;
    }
  }

  createUser() {
    const form = $("admin-user");
    const roles = [...form.roles.selectedOptions].map((o) => o.value);
    const bound = form.bound.value.trim() || null;
    this.act("/api/v1/users", {
      username: form.username.value.trim(), password: form.password.value, roles,
      unit_id: roles.includes("crew") ? bound : null, hospital_id: roles.includes("hospital") ? bound : null,
    }).then((out) => { if (out) form.reset(); });
  }

  async createDevice() {
    const form = $("admin-device");
    const kind = form.kind.value;
    const bound = form.bound.value.trim() || null;
    const out = await this.act("/api/v1/devices", {
      kind, name: form.name.value.trim(),
      unit_id: kind === "crew" ? bound : null, hospital_id: kind === "hospital" ? bound : null,
    });
    if (!out) return;
    form.reset();
    // Shown once: the token is not kept anywhere it could be read again.
    $("admin-pairing").hidden = false;
    $("admin-pairing-qr").innerHTML = out.pairing_qr_svg || "";
    $("admin-pairing-link").textContent = out.pairing_url || out.token;
  }
}
