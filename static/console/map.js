// The console map: a street base map, zones coloured by status, hospitals, posts, units and the
// open incident. Everything is drawn as vector layers from files the hub serves, so it works with
// no tile server at all; a configured tile URL replaces the bundled streets.

import { esc } from "/common/api.js";
import { named, t } from "/common/i18n.js";
import { LabelLayer } from "./labels.js";

const L = window.L;
const ZONE_COLOURS = { sealed: "#c0182b", controlled: "#e07b00", precaution: "#d8b400", normal: "#6b7c8f" };
// Room on the right for the units' call-sign labels.
const FRAME_PADDING = { paddingTopLeft: [20, 20], paddingBottomRight: [70, 20], maxZoom: 14 };
// Streets by class: [colour, width at zoom 10, width at zoom 15].
const STREETS = {
  motorway: ["#e79a3c", 2.6, 7], trunk: ["#f0b54f", 2.2, 6], primary: ["#f6cf6c", 1.6, 5],
  secondary: ["#fbfbf6", 1.1, 4], tertiary: ["#ffffff", 0.6, 3],
};
const STREET_CASING = "#b9c2cb";
// Which labels win a place first: the destination, then units, posts, hospitals, street names.
const PRIORITY = { dest: 0, unit: 10, post: 20, hospital: 30, street: 100 };
const UNIT_COLOURS = {
  available: "#1d7a3a", assigned: "#c79100", acknowledged: "#c79100", en_route: "#d35400",
  on_scene: "#d35400", transporting: "#0b5cad", at_hospital: "#0b5cad", handover_done: "#0b5cad",
  disinfecting: "#7b3fb3", out_of_service: "#8a96a3",
};

const nameOf = named; // a place's name in the language of the screen

export class ConsoleMap {
  constructor(element, config, { onPick }) {
    this.map = L.map(element, { zoomControl: true, attributionControl: true, zoomSnap: 0.25 })
      .setView([config.centre.lat, config.centre.lon], config.zoom || 11);
    this.map.attributionControl.setPrefix(false);
    this.labels = new LabelLayer(this.map, element);
    if (config.tiles_url) {
      L.tileLayer(config.tiles_url, { attribution: config.tiles_attribution || "", maxZoom: 19 })
        .addTo(this.map);
    } else if (config.streets_url) {
      this.loadStreets(config.streets_url);
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

  /** The bundled streets (GeoJSON lines with `class` and `name`), under every other layer. */
  async loadStreets(url) {
    let data;
    try {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      data = await response.json();
    } catch (error) {
      console.warn("no street base map", url, error);
      return;
    }
    this.map.createPane("streets").style.zIndex = 250;
    const renderer = L.canvas({ pane: "streets", padding: 0.3 });
    const style = (feature, casing) => {
      const [colour, low, high] = STREETS[feature.properties.class] || STREETS.tertiary;
      const k = Math.min(1, Math.max(0, (this.map.getZoom() - 10) / 5));
      const weight = low + (high - low) * k;
      return { renderer, color: casing ? STREET_CASING : colour, weight: casing ? weight + 1.2 : weight,
        opacity: 1, lineCap: "round", lineJoin: "round", interactive: !casing };
    };
    // Minor classes first, so the major roads are drawn over them.
    const order = Object.keys(STREETS).reverse();
    const features = [...data.features].sort((a, b) =>
      order.indexOf(a.properties.class) - order.indexOf(b.properties.class));
    const collection = { type: "FeatureCollection", features };
    const casing = L.geoJSON(collection, { style: (f) => style(f, true) });
    const streets = L.geoJSON(collection, {
      style: (f) => style(f, false),
      attribution: data.attribution || "",
      onEachFeature: (feature, layer) => {
        if (feature.properties.name) layer.bindTooltip(esc(feature.properties.name), { sticky: true });
      },
    });
    this.streets = L.layerGroup([casing, streets]).addTo(this.map);
    this.map.getContainer().dataset.streets = String(features.length);
    this.map.on("zoomend", () => {
      casing.setStyle((f) => style(f, true));
      streets.setStyle((f) => style(f, false));
    });
    // One name per street, at the middle of its longest piece, once the streets can be told apart.
    const longest = new Map();
    for (const feature of data.features) {
      const { name } = feature.properties;
      const line = feature.geometry.coordinates;
      if (!name || line.length < 2) continue;
      const length = line.slice(1).reduce((sum, [x, y], i) => sum + Math.hypot(x - line[i][0], y - line[i][1]), 0);
      if (!longest.has(name) || longest.get(name).length < length) longest.set(name, { length, line });
    }
    for (const [name, { line }] of longest) {
      const [lon, lat] = line[Math.floor(line.length / 2)];
      this.labels.set(`street:${name}`, { latlng: [lat, lon], text: name, kind: "street-label",
        priority: PRIORITY.street, radius: 0, minZoom: 13 });
    }
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
    this.hospitalRows = hospitals;
    this.hospitals.clearLayers();
    this.labels.clear("hospital:");
    for (const h of hospitals) {
      const suspended = h.status === "suspended";
      L.circleMarker([h.lat, h.lon], {
        radius: 6, color: suspended ? "#8a96a3" : "#b0003a", weight: 2,
        fillColor: suspended ? "#d7dde4" : "#ffffff", fillOpacity: 1, dashArray: suspended ? "2 3" : null,
      }).bindTooltip(() => `${esc(nameOf(h))}${suspended ? " · " + esc(t("suspended")) : ""}`)
        .bindPopup(() => `<b>${esc(nameOf(h))}</b><br>${esc(t(h.status))}${h.status_reason ? ` · ${esc(h.status_reason)}` : ""}
          <br>${esc((h.capabilities || []).map((c) => t(c)).join(", "))}${h.phone ? `<br>${esc(h.phone)}` : ""}`)
        .addTo(this.hospitals);
      if (h.id === this.destination?.id) continue;
      this.labels.set(`hospital:${h.id}`, { latlng: [h.lat, h.lon], text: nameOf(h),
        kind: suspended ? "hospital-label suspended" : "hospital-label", priority: PRIORITY.hospital, radius: 7 });
    }
  }

  drawPosts(posts) {
    this.postRows = posts;
    this.posts.clearLayers();
    this.labels.clear("post:");
    for (const p of posts) {
      L.marker([p.lat, p.lon], {
        pane: "posts", icon: L.divIcon({ className: "post-icon", html: "✚", iconSize: [18, 18] }),
      }).bindTooltip(() => esc(nameOf(p))).addTo(this.posts);
      this.labels.set(`post:${p.id}`, { latlng: [p.lat, p.lon], text: nameOf(p), kind: "post-label",
        priority: PRIORITY.post, radius: 9 });
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
        .bindTooltip(() => esc(marker.unit.call_sign || marker.unit.id))
        .addTo(this.unitLayer);
      this.units.set(unit.id, marker);
    }
    marker.unit = unit;
    marker.setLatLng([unit.lat, unit.lon]);
    marker.setStyle({ color: "#fff", fillColor: colour });
    this.labels.set(`unit:${unit.id}`, { latlng: [unit.lat, unit.lon], text: unit.call_sign || unit.id,
      kind: "unit-label", priority: PRIORITY.unit, radius: 8 });
  }

  /** Labels again in the language now chosen. */
  relabel() {
    if (this.hospitalRows) this.drawHospitals(this.hospitalRows);
    if (this.postRows) this.drawPosts(this.postRows);
    if (this.destination) this.setDestinationLabel(this.destination);
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
    if (!incident || incident.lat == null) {
      this.clearDestination();
      return;
    }
    if (unit?.lat != null) {
      L.polyline([[unit.lat, unit.lon], [incident.lat, incident.lon]],
        { color: "#d35400", weight: 3, dashArray: "6 6" }).addTo(this.route);
    }
    if (this.destination?.id !== hospital?.id) this.clearDestination();
    if (hospital) {
      L.polyline([[incident.lat, incident.lon], [hospital.lat, hospital.lon]],
        { color: "#0b5cad", weight: 3, dashArray: "2 6" }).addTo(this.route);
      L.circleMarker([hospital.lat, hospital.lon], { radius: 11, color: "#0b5cad", weight: 3, fill: false })
        .addTo(this.route);
      this.setDestinationLabel(hospital);
    }
  }

  setDestinationLabel(hospital) {
    // The chosen hospital's own label gives way to this one.
    this.destination = hospital;
    this.labels.set("dest", { latlng: [hospital.lat, hospital.lon], text: nameOf(hospital),
      kind: "dest-label", priority: PRIORITY.dest, radius: 12 });
    if (hospital.id) this.labels.remove(`hospital:${hospital.id}`);
  }

  /** Frame the service area: posts and units (hospitals may lie far outside it). */
  frame(points) {
    const valid = points.filter(([lat, lon]) => lat != null && lon != null);
    if (valid.length < 2) return;
    this.framing = L.latLngBounds(valid);
    this.map.invalidateSize();
    this.map.fitBounds(this.framing, FRAME_PADDING);
  }

  clearDestination() {
    if (!this.destination) return;
    this.destination = null;
    this.labels.remove("dest");
    if (this.hospitalRows) this.drawHospitals(this.hospitalRows);
  }
}
