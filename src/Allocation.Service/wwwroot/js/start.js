// The start page: each team's board for its practice managers and each social worker's own caseload.
import { el } from './boards.js';

const container = document.getElementById('teams');

async function load() {
  try {
    const teams = await (await fetch('/api/teams')).json();
    const boards = await Promise.all(teams.map(t => fetch(`/api/teams/${encodeURIComponent(t.id)}/board`).then(r => (r.ok ? r.json() : null))));
    const panels = teams.map((team, i) => teamPanel(team, boards[i]));
    container.replaceChildren(...(panels.length ? panels : [el('p', { class: 'empty', text: 'No teams yet. Create one through the API (PUT /api/teams/{id}).' })]));
  } catch {
    container.replaceChildren(el('p', { class: 'error-banner', text: 'The service could not be reached. Reload to try again.' }));
  }

  container.setAttribute('aria-busy', 'false');
}

function teamPanel(team, board) {
  const boardUrl = `team.html?team=${encodeURIComponent(team.id)}`;
  const workers = board?.workers ?? [];
  const managers = workers.filter(w => w.role === 'PracticeManager');
  const caseholders = workers.filter(w => w.role !== 'PracticeManager');
  return el('section', { class: 'panel', 'aria-labelledby': `team-${team.id}`, dataset: { team: team.id } },
    el('h3', { id: `team-${team.id}`, text: team.name }),
    el('ul', {},
      ...(managers.length
        ? managers.map(m => el('li', {}, el('a', { href: `${boardUrl}&as=${encodeURIComponent(m.workerId)}`, text: `Team board as ${m.name}` }), ` (practice manager, ${m.workerId})`))
        : [el('li', {}, el('a', { href: boardUrl, text: 'Team board' }))])),
    caseholders.length ? el('h4', { text: 'My caseload, for each worker' }) : null,
    caseholders.length
      ? el('ul', { class: 'workers' }, ...caseholders.map(w => el('li', {},
        el('a', { href: `caseload.html?worker=${encodeURIComponent(w.workerId)}`, text: w.name }),
        el('span', { class: 'meta', text: `${w.role === 'NewlyQualified' ? 'NQSW · ' : w.role === 'PersonalAdviser' ? 'PA · ' : ''}${w.caseload} of ${w.ceiling}` }))))
      : null);
}

load();
