// The nightly KPI report's table, shared by the leaders' report and each team's report: each KPI with the plan's
// number and definition beside it, its value, target and margin, RAG, last night and its 90-night trend; a figure
// off target opens the list of the children or workers behind it, each linking to the child or worker.

import { apiFetch } from "../js/session.js";

const arrows = { Better: "▲", Worse: "▼", Same: "●", None: "" };

export async function getJson(url) {
  const response = await apiFetch(url, { headers: { accept: "application/json" } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

/** The KPIs' plan numbers, definitions, targets and rules, by id. */
export async function loadCatalog() {
  const list = (await getJson("/api/kpis")) ?? [];
  return Object.fromEntries(list.map((k) => [k.id, k]));
}

export function fmt(value, unit) {
  if (value === null || value === undefined) return "–";
  if (unit === "%") return `${value}%`;
  if (unit === "hours") return `${value} h`;
  const singular = { children: "child", breaches: "breach" };
  return `${value} ${value === 1 && singular[unit] ? singular[unit] : unit}`;
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

const trendWords = { Better: "better than last night", Worse: "worse than last night", Same: "the same as last night" };

/** The arrow is seen; the words are read out instead of the arrow's character name. */
export function trendMark(trend) {
  const span = document.createElement("span");
  if (!arrows[trend]) return span;
  span.className = `trend ${trend}`;
  span.title = trendWords[trend];
  const arrow = Object.assign(document.createElement("span"), { textContent: arrows[trend] });
  arrow.setAttribute("aria-hidden", "true");
  span.append(arrow, Object.assign(document.createElement("span"), { className: "visually-hidden", textContent: ` ${trendWords[trend]}` }));
  return span;
}

/** A team cell's colour is its RAG: the letter says it too (the word for screen readers). */
export function ragLetter(value) {
  const span = document.createElement("span");
  if (!value || value === "None") return span;
  span.className = "rag-letter";
  const letter = Object.assign(document.createElement("span"), { textContent: value[0] });
  letter.setAttribute("aria-hidden", "true");
  span.append(letter, Object.assign(document.createElement("span"), { className: "visually-hidden", textContent: ` ${value}` }));
  return span;
}

/** The target as the plan sets it, and where the rating has a margin, what it is. */
export function targetText(k, info) {
  if (k.target === null || k.target === undefined) return "no target";
  const target = `${k.direction === "HigherIsBetter" ? "≥" : "≤"} ${fmt(k.target, k.unit)}`;
  if (info?.rule === "AllChildren") {
    return k.amberMargin > 0 ? `${target} for all children; amber within ${fmt(k.amberMargin, k.unit)} of it` : `${target} for all children; any breach is red`;
  }
  return `${target}; amber within ${k.unit === "%" ? `${k.amberMargin} points` : fmt(k.amberMargin, k.unit)}`;
}

function valueText(k) {
  let text = fmt(k.value, k.unit);
  if (k.numerator !== null && k.numerator !== undefined && k.unit === "%" && k.id !== "newCasesOverThreeWorkersDecrease") {
    text += ` (${k.numerator} of ${k.denominator})`;
  }
  if (k.priorDenominator) {
    text += `; cohort ${k.numerator} of ${k.denominator}, quarter before ${k.priorNumerator} of ${k.priorDenominator}`;
  }
  return text;
}

// A polyline over the nights that have a value; the dashed line is the target.
export function sparkline(points, target) {
  const ns = "http://www.w3.org/2000/svg";
  const width = 120, height = 28, pad = 3;
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

/**
 * Fills a KPI table's body. options.history(k) gives the trend's points (a promise); options.behindUrl(k) the URL of
 * the list behind the figure; options.onBehind(k, url) shows it.
 */
export async function renderKpiRows(body, kpis, catalog, options) {
  body.replaceChildren();
  const histories = await Promise.all(kpis.map((k) => options.history(k).catch(() => null)));
  kpis.forEach((k, i) => {
    const info = catalog[k.id];
    const tr = document.createElement("tr");
    tr.dataset.kpi = k.id;
    tr.appendChild(cell(info?.source ?? ""));
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = k.title;
    tr.appendChild(name);
    tr.appendChild(cell(info?.definition ?? "", "definition"));
    const value = cell(valueText(k), "num");
    if (k.noRecord) {
      value.appendChild(Object.assign(document.createElement("span"), { className: "no-record", textContent: ` · ${k.noRecord} no record` }));
    }
    tr.appendChild(value);
    tr.appendChild(cell(targetText(k, info)));
    const ragCell = document.createElement("td");
    ragCell.appendChild(rag(k.rag));
    tr.appendChild(ragCell);
    const previous = cell(fmt(k.previous, k.unit), "num");
    previous.append(trendMark(k.trend));
    tr.appendChild(previous);
    const chart = document.createElement("td");
    chart.appendChild(sparkline(histories[i]?.points ?? [], k.target));
    tr.appendChild(chart);
    const behind = document.createElement("td");
    if ((k.rag === "Red" || k.rag === "Amber") && info && info.behind !== "None") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "behind";
      button.textContent = info.behind === "Workers" ? "Which workers" : "Which children";
      button.setAttribute("aria-label", `${button.textContent}: ${k.title}`);
      button.addEventListener("click", () => options.onBehind(k, options.behindUrl(k)));
      behind.appendChild(button);
    }
    tr.appendChild(behind);
    body.appendChild(tr);
  });
}

/** Shows the children or workers behind a figure in the given section, each linking to the child or worker. */
export async function showBehind(section, title, url) {
  const list = await getJson(url);
  const heading = document.createElement("h2");
  heading.id = "behind-heading";
  heading.tabIndex = -1;
  const what = list?.of === "Workers" ? "workers" : "children";
  heading.textContent = `Behind “${title}”: ${list?.items.length ?? 0} ${what}`;
  const items = document.createElement("ul");
  items.className = "behind-list";
  for (const item of list?.items ?? []) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = item.link;
    a.textContent = item.id;
    li.appendChild(a);
    li.appendChild(document.createTextNode(` (${item.teamId}): ${item.note}`));
    items.appendChild(li);
  }
  section.replaceChildren(heading, items);
  section.hidden = false;
  heading.focus();
}
