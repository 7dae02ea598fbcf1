// The start page: what the signed-in user may open. A social worker their own caseload; a practice manager the
// boards and nightly KPI reports of their teams and their workers' caseloads; a senior leader the leaders' board, the report and every team;
// an administrator the job dashboard, exports and the API reference. The service enforces the same rules.
import { el } from './boards.js';
import { apiFetch, hasRole, requireSession, showUser } from './session.js';

const signedIn = await requireSession();
showUser(signedIn);
const container = document.getElementById('teams');

async function load() {
  const user = signedIn.user;
  document.getElementById('leaders').hidden = !hasRole(signedIn, 'SeniorLeader');
  document.getElementById('admin').hidden = !hasRole(signedIn, 'Administrator');
  if (hasRole(signedIn, 'SocialWorker')) {
    document.getElementById('mine').hidden = false;
    document.getElementById('my-caseload').href = `caseload.html?worker=${encodeURIComponent(user.workerId)}`;
  }

  if (!hasRole(signedIn, 'SeniorLeader') && !hasRole(signedIn, 'PracticeManager')) {
    document.getElementById('teams-heading').hidden = true;
    container.replaceChildren();
    container.setAttribute('aria-busy', 'false');
    return;
  }

  try {
    const all = await (await apiFetch('/api/teams')).json();
    const teams = hasRole(signedIn, 'SeniorLeader') ? all : all.filter(t => user.teams.includes(t.id));
    const boards = await Promise.all(teams.map(t => apiFetch(`/api/teams/${encodeURIComponent(t.id)}/board`).then(r => (r.ok ? r.json() : null))));
    const panels = teams.map((team, i) => teamPanel(team, boards[i]));
    container.replaceChildren(...(panels.length ? panels : [el('p', { class: 'empty', text: 'No teams yet.' })]));
  } catch {
    container.replaceChildren(el('p', { class: 'error-banner', text: 'The service could not be reached. Reload to try again.' }));
  }

  container.setAttribute('aria-busy', 'false');
}

function teamPanel(team, board) {
  const workers = (board?.workers ?? []).filter(w => w.role !== 'PracticeManager');
  return el('section', { class: 'panel', 'aria-labelledby': `team-${team.id}`, dataset: { team: team.id } },
    el('h3', { id: `team-${team.id}`, text: team.name }),
    el('ul', {},
      el('li', {}, el('a', { href: `team.html?team=${encodeURIComponent(team.id)}`, text: 'Team board' })),
      el('li', {}, el('a', { href: `team-report.html?team=${encodeURIComponent(team.id)}`, text: 'Team KPI report' }))),
    workers.length ? el('h4', { text: 'Caseloads' }) : null,
    workers.length
      ? el('ul', { class: 'workers' }, ...workers.map(w => el('li', {},
        el('a', { href: `caseload.html?worker=${encodeURIComponent(w.workerId)}`, text: w.name }),
        el('span', { class: 'meta', text: `${w.role === 'NewlyQualified' ? 'NQSW · ' : w.role === 'PersonalAdviser' ? 'PA · ' : ''}${w.caseload} of ${w.ceiling}` }))))
      : null);
}

load();
