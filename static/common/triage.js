// The call-taker's structured triage as the crew and the receiving hospital read it.

import { esc } from "./api.js";
import { t } from "./i18n.js";

/** Definition-list rows (dt/dd) for a triage, or "" when nothing is known. */
export function triageRows(triage, now = Date.now()) {
  if (!triage) return "";
  const rows = [];
  if (triage.protocol) rows.push([t("protocol"), t(`protocol_${triage.protocol}`)]);
  const who = [triage.age_years != null ? `${triage.age_years} ${t("years_old")}` : "",
    triage.sex && triage.sex !== "unknown" ? t(triage.sex) : ""].filter(Boolean).join(" · ");
  if (who) rows.push([t("patient"), who]);
  if (triage.last_known_well) {
    const at = new Date(triage.last_known_well);
    const minutes = Math.max(0, Math.round((now - at.getTime()) / 60000));
    rows.push([t("last_known_well"),
      `${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })} · ${minutes} ${t("minutes_ago")}`]);
  }
  if (triage.danger_signs?.length) {
    rows.push([t("danger_signs"), triage.danger_signs.map((s) => t(`sign_${s}`)).join(", ")]);
  }
  return rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd class="triage">${esc(v)}</dd>`).join("");
}
