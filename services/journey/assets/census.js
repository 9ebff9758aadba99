// Census board: per site × level, occupied / held / free of capacity, utilisation shading and
// the waitlist. `held` and `free` come from bed holds (a held bed counts against capacity until
// it is used, released or expires); a journey that does not send them shows "—".
import { el, label } from "./core.js";

const held = (row) => (typeof row.held === "number" ? row.held : null);

// Shaded by the beds taken: occupied and held.
function band(row) {
  if (!row.capacity) return null;
  const used = (row.occupied + (held(row) ?? 0)) / row.capacity;
  return used > 1 ? "band-over" : used >= 0.9 ? "band-full" : used >= 0.75 ? "band-warn" : "band-ok";
}

function bar(row, pct) {
  if (pct === null) return null;
  const heldPct = held(row) ? Math.min(100 * held(row) / row.capacity, Math.max(0, 100 - pct)) : 0;
  return el("div", { class: "bar", "aria-hidden": "true" },
    el("span", { style: { width: `${Math.min(pct, 100)}%` } }),
    heldPct ? el("span", { class: "held", style: { width: `${heldPct}%` } }) : null);
}

function censusRow(row) {
  const pct = row.capacity ? Math.round(100 * row.occupied / row.capacity) : null;
  return el("tr", { class: band(row), "data-site": row.site_id, "data-level": row.level },
    el("th", { scope: "row" }, label(row.level)),
    el("td", { class: "num occupied" }, row.occupied),
    el("td", { class: "num held" }, held(row) ?? "—"),
    el("td", { class: "num free" }, typeof row.free === "number" ? row.free : "—"),
    el("td", { class: "num capacity" }, row.capacity ?? "—"),
    el("td", { class: "num" }, pct === null ? "—" : `${pct}%`, bar(row, pct)),
    el("td", { class: "num waitlist" }, row.waitlist));
}

function siteTable(site, rows) {
  const head = ["Level", "Occupied", "Held", "Free", "Capacity", "Used", "Waitlist"]
    .map((h, i) => el("th", { scope: "col", class: i ? "num" : null }, h));
  return el("div", { "data-site": site }, el("h3", {}, site),
    el("table", { "aria-label": `Census at ${site}` },
      el("thead", {}, el("tr", {}, head)), el("tbody", {}, rows.map(censusRow))));
}

// Returns the levels of each site shown, for the panels that choose a site (and a level).
export function renderCensus(rows) {
  const bySite = new Map();
  for (const row of rows) bySite.set(row.site_id, [...(bySite.get(row.site_id) || []), row]);
  const target = document.getElementById("census");
  target.replaceChildren(...[...bySite].map(([site, siteRows]) => siteTable(site, siteRows)));
  if (!rows.length) target.append(el("p", { class: "muted" }, "No sites visible to you."));
  return new Map([...bySite].map(([site, siteRows]) => [site, siteRows.map((r) => r.level)]));
}
