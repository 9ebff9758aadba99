// The step-up proposals work queue: each open proposal (a relapse-risk flag proposed a more
// intensive level; a clinician confirms or declines it in placement), oldest first as the API
// orders them. Pseudonymous client refs and codes only.
import { el, when, label, clientButton } from "./core.js";

export function age(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60000));
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours} h` : `${Math.floor(hours / 24)} d`;
}

function proposalRow(p, open) {
  return el("tr", { "data-proposal": p.proposal_id, "data-client": p.client_ref, "data-site": p.site_id },
    el("td", {}, clientButton(p.client_ref, open)),
    el("td", { class: "site" }, p.site_id),
    el("td", { class: "move" }, `${label(p.from_level)} → ${label(p.to_level)}`),
    el("td", { class: "flag" }, p.severity === undefined ? ""  // withheld from this role
      : el("span", { class: `pill severity ${p.severity}` }, p.severity), " ",
      el("code", {}, p.flag_id)),
    el("td", { class: "age" }, el("time", { datetime: p.created_at, title: when(p.created_at) },
      age(p.created_at))));
}

export function renderProposals(proposals, open) {
  const target = document.getElementById("proposals");
  if (!proposals.length) {
    target.replaceChildren(el("p", { class: "muted" }, "No step-up proposals waiting."));
    return;
  }
  const head = ["Client", "Site", "Proposed move", "Flag", "Waiting"]
    .map((h) => el("th", { scope: "col" }, h));
  target.replaceChildren(el("table", { "aria-label": "Step-up proposals awaiting a decision" },
    el("thead", {}, el("tr", {}, head)),
    el("tbody", {}, proposals.map((p) => proposalRow(p, open)))));
}
