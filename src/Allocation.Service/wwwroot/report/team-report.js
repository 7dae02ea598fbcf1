// A team's nightly KPI report, for its practice managers (plan 8.2.1: "make it team specific"): the team's figures
// with the plan's definitions, each KPI's trend for the team, and the children or workers behind an off-target figure.

import { requireSession, showUser } from "../js/session.js";
import { getJson, loadCatalog, renderKpiRows, showBehind } from "./kpis.js";

showUser(await requireSession());

const $ = (selector) => document.querySelector(selector);
const teamId = new URLSearchParams(location.search).get("team") ?? "";
const base = `/api/teams/${encodeURIComponent(teamId)}/report`;

async function load() {
  $("#board-link").href = `team.html?team=${encodeURIComponent(teamId)}`;
  const [catalog, report] = await Promise.all([loadCatalog(), getJson(base)]);
  if (!report) {
    $("#report-when").textContent = "No report for this team yet: the checks run every night at 02:00.";
    return;
  }
  document.title = `${report.name} · Team KPI report · Allocation`;
  $("#team-name").textContent = `${report.name}: KPI report`;
  $("#report-when").textContent = `Report for ${report.date} · run at ${new Date(report.runAt).toLocaleString("en-GB")}`;
  await renderKpiRows($("#kpis tbody"), report.kpis, catalog, {
    history: (k) => getJson(`${base}/kpis/${encodeURIComponent(k.id)}/history`),
    behindUrl: (k) => `${base}/kpis/${encodeURIComponent(k.id)}/behind?date=${report.date}`,
    onBehind: (k, url) => showBehind($("#behind"), k.title, url),
  });
}

load().catch((error) => { $("#status").textContent = `Could not load the team's report: ${error.message}`; });
