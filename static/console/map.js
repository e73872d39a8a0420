// The console map: zones coloured by status, hospitals, posts, units and the open incident.
// It draws everything as vector layers, so it works with no tile server at all; base map tiles
// are added only when the hub is configured with a tile URL.

import { esc } from "/common/api.js";
import { t } from "/common/i18n.js";

const L = window.L;
const ZONE_COLOURS = { sealed: "#c0182b", controlled: "#e07b00", precaution: "#d8b400", normal: "#6b7c8f" };
// Room on the right for the units' call-sign labels.
const FRAME_PADDING = { paddingTopLeft: [20, 20], paddingBottomRight: [70, 20], maxZoom: 14 };
const UNIT_COLOURS = {
  available: "#1d7a3a", assigned: "#c79100", acknowledged: "#c79100", en_route: "#d35400",
  on_scene: "#d35400", transporting: "#0b5cad", at_hospital: "#0b5cad", handover_done: "#0b5cad",
  disinfecting: "#7b3fb3", out_of_service: "#8a96a3",
};

export class ConsoleMap {
  constructor(element, config, { onPick }) {
    this.map = L.map(element, {
      zoomControl: true, attributionControl: Boolean(config.tiles_url), zoomSnap: 0.25,
    })
      .setView([config.centre.lat, config.centre.lon], config.zoom || 11);
    if (config.tiles_url) {
      L.tileLayer(config.tiles_url, { attribution: config.tiles_attribution || "", maxZoom: 19 })
        .addTo(this.map);
    }
    this.zones = L.layerGroup().addTo(this.map);
    this.hospitals = L.layerGroup().addTo(this.map);
    // Posts sit under the units drawn at them.
    this.map.createPane("posts").style.zIndex = 390;
    this.posts = L.layerGroup().addTo(this.map);
    this.units = new Map();
    this.unitLayer = L.layerGroup().addTo(this.map);
    this.incident = null;
    this.route = L.layerGroup().addTo(this.map);
    this.picking = false;
    this.onPick = onPick;
    this.map.on("click", (e) => {
      if (!this.picking) return;
      this.picking = false;
      element.style.cursor = "";
      this.onPick(e.latlng.lat, e.latlng.lng);
    });
    this.element = element;
    this.framing = null;
    // Keep the service area framed as the panel settles or the window changes size, until the
    // dispatcher moves the map.
    this.map.on("dragstart", () => { this.framing = null; });
    new ResizeObserver(() => {
      this.map.invalidateSize();
      if (this.framing) this.map.fitBounds(this.framing, FRAME_PADDING);
    }).observe(element);
  }

  startPicking() {
    this.picking = true;
    this.element.style.cursor = "crosshair";
  }

  drawZones(zones) {
    this.zones.clearLayers();
    for (const zone of zones) {
      if (zone.deleted) continue;
      const colour = ZONE_COLOURS[zone.status] || ZONE_COLOURS.normal;
      L.geoJSON(zone.geometry, {
        style: { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.18 },
      }).bindTooltip(`${esc(zone.name)} · ${esc(t(zone.status))}`).addTo(this.zones);
    }
  }

  drawHospitals(hospitals) {
    this.hospitals.clearLayers();
    for (const h of hospitals) {
      const suspended = h.status === "suspended";
      L.circleMarker([h.lat, h.lon], {
        radius: 6, color: suspended ? "#8a96a3" : "#b0003a", weight: 2,
        fillColor: suspended ? "#d7dde4" : "#ffffff", fillOpacity: 1, dashArray: suspended ? "2 3" : null,
      }).bindTooltip(`${esc(h.name_zh || h.name)}${suspended ? " · " + esc(t("suspended")) : ""}`)
        .bindPopup(() => `<b>${esc(h.name_zh || h.name)}</b><br>${esc(t(h.status))}${h.status_reason ? ` · ${esc(h.status_reason)}` : ""}
          <br>${esc((h.capabilities || []).map((c) => t(c)).join(", "))}${h.phone ? `<br>${esc(h.phone)}` : ""}`)
        .addTo(this.hospitals);
    }
  }

  drawPosts(posts) {
    this.posts.clearLayers();
    for (const p of posts) {
      L.marker([p.lat, p.lon], {
        pane: "posts", icon: L.divIcon({ className: "post-icon", html: "✚", iconSize: [18, 18] }),
      }).bindTooltip(esc(p.name_zh || p.name)).addTo(this.posts);
    }
  }

  updateUnit(unit) {
    if (unit.lat == null || unit.lon == null) return;
    const colour = UNIT_COLOURS[unit.status] || "#333";
    let marker = this.units.get(unit.id);
    if (!marker) {
      marker = L.circleMarker([unit.lat, unit.lon], { radius: 7, weight: 2, fillOpacity: 0.9 })
        .bindPopup(() => `<b>${esc(marker.unit.call_sign || marker.unit.id)}</b> · ${esc(t(marker.unit.status))}
          <br>${esc(t(marker.unit.kind || ""))}${marker.unit.position_at ? `<br>${esc(new Date(marker.unit.position_at).toLocaleTimeString())}` : ""}`)
        .addTo(this.unitLayer);
      this.units.set(unit.id, marker);
    }
    marker.unit = unit;
    marker.label = unit.call_sign || unit.id;
    marker.setLatLng([unit.lat, unit.lon]);
    marker.setStyle({ color: "#fff", fillColor: colour });
    this.relabel();
  }

  /** Call-sign labels; units at the same spot (a post) get their labels stacked, not piled. */
  relabel() {
    const spots = new Map();
    for (const [id, marker] of [...this.units].sort(([a], [b]) => a.localeCompare(b))) {
      const { lat, lng } = marker.getLatLng();
      const key = `${lat.toFixed(4)},${lng.toFixed(4)}`;
      spots.set(key, [...(spots.get(key) || []), marker]);
      marker.unitId = id;
    }
    for (const group of spots.values()) {
      group.forEach((marker, i) => {
        const offset = [8, (i - (group.length - 1) / 2) * 13];
        const tooltip = marker.getTooltip();
        if (tooltip && tooltip.options.offset[1] === offset[1] && marker.shownLabel === marker.label) return;
        marker.unbindTooltip().bindTooltip(esc(marker.label),
          { permanent: true, direction: "right", className: "unit-label", offset });
        marker.shownLabel = marker.label;
      });
    }
  }

  showIncident(lat, lon) {
    if (this.incident) this.incident.remove();
    this.incident = null;
    if (lat == null || lon == null || Number.isNaN(lat) || Number.isNaN(lon)) return;
    this.incident = L.marker([lat, lon], {
      icon: L.divIcon({ className: "incident-icon", html: "<span></span>", iconSize: [22, 22] }),
    }).addTo(this.map);
  }

  /** The incident's way: the unit sent to it, and the patient on to the chosen hospital. */
  showRoute(incident, hospital, unit) {
    this.route.clearLayers();
    if (!incident || incident.lat == null) return;
    if (unit?.lat != null) {
      L.polyline([[unit.lat, unit.lon], [incident.lat, incident.lon]],
        { color: "#d35400", weight: 3, dashArray: "6 6" }).addTo(this.route);
    }
    if (hospital) {
      L.polyline([[incident.lat, incident.lon], [hospital.lat, hospital.lon]],
        { color: "#0b5cad", weight: 3, dashArray: "2 6" }).addTo(this.route);
      L.circleMarker([hospital.lat, hospital.lon], { radius: 11, color: "#0b5cad", weight: 3, fill: false })
        .bindTooltip(esc(hospital.name_zh || hospital.name), { permanent: true, direction: "left", className: "dest-label" })
        .addTo(this.route);
    }
  }

  /** Frame the service area: posts and units (hospitals may lie far outside it). */
  frame(points) {
    const valid = points.filter(([lat, lon]) => lat != null && lon != null);
    if (valid.length < 2) return;
    this.framing = L.latLngBounds(valid);
    this.map.invalidateSize();
    this.map.fitBounds(this.framing, FRAME_PADDING);
  }
}
