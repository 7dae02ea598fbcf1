// A child, opened from the list behind a KPI figure: its team, worker, case record, workers and allocation history.

import { requireSession, showUser } from "../js/session.js";
import { getJson } from "./kpis.js";

showUser(await requireSession());

const $ = (selector) => document.querySelector(selector);
const childId = new URLSearchParams(location.search).get("child") ?? "";
const plans = { ChildInNeed: "Child in need (CIN)", ChildProtection: "Child protection (CP)", ChildLookedAfter: "Child looked after (CLA)", CareLeaver: "Care leaver" };
const when = (iso) => (iso ? new Date(iso).toLocaleString("en-GB") : "–");

function row(...cells) {
  const tr = document.createElement("tr");
  for (const text of cells) tr.appendChild(Object.assign(document.createElement("td"), { textContent: text ?? "–" }));
  return tr;
}

async function load() {
  const id = encodeURIComponent(childId);
  const [child, history] = await Promise.all([getJson(`/api/children/${id}`), getJson(`/api/children/${id}/allocation-history`)]);
  if (!child) {
    $("#child-summary").textContent = `No child ${childId}.`;
    return;
  }
  document.title = `${child.id} · Allocation`;
  $("#child-name").textContent = `Child ${child.id}`;
  $("#child-summary").textContent = `${child.status} in team ${child.teamId}` +
    (child.workerId ? `, worker ${child.workerId}` : "") +
    ` · ${child.distinctWorkersLast12Months} workers in 12 months · ${child.transferPoints} transfer points`;
  $("#team-link").href = `team.html?team=${encodeURIComponent(child.teamId)}`;

  const record = child.caseRecord ?? {};
  const facts = [
    ["Plan", plans[record.plan] ?? "No plan recorded"], ["Plan started", record.planStartedOn],
    ["Visit due", record.visitDueOn], ["Visit done", record.visitDoneOn],
    ["Review due", record.reviewDueOn], ["Review held", record.reviewDoneOn],
    ["Assessment started", record.assessmentStartedOn], ["Assessment completed", record.assessmentCompletedOn],
    ["Seen in the assessment", record.childSeen === undefined || record.childSeen === null ? null : record.childSeen ? "yes" : "no"],
    ["Seen alone", record.childSeenAlone === undefined || record.childSeenAlone === null ? null : record.childSeenAlone ? "yes" : "no"],
    ["Last supervision", record.lastSupervisionOn], ["Last management oversight", record.lastManagementOversightOn],
  ];
  $("#record").replaceChildren(...(child.caseRecord ? facts : [["Case record", "No record"]]).flatMap(([label, value]) => [
    Object.assign(document.createElement("dt"), { textContent: label }),
    Object.assign(document.createElement("dd"), { textContent: value ?? "–" }),
  ]));

  $("#workers tbody").replaceChildren(...child.workerHistory.map((p) =>
    row(p.workerId, when(p.from), p.to ? when(p.to) : "now", [p.reason, p.endReason].filter(Boolean).join(" → "))));
  $("#history tbody").replaceChildren(...(history ?? []).map((e) =>
    row(when(e.at), e.userId, e.action, e.outcome, e.reason ?? e.rule ?? e.detail)));
}

load().catch((error) => { $("#status").textContent = `Could not load the child: ${error.message}`; });
