// The map: an offline basemap (or the site's tiles), footprints of the results, drawing a box.
import L from "leaflet";
import { getJson } from "./api.js";

const FOOTPRINT_PAGE = 1000; // records per request while loading footprints
export const MAX_DRAWN = 10000; // more than this are counted, not drawn: the page stays quick
const SVG_LIMIT = 2000;
const DRAW_CHUNK = 250; // footprints drawn between two frames // up to this many as SVG (crisp, one element each), above on one canvas

const STYLE = { color: "#d9480f", weight: 1.5, fillOpacity: 0.15, fillColor: "#f76707" };
const HOT = { color: "#1864ab", weight: 3, fillOpacity: 0.35, fillColor: "#339af0" };
const POINT = { radius: 5 };

export class CatalogueMap {
  constructor(container, config, { onBox, onPick, onHover }) {
    this.container = container;
    this.onBox = onBox;
    this.onPick = onPick;
    this.onHover = onHover;
    this.layers = new Map();
    this.loading = null;
    this.map = L.map(container, { worldCopyJump: true, minZoom: 1, zoomSnap: 0.5 });
    this.map.setView([20, 0], 2);
    this.footprints = L.layerGroup().addTo(this.map);
    this.boxLayer = null;
    this.status = L.control({ position: "bottomleft" });
    this.status.onAdd = () => {
      this.statusBox = L.DomUtil.create("div", "map-status");
      return this.statusBox;
    };
    this.status.addTo(this.map);
    this.basemap(config);
  }

  async basemap(config) {
    if (config.tile_url) {
      L.tileLayer(config.tile_url, {
        attribution: config.tile_attribution || "",
        maxZoom: 19,
      }).addTo(this.map);
      return;
    }
    // Offline: country outlines from the Natural Earth borders the API already ships.
    this.map.attributionControl.addAttribution("Borders: Natural Earth");
    try {
      const countries = await getJson(config.basemap_url);
      const started = performance.now();
      // A pane of its own below the overlays: footprints are always drawn over the land.
      const pane = this.map.createPane("basemap");
      pane.style.zIndex = "250";
      L.geoJSON(countries, {
        pane: "basemap",
        renderer: L.canvas({ padding: 0.2, pane: "basemap" }),
        interactive: false,
        style: { color: "#868e96", weight: 0.7, fillColor: "#f1f3f5", fillOpacity: 1 },
      })
        .addTo(this.map);
      performance.measure("seedpipe:basemap-drawn", { start: started, end: performance.now() });
      this.container.dataset.basemap = "countries";
    } catch (err) {
      this.container.dataset.basemap = `failed: ${err.message}`;
    }
  }

  // Load and draw the footprints of every result (up to MAX_DRAWN), page after page; the list
  // is fetched at the same time, so the first page's count picks SVG or canvas.
  async showFootprints(params) {
    if (this.loading) this.loading.abort();
    const controller = new AbortController();
    this.loading = controller;
    this.footprints.clearLayers();
    this.layers.clear();
    this.container.dataset.drawn = "0";
    this.container.dataset.done = "false";
    let renderer = null;
    let count = 0;
    let url = `/files?${params}&page_size=${FOOTPRINT_PAGE}`;
    let drawn = 0;
    let first = true;
    try {
      while (url && drawn < MAX_DRAWN) {
        const page = await getJson(url, { signal: controller.signal });
        if (renderer === null) {
          count = page.count;
          renderer = count > SVG_LIMIT ? L.canvas({ padding: 0.3 }) : L.svg({ padding: 0.3 });
        }
        const batch = page.results.slice(0, MAX_DRAWN - drawn);
        for (let i = 0; i < batch.length; i += DRAW_CHUNK) {
          // A few hundred at a time, then let the browser breathe: the page never freezes.
          if (i > 0) await nextFrame();
          if (controller.signal.aborted) return;
          for (const record of batch.slice(i, i + DRAW_CHUNK)) {
            if (this.draw(record, renderer)) drawn += 1;
          }
        }
        this.container.dataset.drawn = String(drawn);
        if (first && drawn) {
          first = false;
          performance.mark("seedpipe:first-footprints");
        }
        this.say(drawn, count, true);
        url = page.next ? relative(page.next) : null;
      }
    } catch (err) {
      if (err.name === "AbortError") return;
      this.say(drawn, count, false, err.message);
      return;
    }
    if (this.loading === controller) this.loading = null;
    this.container.dataset.done = "true";
    this.say(drawn, count, false);
  }

  say(drawn, count, more, error) {
    let text = `${drawn.toLocaleString("en")} footprints drawn`;
    if (count > MAX_DRAWN) text += ` (the first ${MAX_DRAWN.toLocaleString("en")} of ${count.toLocaleString("en")}: narrow the search to see the rest)`;
    else if (more) text += "…";
    if (error) text += `; stopped: ${error}`;
    this.statusBox.textContent = text;
    const note = document.getElementById("drawn-note");
    if (note) note.textContent = count > MAX_DRAWN ? `map: first ${MAX_DRAWN.toLocaleString("en")}` : "";
  }

  draw(record, renderer) {
    const geometry = record.geometry || record.center_point;
    if (!geometry) return false;
    let layer;
    try {
      layer = L.GeoJSON.geometryToLayer(
        { type: "Feature", geometry, properties: {} },
        {
          pointToLayer: (_f, latlng) => L.circleMarker(latlng, { ...STYLE, ...POINT, renderer }),
          style: STYLE,
        },
      );
    } catch {
      return false;
    }
    setRenderer(layer, renderer);
    layer.setStyle && layer.setStyle(STYLE);
    eachPath(layer, (path) => path.options && (path.options.className = "footprint"));
    layer.on("click", () => this.onPick(record.id));
    layer.on("mouseover", () => {
      this.highlight(record.id, true);
      this.onHover(record.id, true);
    });
    layer.on("mouseout", () => {
      this.highlight(record.id, false);
      this.onHover(record.id, false);
    });
    layer.bindTooltip(record.file_name, { sticky: true });
    this.footprints.addLayer(layer);
    this.layers.set(record.id, layer);
    return true;
  }

  highlight(id, on) {
    const layer = this.layers.get(id);
    if (!layer) return;
    layer.setStyle(on ? HOT : STYLE);
    if (on && layer.bringToFront) layer.bringToFront();
  }

  focus(record) {
    const layer = this.layers.get(record.id);
    if (layer && layer.getBounds) {
      const bounds = layer.getBounds();
      if (bounds.isValid() && !this.map.getBounds().contains(bounds)) {
        this.map.fitBounds(bounds, { maxZoom: 8, padding: [40, 40] });
      }
    }
  }

  // ---- a box drawn with the mouse: press, drag, release
  startBox() {
    const map = this.map;
    map.dragging.disable();
    this.container.classList.add("drawing");
    let start = null;
    const move = (event) => {
      if (!start) return;
      this.setBox(boxOf(start, event.latlng), false);
    };
    const down = (event) => {
      start = event.latlng;
      map.on("mousemove", move);
    };
    const up = (event) => {
      if (!start) return;
      map.off("mousedown", down).off("mousemove", move).off("mouseup", up);
      map.dragging.enable();
      this.container.classList.remove("drawing");
      const bbox = boxOf(start, event.latlng);
      this.setBox(bbox, false);
      this.onBox(bbox);
    };
    map.on("mousedown", down).on("mouseup", up);
  }

  setBox(bbox, fit = true) {
    const [w, s, e, n] = bbox;
    const bounds = L.latLngBounds([s, w], [n, e]);
    if (this.boxLayer) this.boxLayer.setBounds(bounds);
    else {
      this.boxLayer = L.rectangle(bounds, {
        color: "#2b8a3e",
        weight: 2,
        dashArray: "6 4",
        fill: false,
        interactive: false,
        className: "search-box",
      }).addTo(this.map);
    }
    if (fit) this.map.fitBounds(bounds, { padding: [30, 30] });
  }

  clearBox() {
    if (this.boxLayer) this.boxLayer.remove();
    this.boxLayer = null;
  }
}

function nextFrame() {
  return new Promise((resolve) => requestAnimationFrame(() => resolve()));
}

function boxOf(a, b) {
  const wrap = (lng) => Math.max(-180, Math.min(180, lng));
  const clamp = (lat) => Math.max(-90, Math.min(90, lat));
  return [
    wrap(Math.min(a.lng, b.lng)),
    clamp(Math.min(a.lat, b.lat)),
    wrap(Math.max(a.lng, b.lng)),
    clamp(Math.max(a.lat, b.lat)),
  ];
}

function eachPath(layer, fn) {
  if (layer.eachLayer) layer.eachLayer((child) => eachPath(child, fn));
  else fn(layer);
}

function setRenderer(layer, renderer) {
  eachPath(layer, (path) => {
    if (path.options) path.options.renderer = renderer;
  });
}

// next links carry the API's public root; the page follows them on its own origin
function relative(href) {
  const url = new URL(href, location.href);
  return `${url.pathname}${url.search}`;
}
