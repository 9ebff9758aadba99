// Flows as a Sankey-style diagram in inline SVG: one column per stage (referral, the levels,
// discharge), bands as wide as their count; forward moves that skip a stage arc above, step-ups
// (back to a more intensive level) arc below.
import { el, svg, label } from "./core.js";

const STAGES = ["referral", "residential", "php", "iop", "aftercare", "discharged"];
const W = 960, MID = 170, NODE_W = 14, MAX_BAND = 70, MARGIN = 50;

function layout(rows) {
  const stages = [...STAGES];
  for (const r of rows) for (const s of [r.from_level, r.to_level]) if (!stages.includes(s)) stages.push(s);
  const through = new Map(stages.map((s) => [s, { in: 0, out: 0 }]));
  for (const r of rows) { through.get(r.from_level).out += r.count; through.get(r.to_level).in += r.count; }
  const biggest = Math.max(1, ...[...through.values()].map((t) => Math.max(t.in, t.out)));
  const scale = MAX_BAND / biggest;
  const step = (W - 2 * MARGIN) / (stages.length - 1);
  const nodes = new Map(stages.map((s, i) => {
    const height = Math.max(6, scale * Math.max(through.get(s).in, through.get(s).out));
    return [s, { x: MARGIN + i * step, y: MID - height / 2, height, index: i, value: through.get(s),
                 outAt: MID - height / 2, inAt: MID - height / 2 }];
  }));
  return { nodes, scale };
}

function bandPath(a, b, width) {
  const from = a.index, to = b.index;
  if (to > from) {
    const y0 = a.outAt + width / 2, y1 = b.inAt + width / 2;
    a.outAt += width; b.inAt += width;
    const x0 = a.x + NODE_W, x1 = b.x;
    if (to === from + 1) {
      const mx = (x0 + x1) / 2;
      return { d: `M${x0},${y0} C${mx},${y0} ${mx},${y1} ${x1},${y1}`, at: [mx, (y0 + y1) / 2] };
    }
    const lift = 30 + 25 * (to - from), reach = (x1 - x0) / 4;
    const top = Math.min(y0, y1) - lift;
    return { d: `M${x0},${y0} C${x0 + reach},${top} ${x1 - reach},${top} ${x1},${y1}`,
             at: [(x0 + x1) / 2, (y0 + y1 + 6 * top) / 8] };
  }
  const x0 = a.x + NODE_W / 2, x1 = b.x + NODE_W / 2;
  const y0 = a.y + a.height, y1 = b.y + b.height;
  const drop = Math.max(y0, y1) + 40 + 25 * (from - to);
  return { d: `M${x0},${y0} C${x0},${drop} ${x1},${drop} ${x1},${y1}`,
           at: [(x0 + x1) / 2, (y0 + y1 + 6 * drop) / 8] };
}

function link(row, nodes, scale) {
  const a = nodes.get(row.from_level), b = nodes.get(row.to_level);
  const width = Math.max(2, row.count * scale);
  const up = b.index < a.index;
  const { d, at } = bandPath(a, b, width);
  const text = `${label(row.from_level)} → ${label(row.to_level)}: ${row.count}`;
  return svg("g", { class: `link${up ? " up" : ""}`, tabindex: "0", role: "img", "aria-label": text,
                    "data-from": row.from_level, "data-to": row.to_level, "data-count": row.count },
    svg("title", {}, text),
    svg("path", { d, "stroke-width": width, stroke: `var(--${row.to_level}, var(--accent))` }),
    svg("text", { class: "count", x: at[0], y: at[1] + 4, "text-anchor": "middle" }, row.count));
}

function node(stage, n) {
  return svg("g", { class: "node", "data-stage": stage },
    svg("rect", { x: n.x, y: n.y, width: NODE_W, height: n.height, rx: 3,
                  fill: `var(--${stage}, var(--referral))` }),
    svg("text", { x: n.x + NODE_W / 2, y: n.y - 8,
                  "text-anchor": "middle" }, label(stage)));
}

function table(rows) {
  return el("details", {}, el("summary", {}, "The same as a table"),
    el("table", { "aria-label": "Flows" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "From"), el("th", { scope: "col" }, "To"),
        el("th", { scope: "col", class: "num" }, "Moves"))),
      el("tbody", {}, rows.map((r) => el("tr", {}, el("td", {}, label(r.from_level)),
        el("td", {}, label(r.to_level)), el("td", { class: "num" }, r.count))))));
}

export function renderFlows(rows) {
  const target = document.getElementById("flows");
  if (!rows.length) { target.replaceChildren(el("p", { class: "muted" }, "No moves in this period.")); return; }
  const { nodes, scale } = layout(rows);
  const ordered = [...rows].sort((p, q) => nodes.get(p.to_level).index - nodes.get(q.to_level).index);
  const links = ordered.map((r) => link(r, nodes, scale));
  const used = [...nodes].filter(([, n]) => n.value.in || n.value.out);
  const picture = svg("svg", { class: "sankey", viewBox: `0 0 ${W} 340`, role: "group",
                               "aria-label": "Flows between levels of care" },
    links, used.map(([stage, n]) => node(stage, n)));
  target.replaceChildren(picture, table(rows));
}

export function flowQuery(site, days) {
  const params = new URLSearchParams();
  if (site) params.set("site_id", site);
  if (days) params.set("since", new Date(Date.now() - days * 86400000).toISOString());
  return params.toString() ? `/flows?${params}` : "/flows";
}
