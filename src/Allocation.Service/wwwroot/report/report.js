// The leaders' nightly KPI report: the latest report from /api/reports with the plan's definition beside each KPI,
// each KPI's trend over the stored history, the children or workers behind an off-target figure, and "Run now",
// which queues the job; the service announces each saved report on the boards hub, and the page reloads it then.

import { accessToken, apiFetch, onSignOut, requireSession, showUser } from "../js/session.js";
import { fmt, getJson, loadCatalog, ragLetter, renderKpiRows, showBehind, trendMark } from "./kpis.js";

showUser(await requireSession());

const $ = (selector) => document.querySelector(selector);
let catalog = {};

async function renderAuthority(report) {
  await renderKpiRows($("#authority tbody"), report.authority, catalog, {
    history: (k) => getJson(`/api/reports/kpis/${encodeURIComponent(k.id)}/history?to=${report.date}`),
    behindUrl: (k) => `/api/reports/${report.date}/kpis/${encodeURIComponent(k.id)}/behind`,
    onBehind: (k, url) => showBehind($("#behind"), k.title, url),
  });
}

function renderTeams(report) {
  const head = $("#teams thead");
  const body = $("#teams tbody");
  const kpis = report.authority.map((k) => ({ id: k.id, title: k.title }));
  const row = document.createElement("tr");
  row.appendChild(Object.assign(document.createElement("th"), { textContent: "Team", scope: "col" }));
  kpis.forEach((k) => row.appendChild(Object.assign(document.createElement("th"), {
    textContent: catalog[k.id] ? `${k.title} (${catalog[k.id].source})` : k.title, scope: "col" })));
  head.replaceChildren(row);
  body.replaceChildren();
  report.teams.forEach((team) => {
    const tr = document.createElement("tr");
    const name = Object.assign(document.createElement("th"), { scope: "row", title: team.teamId });
    name.appendChild(Object.assign(document.createElement("a"), { href: `team-report.html?team=${encodeURIComponent(team.teamId)}`, textContent: team.name }));
    tr.appendChild(name);
    const byId = Object.fromEntries(team.kpis.map((k) => [k.id, k]));
    kpis.forEach(({ id }) => {
      const k = byId[id];
      const td = document.createElement("td");
      td.textContent = k ? fmt(k.value, k.unit) : "–";
      if (k?.rag) td.className = k.rag;
      if (k) {
        td.title = `target ${fmt(k.target, k.unit)}; last night ${fmt(k.previous, k.unit)}`;
        td.append(trendMark(k.trend), ragLetter(k.rag));
      }
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
}

async function load() {
  if (Object.keys(catalog).length === 0) catalog = await loadCatalog();
  const report = await getJson("/api/reports/latest");
  if (!report) {
    $("#report-when").textContent = "No report yet: run the checks now, or wait for 02:00.";
    return null;
  }
  $("#report-when").textContent = `Report for ${report.date} · run at ${new Date(report.runAt).toLocaleString("en-GB")}`;
  $("#csv").href = `/api/reports/${report.date}/csv`;
  await renderAuthority(report);
  renderTeams(report);
  return report;
}

async function runNow() {
  const button = $("#run-now");
  const status = $("#status");
  button.disabled = true;
  try {
    const before = (await getJson("/api/reports/latest"))?.runAt;
    const response = await apiFetch("/api/reports/run", { method: "POST" });
    if (response.status !== 202) throw new Error(`run now: ${response.status}`);
    const { jobId } = await response.json();
    status.textContent = `Checks queued (job ${jobId}); the report updates when they finish.`;
    // Without a live connection, look once after a while instead.
    if (hub.state !== signalR.HubConnectionState.Connected) {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const latest = await getJson("/api/reports/latest");
      if (latest && latest.runAt !== before) {
        await load();
        status.textContent = "";
      }
    }
  } catch (error) {
    status.textContent = `Could not run the checks: ${error.message}`;
  } finally {
    button.disabled = false;
  }
}

const hub = new signalR.HubConnectionBuilder().withUrl("/hubs/boards", { accessTokenFactory: accessToken }).withAutomaticReconnect().build();
onSignOut(() => hub.stop());
hub.on("reportSaved", () => load().then(() => { $("#status").textContent = ""; }));
// Leaders' pages listen on the overview group, where saved reports are announced.
hub.onreconnected(() => hub.invoke("SubscribeOverview").then(load));
hub.start().then(() => hub.invoke("SubscribeOverview")).catch(() => { /* the page still works without live updates */ });

$("#run-now").addEventListener("click", runNow);
load().catch((error) => { $("#status").textContent = `Could not load the report: ${error.message}`; });
