// A client's journey: per episode a timeline of level segments (width by length of stay), the
// segments as a table, then every event with what caused it and its trace.
import { el, getJson, when, short, label } from "./core.js";

const TRACE_URL = document.querySelector('meta[name="carepath-trace-url"]')?.content || "";
// Interop's FHIR base: each episode links to its EpisodeOfCare resource (docs/interop.md).
const FHIR_URL = document.querySelector('meta[name="carepath-fhir-url"]')?.content || "";

function fhirLink(episodeId) {
  if (!FHIR_URL) return null;
  const reference = `EpisodeOfCare/${episodeId}`;
  return el("a", { class: "fhir-link", href: `${FHIR_URL}/${reference}`, target: "_blank",
                   rel: "noopener noreferrer", title: "FHIR R4 EpisodeOfCare (send a bearer token)" },
    ` FHIR ${reference.slice(0, 22)}…`);
}

function timeline(segments) {
  const total = segments.reduce((sum, s) => sum + Math.max(s.los_days, 0.01), 0);
  return el("div", { class: "timeline", role: "img",
                     "aria-label": segments.map((s) => `${label(s.level)} ${s.los_days} days`).join(", ") },
    segments.map((s) => el("div", { class: `lvl-${s.level}`, title: `${label(s.level)} at ${s.site_id}: ${s.los_days} days`,
                                    style: { flex: String(Math.max(s.los_days, 0.01) / total) } },
      `${label(s.level)} · ${s.los_days.toFixed(2)} d`)));
}

function segmentTable(segments) {
  const head = ["Level", "Site", "Started", "Ended", "Length of stay (days)", "Ended by"]
    .map((h, i) => el("th", { scope: "col", class: i === 4 ? "num" : null }, h));
  return el("div", { class: "scroll" }, el("table", { class: "segments", "aria-label": "Level segments" },
    el("thead", {}, el("tr", {}, head)),
    el("tbody", {}, segments.map((s) => el("tr", { "data-level": s.level, "data-site": s.site_id },
      el("td", { class: "level" }, label(s.level)), el("td", { class: "site" }, s.site_id),
      el("td", {}, when(s.started_at)), el("td", {}, s.ended_at ? when(s.ended_at) : "ongoing"),
      el("td", { class: "num los" }, s.los_days.toFixed(2)), el("td", {}, s.end_reason || "—"))))));
}

function highlightTrace(traceId) {
  for (const row of document.querySelectorAll("#journey tr[data-trace]")) {
    row.classList.toggle("hl", row.dataset.trace === traceId);
  }
}

function traceCell(traceId) {
  if (!traceId) return "—";
  if (TRACE_URL) {
    return el("a", { href: TRACE_URL.replace("{trace_id}", traceId), target: "_blank",
                     rel: "noopener noreferrer", title: traceId }, short(traceId));
  }
  return el("button", { type: "button", class: "link", title: `Highlight the events of trace ${traceId}`,
                        onclick: () => highlightTrace(traceId) }, short(traceId));
}

function eventTable(events) {
  const head = ["Time", "Event", "Id", "Caused by", "Trace", "Source"].map((h) => el("th", { scope: "col" }, h));
  return el("div", { class: "scroll" }, el("table", { class: "events", "aria-label": "Events" },
    el("thead", {}, el("tr", {}, head)),
    el("tbody", {}, events.map((e) => el("tr", { id: `ev-${e.id}`, "data-trace": e.trace_id || "" },
      el("td", {}, when(e.time)), el("td", {}, e.name),
      el("td", {}, el("code", { title: e.id }, short(e.id))),
      el("td", {}, e.causation_id ? el("a", { href: `#ev-${e.causation_id}`, title: e.causation_id },
        short(e.causation_id)) : "root"),
      el("td", {}, traceCell(e.trace_id)), el("td", {}, e.source))))));
}

function renderJourney(journey) {
  const episodes = journey.episodes.map((ep) => el("div", { class: "episode", "data-episode": ep.episode_id },
    el("h3", {}, `Episode ${short(ep.episode_id)} at ${ep.site_id} `,
      el("span", { class: `pill ${ep.status}` }, ep.status), ep.disposition ? ` (${ep.disposition})` : null,
      ep.los_days === null ? null : el("span", { class: "muted episode-los" }, ` · ${ep.los_days.toFixed(2)} days`),
      fhirLink(ep.episode_id)),
    ep.segments.length ? [timeline(ep.segments), segmentTable(ep.segments)]
      : el("p", { class: "muted" }, "No level segments yet.")));
  document.getElementById("journey").replaceChildren(
    el("p", { class: "journey-of" }, el("strong", {}, journey.client_ref),
      ` · ${journey.episodes.length} episode(s) · ${journey.events.length} event(s)`),
    ...episodes, el("h3", {}, "Every event, in order"), eventTable(journey.events));
}

export async function showJourney(ref) {
  document.getElementById("client-ref").value = ref;
  const section = document.getElementById("journey-section");
  const target = document.getElementById("journey");
  target.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  section.scrollIntoView({ block: "start" });
  section.focus({ preventScroll: true });
  try {
    renderJourney(await getJson(`/clients/${encodeURIComponent(ref)}/journey`));
    history.replaceState(null, "", `?client=${encodeURIComponent(ref)}`);
  } catch (error) {
    const text = error.status === 404 ? `No events for ${ref} that you may see.`
      : error.status === 403 ? "Client journeys are not available for your role."
      : `Could not load: ${error.message}`;
    target.replaceChildren(el("p", { class: "error" }, text));
  }
}
