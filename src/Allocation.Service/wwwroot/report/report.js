// The leaders' nightly threshold report: the latest report from /api/reports, each KPI's trend over the stored
// history as a small inline SVG, and "Run now", which queues the job; the service announces each saved report
// on the boards hub, and the page reloads it then, whoever ran the checks.

import { accessToken, apiFetch, requireSession, showUser } from "../js/session.js";

showUser(requireSession());

const arrows = { Better: "▲", Worse: "▼", Same: "●", None: "" };
const $ = (selector) => document.querySelector(selector);

function fmt(value, unit) {
  if (value === null || value === undefined) return "–";
  // Counts read as they are ("3 breaches" is the column's title); other units are named, so a wait reads "31 hours".
  return unit === "%" ? `${value}%` : unit === "hours" ? `${value} hours` : `${value}`;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function rag(value) {
  const span = document.createElement("span");
  span.className = `rag ${value ?? "None"}`;
  span.textContent = value && value !== "None" ? value : "n/a";
  return span;
}

// A polyline over the nights that have a value; the dashed line is the target.
function sparkline(points, target) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 160, height = 32, pad = 3;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", width);
  svg.setAttribute("height", height);
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const values = points.filter((p) => p.value !== null);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", values.length ? `${values.length} nights, from ${values[0].value} to ${values[values.length - 1].value}` : "no history");
  if (values.length === 0) return svg;
  const all = values.map((p) => p.value).concat(target ?? []);
  const min = Math.min(...all), max = Math.max(...all);
  const span = max - min || 1;
  const x = (i) => values.length === 1 ? width / 2 : pad + (i * (width - 2 * pad)) / (values.length - 1);
  const y = (v) => height - pad - ((v - min) * (height - 2 * pad)) / span;
  if (target !== null && target !== undefined) {
    const line = document.createElementNS(ns, "line");
    line.setAttribute("class", "target");
    line.setAttribute("x1", 0); line.setAttribute("x2", width);
    line.setAttribute("y1", y(target)); line.setAttribute("y2", y(target));
    svg.appendChild(line);
  }
  const poly = document.createElementNS(ns, "polyline");
  poly.setAttribute("points", values.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(" "));
  svg.appendChild(poly);
  if (values.length === 1) {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", x(0)); dot.setAttribute("cy", y(values[0].value)); dot.setAttribute("r", 2);
    svg.appendChild(dot);
  }
  return svg;
}

async function getJson(url) {
  const response = await apiFetch(url, { headers: { accept: "application/json" } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function renderAuthority(report) {
  const body = $("#authority tbody");
  body.replaceChildren();
  const histories = await Promise.all(report.authority.map((k) =>
    getJson(`/api/reports/kpis/${encodeURIComponent(k.id)}/history?to=${report.date}`).catch(() => null)));
  report.authority.forEach((k, i) => {
    const tr = document.createElement("tr");
    const name = cell(k.title);
    if (k.denominator !== null) name.title = `${k.numerator} of ${k.denominator}`;
    tr.appendChild(name);
    tr.appendChild(cell(fmt(k.value, k.unit), "num"));
    tr.appendChild(cell(k.target === null ? "–" : `${k.direction === "HigherIsBetter" ? "≥" : "≤"} ${fmt(k.target, k.unit)}`, "num"));
    const ragCell = document.createElement("td");
    ragCell.appendChild(rag(k.rag));
    tr.appendChild(ragCell);
    const previous = cell(fmt(k.previous, k.unit), "num");
    const arrow = document.createElement("span");
    arrow.className = `trend ${k.trend}`;
    arrow.textContent = arrows[k.trend] ?? "";
    arrow.title = k.trend;
    previous.appendChild(arrow);
    tr.appendChild(previous);
    const chart = document.createElement("td");
    chart.appendChild(sparkline(histories[i]?.points ?? [], k.target));
    tr.appendChild(chart);
    body.appendChild(tr);
  });
}

function renderTeams(report) {
  const head = $("#teams thead");
  const body = $("#teams tbody");
  const kpis = report.authority.map((k) => ({ id: k.id, title: k.title }));
  const row = document.createElement("tr");
  row.appendChild(Object.assign(document.createElement("th"), { textContent: "Team", scope: "col" }));
  kpis.forEach((k) => row.appendChild(Object.assign(document.createElement("th"), { textContent: k.title, scope: "col" })));
  head.replaceChildren(row);
  body.replaceChildren();
  report.teams.forEach((team) => {
    const tr = document.createElement("tr");
    tr.appendChild(Object.assign(document.createElement("th"), { textContent: team.name, scope: "row", title: team.teamId }));
    const byId = Object.fromEntries(team.kpis.map((k) => [k.id, k]));
    kpis.forEach(({ id }) => {
      const k = byId[id];
      const td = cell(k ? fmt(k.value, k.unit) + (arrows[k.trend] ? ` ${arrows[k.trend]}` : "") : "–", k?.rag);
      if (k) td.title = `target ${fmt(k.target, k.unit)}; last night ${fmt(k.previous, k.unit)}`;
      tr.appendChild(td);
    });
    body.appendChild(tr);
  });
}

async function load() {
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
hub.on("reportSaved", () => load().then(() => { $("#status").textContent = ""; }));
// Leaders' pages listen on the overview group, where saved reports are announced.
hub.onreconnected(() => hub.invoke("SubscribeOverview").then(load));
hub.start().then(() => hub.invoke("SubscribeOverview")).catch(() => { /* the page still works without live updates */ });

$("#run-now").addEventListener("click", runNow);
load().catch((error) => { $("#status").textContent = `Could not load the report: ${error.message}`; });
