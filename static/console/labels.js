// Map labels that never overlap: each label takes the first free place around its marker, in
// order of importance, and stays hidden when none is free (it comes back on zooming in). The
// layout runs again whenever the map moves, zooms or changes size, or a label changes.

const L = window.L;
const GAP = 2;

/** Places around a marker of radius r for a label w × h, as offsets of its top-left corner. */
function candidates(r, w, h) {
  const d = r + GAP;
  const places = [
    [d, -h / 2], [-d - w, -h / 2], [-w / 2, -d - h], [-w / 2, d],
    [d - 2, -d - h + 3], [d - 2, d - 3], [-d - w + 2, -d - h + 3], [-d - w + 2, d - 3],
  ];
  // Units waiting at one post: their call signs stack beside it.
  for (let step = 1; step <= 3; step += 1) {
    for (const sign of [1, -1]) {
      places.push([d, -h / 2 + sign * step * (h + 1)], [-d - w, -h / 2 + sign * step * (h + 1)]);
    }
  }
  return places;
}

const overlaps = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

export class LabelLayer {
  constructor(map, element) {
    this.map = map;
    this.element = element;
    this.pane = map.createPane("labels");
    this.pane.style.zIndex = 640;
    this.pane.style.pointerEvents = "none";
    this.items = new Map();
    this.sizes = new Map();
    this.frame = null;
    this.layouts = 0;
    map.on("zoomstart", () => { this.pane.style.visibility = "hidden"; });
    map.on("zoomend moveend resize viewreset", () => this.schedule());
  }

  /** Add or change a label. `priority`: lower places first; `radius`: its marker's, in pixels. */
  set(key, { latlng, text, kind, priority, radius = 6, minZoom = 0 }) {
    let item = this.items.get(key);
    if (!item) {
      const el = L.DomUtil.create("div", `map-label ${kind}`, this.pane);
      item = { el };
      this.items.set(key, item);
    }
    if (item.text !== text || item.kind !== kind) {
      item.el.className = `map-label ${kind}`;
      item.el.textContent = text;
      item.size = null;
    }
    Object.assign(item, { latlng: L.latLng(latlng), text, kind, priority, radius, minZoom });
    this.schedule();
  }

  remove(key) {
    const item = this.items.get(key);
    if (!item) return;
    item.el.remove();
    this.items.delete(key);
    this.schedule();
  }

  /** Remove every label whose key starts with the prefix. */
  clear(prefix) {
    for (const key of [...this.items.keys()]) if (key.startsWith(prefix)) this.remove(key);
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = null;
      this.layout();
    });
  }

  measure(item) {
    if (!item.size) {
      item.el.style.display = "";
      item.el.style.transform = "translate(-10000px, -10000px)";
      item.size = { w: Math.ceil(item.el.offsetWidth), h: Math.ceil(item.el.offsetHeight) };
    }
    return item.size;
  }

  layout() {
    const map = this.map;
    const size = map.getSize();
    if (!size.x || !size.y) return;
    const zoom = map.getZoom();
    const topLeft = map.containerPointToLayerPoint([0, 0]);
    const view = { x: topLeft.x, y: topLeft.y, w: size.x, h: size.y };
    const items = [...this.items.entries()]
      .map(([key, item]) => ({ key, item, at: map.latLngToLayerPoint(item.latlng) }))
      .sort((a, b) => a.item.priority - b.item.priority || a.key.localeCompare(b.key));
    // Markers are obstacles too: a label is first tried where it hides no other marker.
    const markers = items.filter(({ at }) => at.x >= view.x && at.x <= view.x + view.w
      && at.y >= view.y && at.y <= view.y + view.h)
      .map(({ key, item, at }) => ({ key, x: at.x - item.radius, y: at.y - item.radius,
        w: 2 * item.radius, h: 2 * item.radius }));
    const placed = [];
    let shown = 0;
    for (const { key, item, at } of items) {
      const inside = at.x >= view.x && at.x <= view.x + view.w && at.y >= view.y && at.y <= view.y + view.h;
      let spot = null;
      if (inside && zoom >= item.minZoom) {
        const { w, h } = this.measure(item);
        const fits = (box) => box.x >= view.x && box.y >= view.y
          && box.x + box.w <= view.x + view.w && box.y + box.h <= view.y + view.h
          && !placed.some((other) => overlaps(box, other));
        const boxes = candidates(item.radius, w, h)
          .map(([dx, dy]) => ({ x: Math.round(at.x + dx), y: Math.round(at.y + dy), w, h }));
        spot = boxes.find((box) => fits(box) && !markers.some((m) => m.key !== key && overlaps(box, m)))
          || boxes.find(fits) || null;
      }
      if (spot) {
        placed.push(spot);
        item.el.style.display = "";
        item.el.style.transform = `translate(${spot.x}px, ${spot.y}px)`;
        shown += 1;
      } else {
        item.el.style.display = "none";
      }
    }
    this.pane.style.visibility = "";
    this.layouts += 1;
    this.element.dataset.labelLayouts = String(this.layouts);
    this.element.dataset.labelsShown = String(shown);
  }
}
