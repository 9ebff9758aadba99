// Wires the panels and polls the API: the transitions feed and census every second, the
// heavier panels every three seconds. Pause stops polling; a hidden tab does not poll.
import { TOKEN, claims, getJson, showFailure } from "./core.js";
import { renderCensus } from "./census.js";
import { renderFlows, flowQuery } from "./flows.js";
import { renderRisk, renderFeed, renderPipeline } from "./feeds.js";
import { renderProposals } from "./proposals.js";
import { showJourney } from "./journey.js";

let paused = false, knownSites = "";

function panel(id, path, render) {
  return getJson(path).then(render, (error) => {
    showFailure(document.getElementById(id), error);
    if (error.status === 401) throw error;
  });
}

function offerSites(sites) {
  if (sites.join(",") === knownSites) return;
  knownSites = sites.join(",");
  const select = document.getElementById("flow-site"), chosen = select.value;
  select.replaceChildren(new Option("All my sites", ""), ...sites.map((s) => new Option(s, s)));
  select.value = sites.includes(chosen) ? chosen : "";
}

function flowsPath() {
  return flowQuery(document.getElementById("flow-site").value,
                   Number(document.getElementById("flow-period").value) || 0);
}

const FAST = () => [panel("census", "/census", (rows) => offerSites(renderCensus(rows))),
                    panel("feed", "/transitions?limit=30", (rows) => renderFeed(rows, showJourney))];
const SLOW = () => [panel("flows", flowsPath(), renderFlows),
                    panel("risk", "/risk-flags", (rows) => renderRisk(rows, showJourney)),
                    panel("proposals", "/proposals?status=open",
                          (rows) => renderProposals(rows, showJourney)),
                    panel("pipeline", "/pipeline", renderPipeline)];

async function refresh(panels) {
  const status = document.getElementById("status");
  try {
    await Promise.all(panels());
    status.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
    status.classList.remove("error");
  } catch (error) {
    status.textContent = error.message;
    status.classList.add("error");
  }
}

// Two loops, so a slow panel (pipeline health asks every service) never delays the feed.
async function every(ms, panels) {
  if (!paused && !document.hidden) await refresh(panels);
  setTimeout(() => every(ms, panels), ms);
}

function showScope() {
  const who = claims();
  const sites = who?.sites?.includes("*") ? "every site" : (who?.sites || []).join(", ");
  document.getElementById("scope").textContent = who
    ? `${who.sub} · ${(who.roles || []).join(", ")} · ${sites}` : (TOKEN ? "" : "no token");
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  showJourney(document.getElementById("client-ref").value.trim());
});
document.getElementById("flow-filter").addEventListener("change",
  () => panel("flows", flowsPath(), renderFlows));
document.getElementById("pause").addEventListener("click", (event) => {
  paused = !paused;
  event.target.setAttribute("aria-pressed", String(paused));
  event.target.textContent = paused ? "Resume updates" : "Pause updates";
});

showScope();
const initial = new URLSearchParams(location.search).get("client");
if (initial) showJourney(initial);
every(1000, FAST);
every(3000, SLOW);
