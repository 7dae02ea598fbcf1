// The leaders' board: every team's pressure as a tile, RAG-rated, updated with every change in any team.
import { LiveBoards, ServerClock, announce, el, flash, formatShortDuration, ragWord } from './boards.js';
import { apiFetch, requireSession, showUser } from './session.js';

showUser(await requireSession());

const defaultAmberWaitSeconds = 16 * 3600; // 8 hours or less left of the 24-hour window
const clock = new ServerClock();
let lastState = null;
const $ = id => document.getElementById(id);
const tiles = new Map(); // teamId -> tile
const said = new Map(); // teamId -> { rag, breachedNow } last told to screen reader users
const rank = { green: 0, amber: 1, red: 2 };
const forecasts = new Map(); // teamId -> the week ahead
const ragOf = { Green: 'green', Amber: 'amber', Red: 'red' };
let forecastTimer = null;

const live = new LiveBoards();
live.add({
  subscribe: ['SubscribeOverview'],
  event: 'overviewDelta',
  matches: () => true,
  apply: (current, delta) => ({ epoch: delta.epoch, version: delta.version, overview: delta.overview }),
  render,
  onError: e => showError(e.message.replace(/^.*HubException: /, '')),
});
// A saved report comes through the same connection; the page fetches it (it is too large to push).
live.connection.on('reportSaved', notice => {
  showReport(notice);
  $('report-status').textContent = '';
  $('run-now').disabled = false;
  announce(`Nightly KPI report for ${notice.date} updated`);
});
live.start();
scheduleForecast(0);
$('run-now').addEventListener('click', runNow);
loadReport();

// The same targets, margins and rules as the nightly report (GET /api/kpis), so a figure has one colour everywhere.
let caseloadTarget = { target: 85, amberMargin: 5 };
apiFetch('/api/kpis', { headers: { accept: 'application/json' } })
  .then(r => (r.ok ? r.json() : []))
  .then(list => {
    const kpi = list.find(k => k.id === 'caseloadsAtOrUnderCeiling');
    if (kpi?.target !== null && kpi?.target !== undefined) {
      caseloadTarget = kpi;
      if (lastState) render(lastState, { kind: 'tick' });
    }
  })
  .catch(() => { /* keep the plan's defaults */ });

function caseloadRag(pct) {
  const short = caseloadTarget.target - pct;
  return short <= 0 ? 'green' : short <= caseloadTarget.amberMargin ? 'amber' : 'red';
}

// A team's figures are as of its last change; the longest wait keeps growing while nothing changes.
function longestWait(p) {
  return p.unallocated > 0 ? p.longestWaitSeconds + Math.max(0, (clock.now() - Date.parse(p.at)) / 1000) : 0;
}

function amberWait(p) {
  return p.allocationWindowSeconds > 0 ? p.allocationWindowSeconds - p.amberThresholdSeconds : defaultAmberWaitSeconds;
}

// The 24-hour rule is for all children: any child past its deadline is red; amber once a wait is within the amber
// threshold of it, as the report rates the longest wait.
function waitingRag(p, wait, amber) {
  return p.breachedNow > 0 || (p.allocationWindowSeconds > 0 && wait > p.allocationWindowSeconds) ? 'red' : wait >= amber ? 'amber' : 'green';
}

function worst(...rags) {
  return rags.reduce((a, b) => (rank[b] > rank[a] ? b : a), 'green');
}

function render(state, change) {
  $('error').hidden = true;
  $('board').classList.remove('failed');
  $('board').dataset.version = state.version;
  $('board').dataset.epoch = state.epoch;
  const o = state.overview;
  lastState = state;
  clock.sync(o.at);
  renderSummary(o);

  const container = $('tiles');
  const seen = new Set();
  o.teams.forEach((team, index) => {
    seen.add(team.teamId);
    let tile = tiles.get(team.teamId);
    if (!tile) {
      tile = createTile(team.teamId);
      tiles.set(team.teamId, tile);
    }

    updateTile(tile, team);
    if (change?.kind === 'snapshot') {
      said.set(team.teamId, { rag: tile.dataset.rag, breachedNow: team.breachedNow });
    }

    if (container.children[index] !== tile) {
      container.insertBefore(tile, container.children[index] ?? null);
    }
  });

  for (const [id, tile] of tiles) {
    if (!seen.has(id)) {
      tile.remove();
      tiles.delete(id);
    }
  }

  if (change?.kind === 'delta') {
    const team = change.delta.team;
    const tile = tiles.get(team.teamId);
    if (tile) {
      flash(tile);
    }

    scheduleForecast();
    tellIfWorse(team, tile);
  }

  $('board').setAttribute('aria-busy', 'false');
}

// Every change in any team redraws a tile; only a change of a team's colour, or a new breach, is read out.
function tellIfWorse(team, tile) {
  const rag = tile?.dataset.rag;
  const before = said.get(team.teamId);
  said.set(team.teamId, { rag, breachedNow: team.breachedNow });
  if (!before) {
    return;
  }

  const summary = `${team.unallocated} waiting, ${team.percentAtOrUnderCeiling}% of caseloads at or under ceiling, ${team.breachedNow} breached now`;
  if (team.breachedNow > before.breachedNow) {
    announce(`${team.name}: a child is past the allocation deadline; ${summary}.`, { assertive: true });
  } else if (rag !== before.rag) {
    announce(`${team.name} is now ${rag}: ${summary}.`);
  }
}

function renderSummary(o) {
  const overviewWait = Math.max(0, ...o.teams.map(longestWait));
  const stat = (label, value, rag) => el('div', { class: rag ? `rag-${rag}` : '' }, el('dt', {}, label, ragWord(rag)), el('dd', { text: String(value) }));
  $('summary').replaceChildren(
    stat('At or under ceiling', `${o.percentAtOrUnderCeiling}%`, caseloadRag(o.percentAtOrUnderCeiling)),
    stat('Workers', o.workers),
    stat('Open children', o.openChildren),
    stat('Waiting now', o.unallocated, o.unallocated > 0 ? 'amber' : 'green'),
    stat('Longest wait', o.unallocated > 0 ? formatShortDuration(overviewWait) : '–',
      waitingRag(o, overviewWait, o.teams.length > 0 ? amberWait(o.teams[0]) : defaultAmberWaitSeconds)),
    stat('Breached now', o.breachedNow, o.breachedNow > 0 ? 'red' : 'green'),
    stat('Breaches (24 h)', o.breachesLast24Hours, o.breachesLast24Hours > 0 ? 'red' : 'green'),
    stat('> 3 workers (12 months)', o.childrenOverWorkerThreshold, o.childrenOverWorkerThreshold > 0 ? 'amber' : 'green'),
    stat('Overrides', o.overridesInForce, o.overridesInForce > 0 ? 'red' : null));
}

const fields = [
  ['atOrUnder', 'At or under ceiling'],
  ['waiting', 'Waiting now'],
  ['longestWait', 'Longest wait'],
  ['breaches', 'Breaches (24 h)'],
  ['breachedNow', 'Breached now'],
  ['flagged', '> 3 workers (12 months)'],
  ['overrides', 'Overrides in force'],
];

function createTile(teamId) {
  const headingId = `tile-${teamId}`;
  return el('article', { class: 'tile panel', dataset: { team: teamId }, 'aria-labelledby': headingId },
    el('h3', { id: headingId }, el('a', { href: `team.html?team=${encodeURIComponent(teamId)}` }), el('span', { class: 'pill rag-label' })),
    el('dl', {}, ...fields.flatMap(([key, label]) => [el('dt', { dataset: { label } }), el('dd', { dataset: { field: key } })])),
    el('p', { class: 'tile-forecast', dataset: { field: 'forecast' } }));
}

function updateTile(tile, t) {
  const caseRag = caseloadRag(t.percentAtOrUnderCeiling);
  const waitRag = waitingRag(t, longestWait(t), amberWait(t));
  const rag = worst(caseRag, waitRag);
  tile.classList.remove('rag-green', 'rag-amber', 'rag-red');
  tile.classList.add(`rag-${rag}`);
  tile.dataset.rag = rag;
  tile.dataset.version = t.version;
  tile.querySelector('h3 a').textContent = t.name;
  const label = tile.querySelector('.rag-label');
  label.textContent = { green: 'Green', amber: 'Amber', red: 'Red' }[rag];
  label.className = `pill rag-label rag-${rag}`;

  const set = (key, text, fieldRag) => {
    const dd = tile.querySelector(`dd[data-field="${key}"]`);
    dd.textContent = text;
    dd.className = `rag-${fieldRag ?? 'ink'}`;
    const dt = dd.previousElementSibling;
    dt.className = dd.className;
    // ragWord gives nothing for green: replaceChildren would write that nothing as the word "null".
    dt.replaceChildren(...[dt.dataset.label, ragWord(fieldRag)].filter(Boolean));
  };
  set('atOrUnder', `${t.workersAtOrUnderCeiling} of ${t.workers} (${t.percentAtOrUnderCeiling}%)`, caseRag);
  set('waiting', String(t.unallocated), t.unallocated > 0 ? 'amber' : 'green');
  set('longestWait', t.unallocated > 0 ? formatShortDuration(longestWait(t)) : '–', waitRag);
  set('breaches', String(t.breachesLast24Hours), t.breachesLast24Hours > 0 ? 'red' : 'green');
  set('breachedNow', String(t.breachedNow), t.breachedNow > 0 ? 'red' : 'green');
  set('flagged', String(t.childrenOverWorkerThreshold), t.childrenOverWorkerThreshold > 0 ? 'amber' : 'green');
  set('overrides', String(t.overridesInForce), t.overridesInForce > 0 ? 'red' : null);
  showTileForecast(tile, forecasts.get(t.teamId));
}

// ---- the week ahead ----

/** Each change anywhere may move a forecast; asked again once changes settle, and each minute as days roll on. */
function scheduleForecast(delay = 3000) {
  clearTimeout(forecastTimer);
  forecastTimer = setTimeout(loadForecast, delay);
}

async function loadForecast() {
  const response = await apiFetch('/api/forecast').catch(() => null);
  scheduleForecast(60_000);
  if (!response?.ok) {
    $('forecast-summary').textContent = 'The forecast could not be loaded just now.';
    return;
  }

  const overview = await response.json();
  forecasts.clear();
  for (const f of overview.teams) {
    forecasts.set(f.teamId, f);
    const tile = tiles.get(f.teamId);
    if (tile) {
      showTileForecast(tile, f);
    }
  }

  const worst = f => f.days.reduce((w, d) => Math.max(w, rank[ragOf[d.rag]] ?? 0), 0);
  const notable = overview.teams.filter(f => worst(f) > 0).sort((a, b) => worst(b) - worst(a) || (a.redFrom ?? '').localeCompare(b.redFrom ?? ''));
  $('forecast-summary').textContent = `The authority: ${overview.authority.headline.replace(/^[^:]*: /, '')}.`;
  $('forecast-list').replaceChildren(...notable.map(f => {
    const rag = worst(f) === 2 ? 'red' : 'amber';
    return el('li', { class: `rag-${rag}`, dataset: { team: f.teamId, rag } },
      el('span', { class: `pill rag-${rag}`, text: rag === 'red' ? 'Red' : 'Amber' }), ' ',
      el('a', { href: `team.html?team=${encodeURIComponent(f.teamId)}`, text: f.headline }),
      ' ', el('span', { class: 'days' }, ...f.days.map(d => el('span', {
        class: `day rag-${ragOf[d.rag]}`,
        title: `${d.date}: ${d.waiting.toFixed(1)} waiting, ${d.expectedBreaches.toFixed(1)} breaches expected, ${d.percentAtOrUnderCeiling}% at or under ceiling`,
      }, new Date(`${d.date}T12:00:00Z`).toLocaleDateString('en-GB', { weekday: 'short' }),
        // The day's colour in words too, for those who do not see the colour.
        el('span', { class: 'visually-hidden', text: ` ${ragOf[d.rag] ?? 'not rated'}` })))));
  }));
  if (!notable.length) {
    $('forecast-list').replaceChildren(el('li', { text: 'No team is forecast to go amber or red this week.' }));
  }
}

function showTileForecast(tile, f) {
  const line = tile.querySelector('.tile-forecast');
  if (!f) {
    line.textContent = '';
    return;
  }

  const rag = f.redFrom ? 'red' : f.days.some(d => d.rag === 'Amber') ? 'amber' : 'green';
  line.className = `tile-forecast rag-${rag}`;
  line.dataset.rag = rag;
  line.textContent = `Week ahead: ${f.headline.replace(/^[^:]*: /, '')}`;
}

function showError(message) {
  const banner = $('error');
  banner.replaceChildren(message);
  banner.hidden = false;
  $('board').classList.add('failed');
  $('board').setAttribute('aria-busy', 'false');
}

// Waits grow between changes: redraw from the last state every half minute.
setInterval(() => lastState && render(lastState, { kind: "tick" }), 30_000);

function showReport(r) {
  if (!r) {
    $('report-summary').textContent = 'No report yet: run the checks now, or wait for 02:00.';
    return;
  }

  $('report-summary').replaceChildren(
    el('span', { text: `Report for ${r.date}, run at ${new Date(r.runAt).toLocaleTimeString('en-GB')}: ` }),
    el('span', { class: 'rag-red', text: `${r.red} red` }), ', ',
    el('span', { class: 'rag-amber', text: `${r.amber} amber` }), ', ',
    el('span', { class: 'rag-green', text: `${r.green} green` }));
}

async function loadReport() {
  const response = await apiFetch('/api/reports/latest', { headers: { accept: 'application/json' } });
  if (response.status === 404) {
    showReport(null);
    return;
  }

  const report = await response.json();
  const count = rag => report.authority.filter(k => k.rag === rag).length;
  showReport({ date: report.date, runAt: report.runAt, red: count('Red'), amber: count('Amber'), green: count('Green') });
}

async function runNow() {
  $('run-now').disabled = true;
  $('report-status').textContent = 'Checks queued…';
  const response = await apiFetch('/api/reports/run', { method: 'POST' });
  if (response.status !== 202) {
    $('report-status').textContent = `Could not run the checks (${response.status}).`;
    $('run-now').disabled = false;
  }
  // Otherwise the 'reportSaved' push re-enables the button; if it never comes, say so.
  setTimeout(() => {
    if ($('run-now').disabled) {
      $('run-now').disabled = false;
      $('report-status').textContent = 'No new report after two minutes; see the nightly report page.';
    }
  }, 120_000);
}
