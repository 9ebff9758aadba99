// The live panels: active relapse-risk flags, recent transitions and pipeline health.
import { el, clock, when, label, clientButton } from "./core.js";

const DID = { SteppedUp: "stepped up", ReassessmentRequested: "requested a reassessment",
              StepUpProposed: "proposed a step up", StepUpDeclined: "declined the step up" };

function placementDid(flag) {
  if (!flag.responses.length) return el("span", { class: "muted" }, "no change");
  return flag.responses.map((r) => el("div", { class: "response" }, DID[r.name] || r.name,
    r.to_level ? ` ${label(r.from_level)} → ${label(r.to_level)}` : "",
    el("span", { class: "muted" }, ` at ${clock(r.at)}`)));
}

export function renderRisk(flags, open) {
  const target = document.getElementById("risk");
  if (!flags.length) { target.replaceChildren(el("p", { class: "muted" }, "No active flags.")); return; }
  const head = ["Client", "Site", "Severity", "Indicators", "Placement did", "Flagged"]
    .map((h) => el("th", { scope: "col" }, h));
  target.replaceChildren(el("table", { "aria-label": "Active relapse-risk flags" },
    el("thead", {}, el("tr", {}, head)),
    el("tbody", {}, flags.map((f) => el("tr", { "data-client": f.client_ref, "data-flag": f.flag_id },
      el("td", {}, clientButton(f.client_ref, open)),
      el("td", {}, f.site_id),
      el("td", {}, el("span", { class: `pill severity ${f.severity}` }, f.severity),
        f.score === undefined ? "" : el("div", { class: "muted" }, `score ${f.score.toFixed(1)}`)),
      el("td", { class: "indicators" }, f.indicators === undefined  // withheld: not this role's
        ? el("span", { class: "muted" }, "clinical detail withheld")
        : f.indicators.map((i) => el("div", { title: i.detail },
          el("strong", {}, i.name.replace(/_/g, " ")), `: ${i.detail}`))),
      el("td", { class: "did" }, placementDid(f)),
      el("td", {}, when(f.at)))))));
}

function describe(t) {
  switch (t.kind) {
    case "transferred": return `${t.from_site} → ${t.to_site} (${label(t.to_level || t.from_level || "")})`;
    case "discharged": return `from ${label(t.from_level)}${t.disposition ? ` · ${t.disposition}` : ""}`;
    case "admitted": return `to ${label(t.to_level)}`;
    case "admission_cancelled": return `to ${label(t.to_level)} (no-show)`;
    default: return `${label(t.from_level)} → ${label(t.to_level)}` +
      (t.from_site && t.to_site && t.from_site !== t.to_site ? ` (${t.from_site} → ${t.to_site})` : "");
  }
}

const seen = new Set();

export function renderFeed(transitions, open) {
  const target = document.getElementById("feed");
  if (!transitions.length) { target.replaceChildren(el("li", { class: "muted" }, "No transitions yet.")); return; }
  const first = seen.size === 0;
  const fresh = transitions.filter((t) => !seen.has(t.event_id));
  target.replaceChildren(...transitions.map((t) => el("li", {
      class: !first && fresh.includes(t) ? "fresh" : null, "data-event": t.event_id,
      "data-client": t.client_ref, "data-kind": t.kind },
    el("time", { datetime: t.at, class: "muted" }, clock(t.at)),
    el("div", {}, el("span", { class: `kind ${t.kind}` }, t.kind.replace("_", " ")), " ",
      clientButton(t.client_ref, open), ` ${describe(t)} `, el("span", { class: "muted" }, t.site_id || "")))));
  fresh.forEach((t) => seen.add(t.event_id));
  if (!first && fresh.length) {
    document.getElementById("feed-news").textContent = `· ${fresh.length} new at ${clock(new Date().toISOString())}`;
  }
}

export function renderPipeline(services) {
  const cell = (value, cls) => el("td", { class: `num ${cls}${value ? " bad" : ""}` },
    value === null ? "—" : value);
  const head = ["Service", "State", "Consumer lag", "Outbox backlog", "Dead-lettered", "Retries"]
    .map((h, i) => el("th", { scope: "col", class: i > 1 ? "num" : null }, h));
  document.getElementById("pipeline").replaceChildren(el("table", { "aria-label": "Pipeline health" },
    el("thead", {}, el("tr", {}, head)),
    el("tbody", {}, services.map((s) => el("tr", { "data-service": s.service },
      el("th", { scope: "row" }, s.service),
      el("td", { class: s.reachable ? "" : "bad" }, el("span", { class: `pill ${s.reachable ? "ok" : "high"}` },
        s.reachable ? "up" : "unreachable")),
      cell(s.consumer_lag, "lag"), cell(s.outbox_backlog, "backlog"),
      cell(s.dead_lettered, "dlq"), el("td", { class: "num retries" }, s.retries ?? "—"))))));
}
