// Wires the panels and polls the API: the transitions feed and census every second, the
// heavier panels every three seconds, the planning panels (the utilization review queue and the
// census forecast, which change by the day) every ten. Pause stops polling; a hidden tab does
// not poll.
import { TOKEN, claims, getJson, showFailure } from "./core.js";
import { renderCensus } from "./census.js";
import { renderFlows, flowQuery } from "./flows.js";
import { renderRisk, renderFeed, renderPipeline } from "./feeds.js";
import { renderProposals } from "./proposals.js";
import { showJourney } from "./journey.js";
import { renderUr, urQuery } from "./ur.js";
import { loadForecast, offerForecast } from "./forecast.js";

let paused = false, knownSites = "", levelsBySite = new Map();

function panel(id, path, render) {
  return getJson(path).then(render, (error) => {
    showFailure(document.getElementById(id), error);
    if (error.status === 401) throw error;
  });
}

// The site filters offer the sites the census shows; the forecast also the levels of each.
function offerSites(levels) {
  const known = JSON.stringify([...levels]);
  if (known === knownSites) return;
  const first = !knownSites;
  knownSites = known;
  levelsBySite = levels;
  const sites = [...levels.keys()];
  for (const id of ["flow-site", "ur-site"]) {
    const select = document.getElementById(id), chosen = select.value;
    select.replaceChildren(new Option("All my sites", ""), ...sites.map((s) => new Option(s, s)));
    select.value = sites.includes(chosen) ? chosen : "";
  }
  offerForecast(levels);
  if (first) loadForecast().catch(() => {});
}

function flowsPath() {
  return flowQuery(document.getElementById("flow-site").value,
                   Number(document.getElementById("flow-period").value) || 0);
}

function urWindow() {
  return Number(document.getElementById("ur-window").value) || 7;
}

const urPanel = () => panel("ur", urQuery(document.getElementById("ur-site").value, urWindow()),
                            (items) => renderUr(items, showJourney, urWindow()));

const FAST = () => [panel("census", "/census", (rows) => offerSites(renderCensus(rows))),
                    panel("feed", "/transitions?limit=30", (rows) => renderFeed(rows, showJourney))];
const SLOW = () => [panel("flows", flowsPath(), renderFlows),
                    panel("risk", "/risk-flags", (rows) => renderRisk(rows, showJourney)),
                    panel("proposals", "/proposals?status=open",
                          (rows) => renderProposals(rows, showJourney)),
                    panel("pipeline", "/pipeline", renderPipeline)];
const PLAN = () => [urPanel(), loadForecast()];

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
document.getElementById("ur-filter").addEventListener("change", () => urPanel().catch(() => {}));
document.getElementById("forecast-filter").addEventListener("change", (event) => {
  if (event.target.id === "forecast-site") offerForecast(levelsBySite);
  loadForecast().catch(() => {});
});
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
every(10000, PLAN);
