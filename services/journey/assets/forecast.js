// The census forecast of one site and level: expected occupancy per day as a line, its 80%
// interval (low..high) as a shaded band, the capacity line and the occupancy now; under the
// chart, the sentences in which the forecast says what it assumed, and the numbers as a table.
// Each plotted point carries its numbers as data-* attributes.
import { el, svg, label, getJson, showFailure } from "./core.js";

const W = 960, H = 300, LEFT = 44, RIGHT = 96, TOP = 16, BOTTOM = 40, DAY_MS = 86400000;

export function forecastQuery(site, level, days) {
  const params = new URLSearchParams({ site_id: site, level, days: String(days || 14) });
  return `/forecast?${params}`;
}

const dayIndex = (asOf, date) => Math.round((Date.parse(date) - Date.parse(asOf)) / DAY_MS);
const dayLabel = (date) => new Date(`${date}T00:00:00Z`).toLocaleDateString(undefined,
  { weekday: "short", day: "numeric", timeZone: "UTC" });
const fixed = (value) => (typeof value === "number" ? value.toFixed(1) : "—");

function yScale(top) {
  const step = top <= 10 ? 1 : top <= 25 ? 5 : top <= 60 ? 10 : top <= 150 ? 25 : 50;
  const max = Math.max(step, Math.ceil((top * 1.05) / step) * step);
  const ticks = [];
  for (let t = 0; t <= max; t += step) ticks.push(t);
  return { max, ticks, y: (v) => TOP + (H - TOP - BOTTOM) * (1 - v / max) };
}

function chart(f, days) {
  const { ticks, y } = yScale(Math.max(1, f.capacity ?? 0, f.occupied + (f.held ?? 0),
                                       ...days.map((d) => Math.max(d.high, d.expected))));
  const now = { i: 0, expected: f.occupied, low: f.occupied, high: f.occupied };
  const shown = days.map((d, k) => {
    const i = dayIndex(f.as_of, d.date);
    return { ...d, i: Number.isFinite(i) ? i : k + 1 };
  });
  const last = Math.max(1, ...shown.map((d) => d.i));
  const x = (i) => LEFT + (W - LEFT - RIGHT) * (i / last);
  const path = (shown[0]?.i > 0 ? [now, ...shown] : shown);
  const line = path.map((p, k) => `${k ? "L" : "M"}${x(p.i).toFixed(1)},${y(p.expected).toFixed(1)}`);
  const band = [...path.map((p) => `${x(p.i).toFixed(1)},${y(p.high).toFixed(1)}`),
                ...[...path].reverse().map((p) => `${x(p.i).toFixed(1)},${y(p.low).toFixed(1)}`)];
  const step = Math.max(1, Math.ceil(shown.length / 15));
  const describe = `Forecast of ${label(f.level)} at ${f.site_id} over ${shown.length} days`;
  return svg("svg", { class: "forecast-chart", viewBox: `0 0 ${W} ${H}`, role: "img",
                      "aria-label": describe, "data-as-of": f.as_of },
    svg("title", {}, describe),
    svg("g", { class: "axis y" }, ticks.map((t) => svg("g", { class: "tick" },
      svg("line", { x1: LEFT, x2: W - RIGHT, y1: y(t), y2: y(t) }),
      svg("text", { x: LEFT - 6, y: y(t) + 4, "text-anchor": "end" }, t)))),
    svg("polygon", { class: "band", points: band.join(" ") }),
    f.capacity === null || f.capacity === undefined ? null
      : svg("g", { class: "capacity", "data-capacity": f.capacity },
        svg("line", { x1: LEFT, x2: W - RIGHT, y1: y(f.capacity), y2: y(f.capacity) }),
        svg("text", { x: W - RIGHT + 6, y: y(f.capacity) + 4 }, `capacity ${f.capacity}`)),
    svg("path", { class: "expected", d: line.join(" ") }),
    svg("g", { class: "now", "data-occupied": f.occupied },
      svg("circle", { cx: x(0), cy: y(f.occupied), r: 5 }),
      svg("text", { x: x(0) + 8, y: y(f.occupied) - 8 }, `now ${f.occupied}`)),
    svg("g", { class: "points" }, shown.map((d) => svg("circle", {
      class: "point", cx: x(d.i), cy: y(d.expected), r: 3.5, "data-date": d.date,
      "data-expected": d.expected, "data-low": d.low, "data-high": d.high,
      "data-admissions": d.admissions, "data-discharges": d.discharges },
    svg("title", {}, `${d.date}: expected ${fixed(d.expected)} (80%: ${d.low}–${d.high}), ` +
                     `${fixed(d.admissions)} admissions, ${fixed(d.discharges)} discharges`)))),
    svg("g", { class: "axis x" }, shown.filter((_, k) => k % step === 0).map((d) =>
      svg("text", { class: "day", x: x(d.i), y: H - BOTTOM + 18, "text-anchor": "middle",
                    "data-date": d.date }, dayLabel(d.date)))));
}

// Exits split into steps down and up when the forecast gives them.
function table(days) {
  const steps = days.every((d) => typeof d.step_downs === "number" && typeof d.step_ups === "number");
  const head = ["Date", "Expected", "80% low", "80% high", "Admissions", "Discharges",
                ...(steps ? ["of which steps down", "steps up"] : [])]
    .map((h, i) => el("th", { scope: "col", class: i ? "num" : null }, h));
  return el("details", {}, el("summary", {}, "The same as a table"),
    el("table", { class: "forecast-days", "aria-label": "Forecast per day" },
      el("thead", {}, el("tr", {}, head)),
      el("tbody", {}, days.map((d) => el("tr", { "data-date": d.date },
        el("th", { scope: "row" }, d.date), el("td", { class: "num expected" }, fixed(d.expected)),
        el("td", { class: "num low" }, d.low), el("td", { class: "num high" }, d.high),
        el("td", { class: "num admissions" }, fixed(d.admissions)),
        el("td", { class: "num discharges" }, fixed(d.discharges)),
        steps ? [el("td", { class: "num step-downs" }, fixed(d.step_downs)),
                 el("td", { class: "num step-ups" }, fixed(d.step_ups))] : null)))));
}

const assumed = (value) => (value !== null && typeof value === "object"
  ? JSON.stringify(value) : String(value));

function assumptions(given) {
  const entries = Object.entries(given || {});
  if (!entries.length) return null;
  return el("details", {}, el("summary", {}, "The numbers it used"),
    el("dl", { class: "assumptions" }, entries.map(([key, value]) =>
      [el("dt", {}, key.replace(/_/g, " ")), el("dd", { "data-key": key }, assumed(value))])));
}

function summary(f, days) {
  const end = days[days.length - 1];
  return el("p", { class: "forecast-of" }, el("strong", {}, `${f.site_id} · ${label(f.level)}`),
    " as of ", el("time", { class: "as-of", datetime: f.as_of }, f.as_of), ": ",
    el("span", { class: "occupied" }, f.occupied), " occupied, ",
    el("span", { class: "held" }, f.held ?? "—"), " held, ",
    typeof f.waiting === "number" ? [el("span", { class: "waiting" }, f.waiting), " waiting, "] : "",
    "capacity ",
    el("span", { class: "capacity" }, f.capacity ?? "—"),
    end ? `; on ${end.date} expected ${fixed(end.expected)} (80%: ${end.low}–${end.high})` : "");
}

export function renderForecast(f) {
  const target = document.getElementById("forecast");
  const days = [...(f.days || [])].sort((p, q) => p.date.localeCompare(q.date));
  const explained = el("ul", { class: "explained" }, (f.explained || []).map((s) => el("li", {}, s)));
  if (!days.length) {
    target.replaceChildren(summary(f, days),
      el("p", { class: "muted" }, "No days forecast for this site and level."), explained);
    return;
  }
  target.replaceChildren(summary(f, days), chart(f, days), explained, assumptions(f.assumptions),
                         table(days));
}

let asked = 0;

// The selected site, level and horizon; a later choice wins over an answer still on its way.
export function loadForecast() {
  const site = document.getElementById("forecast-site").value;
  const level = document.getElementById("forecast-level").value;
  const days = Number(document.getElementById("forecast-days").value) || 14;
  const target = document.getElementById("forecast");
  if (!site || !level) return Promise.resolve();
  const mine = ++asked;
  return getJson(forecastQuery(site, level, days)).then((f) => { if (mine === asked) renderForecast(f); },
    (error) => {
      if (mine !== asked) return;
      if (error.status === 404) {
        target.replaceChildren(el("p", { class: "muted" },
          `No forecast for ${label(level)} at ${site}: ${error.message}`));
      } else showFailure(target, error);
      if (error.status === 401) throw error;
    });
}

// Offers the sites and, for the chosen site, its levels; keeps a choice still offered.
export function offerForecast(levelsBySite) {
  const siteSelect = document.getElementById("forecast-site");
  const levelSelect = document.getElementById("forecast-level");
  const sites = [...levelsBySite.keys()];
  if (!sites.length) {
    document.getElementById("forecast").replaceChildren(
      el("p", { class: "muted" }, "No sites visible to you."));
  }
  const site = sites.includes(siteSelect.value) ? siteSelect.value : sites[0] || "";
  if ([...siteSelect.options].map((o) => o.value).join() !== sites.join()) {
    siteSelect.replaceChildren(...sites.map((s) => new Option(s, s)));
  }
  siteSelect.value = site;
  const levels = levelsBySite.get(site) || [];
  const level = levels.includes(levelSelect.value) ? levelSelect.value
    : levels.includes("residential") ? "residential" : levels[0] || "";
  if ([...levelSelect.options].map((o) => o.value).join() !== levels.join()) {
    levelSelect.replaceChildren(...levels.map((l) => new Option(label(l), l)));
  }
  levelSelect.value = level;
}
