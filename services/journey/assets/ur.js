// The utilization review work queue: per client in care, the payer authorization ending within
// the window, the next concurrent review due, and days in a level no active authorization
// covers; most urgent first, as the API orders them. Pseudonymous client refs and payer codes
// only (the authorization number stays in placement).
import { el, label, clientButton } from "./core.js";

export const FLAGS = { expiring: "authorization ending", review_due: "review due",
                       unauthorized: "no authorization" };

export function urQuery(site, days) {
  const params = new URLSearchParams({ due_within_days: String(days || 7) });
  if (site) params.set("site_id", site);
  return `/ur/queue?${params}`;
}

const day = (iso) => iso ? el("time", { datetime: iso }, iso) : "—";

function approved(auth) {
  if (auth.approved_days) return `${auth.approved_days} days`;
  return auth.approved_sessions ? `${auth.approved_sessions} sessions` : "";
}

function authorization(auth) {
  if (!auth) return el("span", { class: "muted" }, "none active");
  return [el("code", { class: "payer" }, auth.payer_ref), ` · ${approved(auth)} · `,
          day(auth.starts_on), " – ", day(auth.ends_on)];
}

function urRow(item, open) {
  const auth = item.authorization;
  return el("tr", { "data-client": item.client_ref, "data-site": item.site_id,
                    "data-level": item.level, "data-flags": item.flags.join(" "),
                    "data-authorization": auth ? auth.authorization_id : null },
    el("td", {}, clientButton(item.client_ref, open)),
    el("td", { class: "site" }, item.site_id),
    el("td", { class: "level" }, label(item.level)),
    el("td", { class: "since" }, day(item.in_level_since)),
    el("td", { class: "authorization" }, authorization(auth)),
    el("td", { class: "ends-on" }, day(auth ? auth.ends_on : null)),
    el("td", { class: "num days-left" }, item.ends_in_days ?? "—"),
    el("td", { class: "review-due" }, day(item.review_due_on)),
    el("td", { class: `num unauthorized${item.unauthorized_days ? " bad" : ""}` },
      item.unauthorized_days),
    el("td", { class: "flags" }, item.flags.map((f) =>
      el("span", { class: `pill flag-${f}`, "data-flag": f }, FLAGS[f] || f.replace(/_/g, " ")))));
}

export function renderUr(items, open, days) {
  const target = document.getElementById("ur");
  if (!items.length) {
    target.replaceChildren(el("p", { class: "muted" },
      `No authorization ending or review due within ${days} day${days === 1 ? "" : "s"}, and no stay without an authorization.`));
    return;
  }
  const head = ["Client", "Site", "Level", "In level since", "Authorization", "Ends on",
                "Days left", "Review due", "Unauthorized days", "Flags"]
    .map((h, i) => el("th", { scope: "col", class: i === 6 || i === 8 ? "num" : null }, h));
  target.replaceChildren(el("table", { "aria-label": "Utilization review work queue" },
    el("thead", {}, el("tr", {}, head)),
    el("tbody", {}, items.map((item) => urRow(item, open)))));
}
