// The supervisors' map (/map): records in scope drawn on one canvas over Leaflet, grid-clustered
// at low zoom, with village centres and geofence circles. The data comes as columns from
// /map/data.json (already in the tile source's datum); 100,000 points stay responsive because
// nothing per point lives in the DOM: a redraw is one pass over typed arrays.
import { h, t } from "./ui.js";

const L = window.L;
const root = document.getElementById("map");
const form = document.getElementById("map-filters");
const cfg = root.dataset;

const CLUSTER_UNTIL = 16; // below this zoom, points closer than a cell are drawn as one bubble
const CELL = 58; // cluster cell, CSS pixels; a bubble stays inside its cell, so none overlap
const PAD = 0.2; // the canvas reaches this share of the view beyond each edge (pan without gaps)
const COLOR = { inside: "#1f5fbf", outside: "#e07000", unknown: "#6b7380", meeting: "#7b3fb8" };
const STATUS = ["inside", "outside", "unknown"];
const EARTH_R = 6371008.8;
const touch = window.matchMedia("(pointer: coarse)").matches;

let data = null; // the last answer plus derived typed arrays
let villageLayer = null;
const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
  timeZone: cfg.timezone || "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
  hour: "2-digit", minute: "2-digit",
});

function distanceM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2
    + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_R * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Turn the columns into typed arrays: Web Mercator (0..1), distance and geofence status. */
function prepare(answer) {
  const p = answer.points;
  const n = answer.count;
  const scale = answer.scale;
  const v = answer.villages;
  const mx = new Float64Array(n);
  const my = new Float64Array(n);
  const status = new Uint8Array(n);
  const dist = new Float32Array(n);
  let outside = 0;
  for (let i = 0; i < n; i++) {
    const lat = p.lat[i] / scale;
    const lon = p.lon[i] / scale;
    mx[i] = (lon + 180) / 360;
    const s = Math.sin(Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI / 180);
    my[i] = 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
    const vi = p.v[i];
    if (v.lat[vi] == null) {
      status[i] = 2;
      dist[i] = -1;
    } else {
      dist[i] = distanceM(lat, lon, v.lat[vi], v.lon[vi]);
      status[i] = dist[i] > (v.r[vi] || 1000) ? 1 : 0;
      outside += status[i];
    }
  }
  const raw = atob(p.ids);
  const ids = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) ids[i] = raw.charCodeAt(i);
  return { ...answer, n, mx, my, status, dist, ids, outside };
}

function recordId(i) {
  let hex = "";
  for (let b = i * 16; b < i * 16 + 16; b++) hex += data.ids[b].toString(16).padStart(2, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- The canvas layer ------------------------------------------------------------------

/** The scale bar, its units in the page's language ("500 米", "2 公里"). */
const LocalScale = L.Control.Scale.extend({
  _updateMetric(maxMeters) {
    const metres = this._getRoundNum(maxMeters);
    const text = metres < 1000 ? t("scale_m", { n: metres }) : t("scale_km", { n: metres / 1000 });
    this._updateScale(this._mScale, text, metres / maxMeters);
  },
});

const PointsLayer = L.Layer.extend({
  onAdd(map) {
    this._canvas = L.DomUtil.create("canvas", "map-points leaflet-zoom-animated");
    this._canvas.dataset.testid = "map-points";
    map.getPane("points").appendChild(this._canvas);
    this._hits = [];
    this._draws = 0;
    this.redraw();
  },
  onRemove() {
    L.DomUtil.remove(this._canvas);
  },
  getEvents() {
    return { moveend: this.redraw, resize: this.redraw, zoomanim: this._animateZoom };
  },
  _animateZoom(e) {
    const map = this._map;
    const scale = map.getZoomScale(e.zoom);
    const offset = map._latLngBoundsToNewLayerBounds(this._bounds, e.zoom, e.center).min;
    L.DomUtil.setTransform(this._canvas, offset, scale);
  },
  /** Draw what is in view: bubbles below CLUSTER_UNTIL, single points above. */
  redraw() {
    const map = this._map;
    if (!map) return;
    const started = performance.now();
    const size = map.getSize();
    const pad = size.multiplyBy(PAD).round();
    const w = size.x + 2 * pad.x;
    const hgt = size.y + 2 * pad.y;
    const topLeft = map.containerPointToLayerPoint(pad.multiplyBy(-1));
    this._bounds = L.latLngBounds(map.containerPointToLatLng(pad.multiplyBy(-1)),
      map.containerPointToLatLng(size.add(pad)));
    L.DomUtil.setPosition(this._canvas, topLeft);
    const dpr = window.devicePixelRatio || 1;
    const canvas = this._canvas;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(hgt * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${hgt}px`;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    this._hits = [];
    this._offset = pad;
    if (data && data.n) {
      const zoom = map.getZoom();
      const scale = 256 * 2 ** zoom;
      const min = map.getPixelBounds().min.subtract(pad);
      if (zoom < CLUSTER_UNTIL && zoom < map.getMaxZoom()) this._clusters(ctx, scale, min, w, hgt);
      else this._points(ctx, scale, min, w, hgt);
    }
    this._draws += 1;
    root.dataset.drawMs = (performance.now() - started).toFixed(1);
    root.dataset.draws = String(this._draws);
    root.dispatchEvent(new CustomEvent("map:drawn"));
  },
  _points(ctx, scale, min, w, hgt) {
    const { mx, my, status, n } = data;
    const kind = data.points.k;
    const r = touch ? 6 : 5;
    const paths = { inside: new Path2D(), outside: new Path2D(), unknown: new Path2D(),
      meeting: new Path2D() };
    for (let i = 0; i < n; i++) {
      const x = mx[i] * scale - min.x;
      const y = my[i] * scale - min.y;
      if (x < -r || y < -r || x > w + r || y > hgt + r) continue;
      if (kind[i] === 1) {
        paths.meeting.rect(x - r, y - r, 2 * r, 2 * r);
      } else {
        const path = paths[STATUS[status[i]]];
        path.moveTo(x + r, y);
        path.arc(x, y, r, 0, 2 * Math.PI);
      }
      this._hits.push({ x, y, r, i });
    }
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#fff";
    for (const [name, path] of Object.entries(paths)) {
      ctx.fillStyle = COLOR[name];
      ctx.fill(path);
      ctx.stroke(path);
    }
    // A meeting outside its village's geofence keeps its square but gets the warning ring.
    ctx.strokeStyle = COLOR.outside;
    ctx.lineWidth = 2;
    const ring = new Path2D();
    for (const hit of this._hits) {
      if (kind[hit.i] === 1 && status[hit.i] === 1) ring.rect(hit.x - r - 2, hit.y - r - 2, 2 * r + 4, 2 * r + 4);
    }
    ctx.stroke(ring);
  },
  _clusters(ctx, scale, min, w, hgt) {
    const { mx, my, status, n } = data;
    const cols = Math.ceil(w / CELL) + 1;
    const cells = cols * (Math.ceil(hgt / CELL) + 1);
    const count = new Uint32Array(cells);
    const out = new Uint32Array(cells);
    const sx = new Float64Array(cells);
    const sy = new Float64Array(cells);
    const first = new Int32Array(cells);
    for (let i = 0; i < n; i++) {
      const x = mx[i] * scale - min.x;
      const y = my[i] * scale - min.y;
      if (x < 0 || y < 0 || x >= w || y >= hgt) continue;
      const c = ((x / CELL) | 0) + ((y / CELL) | 0) * cols;
      if (count[c] === 0) first[c] = i;
      count[c] += 1;
      out[c] += status[i] === 1 ? 1 : 0;
      sx[c] += x;
      sy[c] += y;
    }
    const singles = [];
    ctx.font = "600 12px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    for (let c = 0; c < cells; c++) {
      const k = count[c];
      if (k === 0) continue;
      if (k === 1) {
        singles.push(first[c]);
        continue;
      }
      const r = Math.min(21, 10 + Math.log10(k) * 4.5);
      const inset = r + 5;
      const x0 = (c % cols) * CELL;
      const y0 = Math.floor(c / cols) * CELL;
      const x = Math.min(x0 + CELL - inset, Math.max(x0 + inset, sx[c] / k));
      const y = Math.min(y0 + CELL - inset, Math.max(y0 + inset, sy[c] / k));
      ctx.beginPath();
      ctx.arc(x, y, r + 4, 0, 2 * Math.PI);
      ctx.fillStyle = "rgba(31, 95, 191, .2)";
      ctx.fill();
      ctx.beginPath();
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = COLOR.inside;
      ctx.fill();
      if (out[c]) { // the share outside the geofence as an orange arc
        ctx.beginPath();
        ctx.arc(x, y, r + 2, -Math.PI / 2, -Math.PI / 2 + 2 * Math.PI * (out[c] / k));
        ctx.strokeStyle = COLOR.outside;
        ctx.lineWidth = 3;
        ctx.stroke();
      }
      ctx.fillStyle = "#fff";
      ctx.fillText(k > 9999 ? `${Math.round(k / 1000)}k` : String(k), x, y + 0.5);
      this._hits.push({ x, y, r: r + 4, i: -1, count: k });
    }
    const r = touch ? 6 : 5;
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = "#fff";
    for (const i of singles) {
      const x = mx[i] * scale - min.x;
      const y = my[i] * scale - min.y;
      ctx.beginPath();
      if (data.points.k[i] === 1) ctx.rect(x - r, y - r, 2 * r, 2 * r);
      else ctx.arc(x, y, r, 0, 2 * Math.PI);
      ctx.fillStyle = data.points.k[i] === 1 ? COLOR.meeting : COLOR[STATUS[status[i]]];
      ctx.fill();
      ctx.stroke();
      this._hits.push({ x, y, r, i });
    }
  },
  /** Return what was drawn under a container point, nearest first. */
  hitsAt(point) {
    const x = point.x + this._offset.x;
    const y = point.y + this._offset.y;
    const slop = touch ? 10 : 4;
    const found = [];
    for (const hit of this._hits) {
      const d = Math.hypot(hit.x - x, hit.y - y);
      if (d <= hit.r + slop) found.push({ ...hit, d });
    }
    return found.sort((a, b) => a.d - b.d);
  },
});

// --- Popups ------------------------------------------------------------------------------

function when(i) {
  return timeFormat.format(new Date((data.t0 + data.points.t[i] * 60) * 1000));
}

function link(i) {
  const kind = data.kinds[data.points.k[i]];
  const template = kind === "meeting" ? cfg.linkMeeting : cfg.linkVisit;
  return template ? template.replace("{id}", recordId(i)) : null;
}

function distanceLine(i) {
  const vi = data.points.v[i];
  const village = data.villages.name[vi];
  if (data.dist[i] < 0) return h("p", { class: "small muted" }, village, " · ", t("no_centre"));
  const metres = data.dist[i];
  const text = metres >= 1000 ? t("km_from_centre", { km: (metres / 1000).toFixed(1) })
    : t("m_from_centre", { m: Math.round(metres) });
  return h("p", { class: "small" }, `${village} · ${text} `,
    data.status[i] === 1 ? h("span", { class: "badge badge-warn" }, t("outside")) :
      h("span", { class: "badge badge-ok" }, t("inside")));
}

function popupFor(hits) {
  const [first, ...more] = hits;
  const i = first.i;
  const kind = data.kinds[data.points.k[i]];
  const href = link(i);
  const body = h("div", { class: "map-pop", "data-testid": "map-popup" },
    h("p", { class: "map-pop-kind small muted" }, t(kind)),
    h("p", { class: "map-pop-title", "data-testid": "map-popup-label" },
      data.labels[data.points.l[i]] || t("unknown_household")),
    h("p", { class: "small" }, data.cadres.name[data.points.a[i]], " · ", when(i)),
    distanceLine(i),
    href ? h("a", { class: "btn btn-small btn-primary", href, "data-testid": "map-popup-open" },
      t(kind === "meeting" ? "open_meeting" : "open_visit")) : null);
  if (more.length) {
    const list = h("ul", { class: "map-pop-more small" });
    for (const other of more.slice(0, 6)) {
      const label = `${data.labels[data.points.l[other.i]] || t(data.kinds[data.points.k[other.i]])} · ${when(other.i)}`;
      const otherHref = link(other.i);
      list.append(h("li", {}, otherHref ? h("a", { href: otherHref }, label) : label));
    }
    body.append(h("p", { class: "small muted" }, t("more_here", { n: more.length })), list);
  }
  return body;
}

// --- Villages, legend, counts ----------------------------------------------------------------

function drawVillages(map) {
  if (villageLayer) villageLayer.remove();
  villageLayer = L.layerGroup();
  const v = data.villages;
  for (let i = 0; i < v.id.length; i++) {
    if (v.lat[i] == null) continue;
    const centre = [v.lat[i], v.lon[i]];
    L.circle(centre, { radius: v.r[i] || 1000, color: "#c3312a", weight: 1.5, dashArray: "6 5",
      fillColor: "#c3312a", fillOpacity: 0.05, interactive: false }).addTo(villageLayer);
    L.circleMarker(centre, { radius: 6, color: "#fff", weight: 2, fillColor: "#c3312a",
      fillOpacity: 1, interactive: false }).bindTooltip(v.name[i], {
      permanent: true, direction: "top", offset: [0, -6], className: "map-village-label",
      interactive: false }).addTo(villageLayer);
  }
  villageLayer.addTo(map);
}

function fitAll(map) {
  const bounds = L.latLngBounds([]);
  const v = data.villages;
  for (let i = 0; i < v.id.length; i++) {
    if (v.lat[i] != null) bounds.extend(L.latLng(v.lat[i], v.lon[i]).toBounds(2 * (v.r[i] || 1000)));
  }
  if (!bounds.isValid() && data.n) {
    const lats = data.points.lat;
    const lons = data.points.lon;
    const step = Math.max(1, Math.floor(data.n / 2000)); // a sample is enough for the extent
    for (let i = 0; i < data.n; i += step) bounds.extend([lats[i] / data.scale, lons[i] / data.scale]);
  }
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15, animate: false });
  else map.setView([35, 105], 4, { animate: false });
}

const dayFormat = new Intl.DateTimeFormat(document.documentElement.lang || "zh-CN", {
  timeZone: "UTC", year: "numeric", month: "long", day: "numeric",
});

function showCounts() {
  const day = (iso) => dayFormat.format(new Date(`${iso}T00:00:00Z`));
  document.querySelector("[data-period-text]").textContent = `${day(data.start)} – ${day(data.end)}`;
  const visits = data.points.k.reduce((s, k) => s + (k === 0 ? 1 : 0), 0);
  document.querySelector("[data-map-count]").textContent = t("count", { n: data.n.toLocaleString() });
  document.querySelector("[data-map-visits]").textContent = t("visits_n", { n: visits.toLocaleString() });
  const meetings = document.querySelector("[data-map-meetings]");
  meetings.textContent = t("meetings_n", { n: (data.n - visits).toLocaleString() });
  meetings.hidden = !data.kinds.some((k, n) => k === "meeting" && data.points.k.includes(n));
  document.querySelector("[data-map-outside]").textContent = t("outside_n", { n: data.outside.toLocaleString() });
  const unlocated = document.querySelector("[data-map-unlocated]");
  unlocated.textContent = t("unlocated_n", { n: data.unlocated.toLocaleString() });
  unlocated.hidden = data.unlocated === 0;
}

// --- Loading -----------------------------------------------------------------------------

function query() {
  const params = new URLSearchParams(new FormData(form));
  for (const [key, value] of [...params]) if (!value) params.delete(key);
  return params;
}

async function load(map, layer) {
  const status = document.querySelector("[data-map-status]");
  status.textContent = t("loading");
  status.hidden = false;
  root.dataset.ready = "0";
  const started = performance.now();
  try {
    const response = await fetch(`${cfg.dataUrl}?${query()}`, { credentials: "same-origin",
      headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    const answer = await response.json();
    const fetched = performance.now();
    data = prepare(answer);
    root.dataset.fetchMs = (fetched - started).toFixed(0);
    root.dataset.prepareMs = (performance.now() - fetched).toFixed(0);
  } catch (err) {
    status.textContent = t("load_failed");
    return;
  }
  map.closePopup();
  drawVillages(map);
  showCounts();
  fitAll(map);
  layer.redraw();
  root.dataset.points = String(data.n);
  root.dataset.loadMs = (performance.now() - started).toFixed(0);
  root.dataset.ready = "1";
  status.hidden = data.n > 0;
  if (data.n === 0) status.textContent = t("empty");
}

function setUpFilters(map, layer) {
  const period = form.querySelector("[name=period]");
  const custom = form.querySelector("[data-custom-dates]");
  const township = form.querySelector("[name=township]");
  const village = form.querySelector("[name=village]");
  const syncDates = () => { custom.hidden = period.value !== "custom"; };
  const syncVillages = () => { // only the chosen township's villages
    for (const option of village.options) {
      option.hidden = Boolean(township.value && option.dataset.township
        && option.dataset.township !== township.value);
    }
    if (village.selectedOptions[0]?.hidden) village.value = "";
  };
  period.addEventListener("change", syncDates);
  township.addEventListener("change", syncVillages);
  syncDates();
  syncVillages();
  const box = document.getElementById("map-filter-box");
  const summary = box.querySelector("[data-filter-summary]");
  const narrow = window.matchMedia("(max-width: 640px)");
  const describe = () => {
    const parts = [period.selectedOptions[0]?.text];
    for (const select of [township, village, form.querySelector("[name=cadre]")]) {
      if (select && select.value) parts.push(select.selectedOptions[0].text);
    }
    summary.textContent = parts.filter(Boolean).join(" · ");
  };
  describe();
  if (narrow.matches) box.open = false; // on a phone the map comes first
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", `${location.pathname}?${query()}`);
    describe();
    if (narrow.matches) box.open = false;
    load(map, layer);
  });
}

function start() {
  const tiles = Boolean(cfg.tileUrl);
  const map = L.map(root, { preferCanvas: true, zoomControl: false, zoomSnap: tiles ? 1 : 0.5,
    minZoom: 3, maxZoom: Number(cfg.maxZoom) || 18, attributionControl: tiles });
  root.fieldlogMap = map; // for tests and the console
  map.createPane("points").style.zIndex = 450;
  // Leaflet's own words are English: give its controls the page's.
  L.control.zoom({ zoomInTitle: t("zoom_in"), zoomOutTitle: t("zoom_out") }).addTo(map);
  map.on("popupopen", (e) => {
    const close = e.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (close) close.setAttribute("aria-label", t("close"));
  });
  if (tiles) {
    const credit = document.createElement("a");
    credit.href = "https://leafletjs.com";
    credit.textContent = t("map_engine");
    map.attributionControl.setPrefix(credit.outerHTML);
    L.tileLayer(cfg.tileUrl, { subdomains: cfg.tileSubdomains || "abc",
      attribution: cfg.tileAttribution || "", maxZoom: Number(cfg.maxZoom) || 18 }).addTo(map);
  } else {
    root.classList.add("map-no-tiles");
  }
  new LocalScale({ imperial: false }).addTo(map);
  const legend = document.getElementById("map-legend");
  const LegendControl = L.Control.extend({ onAdd: () => legend });
  new LegendControl({ position: "bottomleft" }).addTo(map);
  legend.hidden = false;
  L.DomEvent.disableClickPropagation(legend);

  const layer = new PointsLayer().addTo(map);
  map.on("click", (e) => {
    const hits = layer.hitsAt(e.containerPoint);
    if (!hits.length) return;
    if (hits[0].i < 0) { // a bubble: zoom in on it
      map.setView(e.latlng, Math.min(map.getZoom() + 2, CLUSTER_UNTIL), { animate: true });
      return;
    }
    const points = hits.filter((hit) => hit.i >= 0);
    const i = points[0].i;
    const latlng = L.latLng(data.points.lat[i] / data.scale, data.points.lon[i] / data.scale);
    L.popup({ maxWidth: 280, autoPanPadding: [16, 16] }).setLatLng(latlng)
      .setContent(popupFor(points)).openOn(map);
  });
  if (!touch) {
    map.on("mousemove", (e) => {
      map.getContainer().classList.toggle("map-over-point", layer.hitsAt(e.containerPoint).length > 0);
    });
  }
  setUpFilters(map, layer);
  load(map, layer);
}

start();
