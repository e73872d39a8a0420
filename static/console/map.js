// The console map: zones coloured by status, hospitals, posts, units and the open incident.
// It draws everything as vector layers, so it works with no tile server at all; base map tiles
// are added only when the hub is configured with a tile URL.

import { esc } from "/common/api.js";
import { t } from "/common/i18n.js";

const L = window.L;
const ZONE_COLOURS = { sealed: "#c0182b", controlled: "#e07b00", precaution: "#d8b400", normal: "#6b7c8f" };
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
    this.posts = L.layerGroup().addTo(this.map);
    this.units = new Map();
    this.unitLayer = L.layerGroup().addTo(this.map);
    this.incident = null;
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
      if (this.framing) this.map.fitBounds(this.framing, { padding: [20, 20], maxZoom: 14 });
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
      }).bindTooltip(`🏥 ${esc(h.name_zh || h.name)}${suspended ? " · " + esc(t("suspended")) : ""}`)
        .addTo(this.hospitals);
    }
  }

  drawPosts(posts) {
    this.posts.clearLayers();
    for (const p of posts) {
      L.marker([p.lat, p.lon], {
        icon: L.divIcon({ className: "post-icon", html: "✚", iconSize: [14, 14] }),
      }).bindTooltip(esc(p.name_zh || p.name)).addTo(this.posts);
    }
  }

  updateUnit(unit) {
    if (unit.lat == null || unit.lon == null) return;
    const colour = UNIT_COLOURS[unit.status] || "#333";
    let marker = this.units.get(unit.id);
    if (!marker) {
      marker = L.circleMarker([unit.lat, unit.lon], { radius: 7, weight: 2, fillOpacity: 0.9 })
        .bindTooltip("", { permanent: true, direction: "right", className: "unit-label", offset: [6, 0] })
        .addTo(this.unitLayer);
      this.units.set(unit.id, marker);
    }
    marker.setLatLng([unit.lat, unit.lon]);
    marker.setStyle({ color: "#fff", fillColor: colour });
    marker.setTooltipContent(esc(unit.call_sign || unit.id));
  }

  showIncident(lat, lon) {
    if (this.incident) this.incident.remove();
    this.incident = null;
    if (lat == null || lon == null || Number.isNaN(lat) || Number.isNaN(lon)) return;
    this.incident = L.marker([lat, lon], {
      icon: L.divIcon({ className: "incident-icon", html: "🚑", iconSize: [20, 20] }),
    }).addTo(this.map);
  }

  /** Frame the service area: posts and units (hospitals may lie far outside it). */
  frame(points) {
    const valid = points.filter(([lat, lon]) => lat != null && lon != null);
    if (valid.length < 2) return;
    this.framing = L.latLngBounds(valid);
    this.map.invalidateSize();
    this.map.fitBounds(this.framing, { padding: [20, 20], maxZoom: 14 });
  }
}
