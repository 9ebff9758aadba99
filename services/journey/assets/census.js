// Census board: per site × level, occupied / capacity, utilisation shading and the waitlist.
import { el, label } from "./core.js";

function band(row) {
  if (!row.capacity) return null;
  const used = row.occupied / row.capacity;
  return used > 1 ? "band-over" : used >= 0.9 ? "band-full" : used >= 0.75 ? "band-warn" : "band-ok";
}

function censusRow(row) {
  const pct = row.capacity ? Math.round(100 * row.occupied / row.capacity) : null;
  return el("tr", { class: band(row), "data-site": row.site_id, "data-level": row.level },
    el("th", { scope: "row" }, label(row.level)),
    el("td", { class: "num occupied" }, row.occupied),
    el("td", { class: "num capacity" }, row.capacity ?? "—"),
    el("td", { class: "num" }, pct === null ? "—" : `${pct}%`,
      pct === null ? null : el("div", { class: "bar", "aria-hidden": "true" },
        el("span", { style: { width: `${Math.min(pct, 100)}%` } }))),
    el("td", { class: "num waitlist" }, row.waitlist));
}

function siteTable(site, rows) {
  const head = ["Level", "Occupied", "Capacity", "Used", "Waitlist"]
    .map((h, i) => el("th", { scope: "col", class: i ? "num" : null }, h));
  return el("div", { "data-site": site }, el("h3", {}, site),
    el("table", { "aria-label": `Census at ${site}` },
      el("thead", {}, el("tr", {}, head)), el("tbody", {}, rows.map(censusRow))));
}

export function renderCensus(rows) {
  const bySite = new Map();
  for (const row of rows) bySite.set(row.site_id, [...(bySite.get(row.site_id) || []), row]);
  const target = document.getElementById("census");
  target.replaceChildren(...[...bySite].map(([site, siteRows]) => siteTable(site, siteRows)));
  if (!rows.length) target.append(el("p", { class: "muted" }, "No sites visible to you."));
  return [...bySite.keys()];
}
