// The practice manager's team board: worker cards, the unallocated queue with live 24-hour clocks, allocation by
// drag and drop or by keyboard, refusals shown in place, and the feed.
import {
  LiveBoards, ServerClock, announce, capacityRag, command, el, flash, formatDateTime, formatDuration,
  formatShortDuration, formatTime, problemFigures, ragWord, roleNames,
} from './boards.js';
import { apiFetch, hasRole, requireSession, showUser } from './session.js';

const signedIn = await requireSession();
showUser(signedIn);

// The authority's amber threshold (Allocation:AmberThreshold) comes with each snapshot; 8 hours is the default.
let amberSeconds = 8 * 3600;
const feedKept = 50;
const dragType = 'application/x-allocation-child';
const moveType = 'application/x-allocation-move';
const figureNames = { current: 'Caseload now', ceiling: 'Ceiling', after: 'Would be' };

const params = new URLSearchParams(location.search);
const teamId = params.get('team');
const clock = new ServerClock();
const $ = id => document.getElementById(id);

let board = null;
// Who allocates is the signed-in user; the service records it from the token, not from the page.
const actingAs = signedIn.user.id;
const cards = new Map(); // workerId -> element
const items = new Map(); // childId -> element
const pending = new Map(); // childId -> worker id being allocated
const recommendationsShown = 3;
const previewRequests = new Map(); // childId -> sequence number of the latest preview asked for
let adviceTimer = null;
let adviceVersion = -1;

if (!teamId) {
  showError('No team chosen. Open a team board from the start page.');
} else {
  const live = new LiveBoards();
  live.add({
    subscribe: ['SubscribeTeam', teamId],
    event: 'teamBoardDelta',
    matches: d => d.teamId === teamId,
    apply,
    render,
    onError: e => showError(e.message.replace(/^.*HubException: /, '')),
  });
  live.start();
  setInterval(tick, 1000);
}

function apply(current, delta) {
  const workers = current.workers.slice();
  for (const card of delta.workers) {
    const i = workers.findIndex(w => w.workerId === card.workerId);
    if (i >= 0) {
      workers[i] = card;
    } else {
      workers.push(card);
    }
  }

  const removedWorkers = new Set(delta.removedWorkers);
  const queue = new Map(current.unallocated.map(q => [q.childId, q]));
  for (const id of delta.removedUnallocated) {
    queue.delete(id);
  }

  for (const item of delta.unallocated) {
    queue.set(item.childId, item);
  }

  return {
    ...current,
    version: delta.version,
    workers: workers.filter(w => !removedWorkers.has(w.workerId)),
    unallocated: [...queue.values()],
    // Snapshots list the feed and breaches newest first; deltas carry new ones oldest first.
    feed: [...delta.feed.slice().reverse(), ...current.feed].slice(0, feedKept),
    recentBreaches: [...delta.breaches.slice().reverse(), ...current.recentBreaches].slice(0, 20),
    pressure: delta.pressure,
  };
}

function render(state, change) {
  const first = board === null;
  board = state;
  if (change.kind === 'snapshot') {
    clock.sync(state.at);
    amberSeconds = state.amberThresholdSeconds || amberSeconds;
    $('error').hidden = true;
    $('board').classList.remove('failed');
  }

  document.title = `${state.name} · Team board · Allocation`;
  $('team-name').textContent = state.name;
  $('team-report').href = `team-report.html?team=${encodeURIComponent(state.teamId)}`;
  $('acting-as').textContent = `Allocating as ${signedIn.user.name ?? actingAs} (${actingAs})`;
  $('board').dataset.version = state.version;

  const changedWorkers = change.kind === 'delta' ? new Set(change.delta.workers.map(w => w.workerId)) : new Set();
  renderCards(state, changedWorkers, first);
  renderQueue(state, change.kind === 'delta' ? new Set(change.delta.unallocated.map(q => q.childId)) : new Set());
  scheduleAdvice();
  renderSummary(state);
  renderFeed(state, change);
  renderBreaches(state);
  tick();
  $('board').setAttribute('aria-busy', 'false');
}

// ---- worker cards ----

function renderCards(state, changed, first) {
  const container = $('cards');
  const seen = new Set();
  // Managers last: they carry no caseload unless the authority sets one.
  const ordered = state.workers.slice().sort((a, b) =>
    (a.role === 'PracticeManager') - (b.role === 'PracticeManager') || a.name.localeCompare(b.name));
  ordered.forEach((worker, index) => {
    seen.add(worker.workerId);
    let card = cards.get(worker.workerId);
    if (!card) {
      card = createCard(worker.workerId);
      cards.set(worker.workerId, card);
    }

    updateCard(card, worker);
    if (container.children[index] !== card) {
      container.insertBefore(card, container.children[index] ?? null);
    }

    if (changed.has(worker.workerId) && !first) {
      flash(card);
    }
  });

  for (const [id, card] of cards) {
    if (!seen.has(id)) {
      card.remove();
      cards.delete(id);
    }
  }
}

function createCard(workerId) {
  const headingId = `worker-${workerId}`;
  const card = el('article', { class: 'card panel', dataset: { worker: workerId }, 'aria-labelledby': headingId },
    el('h3', { class: 'name', id: headingId }),
    el('div', { class: 'role' }),
    el('div', { class: 'badges' }),
    el('div', { class: 'load' }, el('span', {}, el('span', { class: 'n' }), ' ', el('span', { class: 'of' })), el('span', { class: 'pill room' })),
    el('div', { class: 'bar', 'aria-hidden': 'true' }, el('span')),
    el('details', {}, el('summary'), el('ul'), el('div', { class: 'move', hidden: true })),
    el('div', { class: 'refusal', role: 'alert', hidden: true }));
  card.addEventListener('dragover', e => {
    if (e.dataTransfer.types.includes(dragType) || e.dataTransfer.types.includes(moveType)) {
      e.preventDefault();
      e.dataTransfer.dropEffect = 'move';
      card.classList.add('drop-target');
    }
  });
  card.addEventListener('dragleave', e => {
    if (!card.contains(e.relatedTarget)) {
      card.classList.remove('drop-target');
    }
  });
  card.addEventListener('drop', e => {
    card.classList.remove('drop-target');
    const childId = e.dataTransfer.getData(dragType);
    const move = e.dataTransfer.getData(moveType);
    if (childId) {
      e.preventDefault();
      allocate(childId, workerId);
    } else if (move) {
      e.preventDefault();
      const { childId: moving, from } = JSON.parse(move);
      if (from !== workerId) {
        openMove(from, moving, workerId);
      }
    }
  });
  return card;
}

function updateCard(card, w) {
  const manager = w.role === 'PracticeManager' && w.ceiling === 0 && w.caseload === 0;
  const rag = manager ? 'grey' : capacityRag(w.caseload, w.ceiling);
  card.className = `card panel rag-${rag}${manager ? ' manager' : ''}${card.classList.contains('changed') ? ' changed' : ''}${card.classList.contains('drop-target') ? ' drop-target' : ''}`;
  card.dataset.caseload = w.caseload;
  card.dataset.ceiling = w.ceiling;
  card.querySelector('.name').textContent = w.name;
  card.querySelector('.role').textContent = `${roleNames[w.role] ?? w.role} · ${Number(w.fte).toFixed(1)} FTE`;

  const badges = [];
  if (w.absentNow) {
    const until = w.absentNow.to ? ` until ${formatDateTime(w.absentNow.to)}` : '';
    badges.push(el('span', { class: 'badge absent', title: w.absentNow.reason, text: `Absent${until}: ${w.absentNow.reason}` }));
  }

  if (w.overridesInForce > 0) {
    badges.push(el('span', { class: 'badge override', text: `${w.overridesInForce} over ceiling by override` }));
  }

  card.querySelector('.badges').replaceChildren(...badges);

  card.querySelector('.n').textContent = w.caseload;
  card.querySelector('.of').textContent = `of ${w.ceiling}`;
  const room = w.ceiling - w.caseload;
  const pill = card.querySelector('.pill');
  pill.textContent = manager ? 'No caseload'
    : room > 1 ? `${room} places left`
      : room === 1 ? '1 place left'
        : room === 0 ? 'At ceiling'
          : `${-room} over ceiling`;
  card.querySelector('.bar span').style.width = manager ? '0' : `${Math.min(100, w.ceiling > 0 ? (100 * w.caseload) / w.ceiling : 100)}%`;
  card.querySelector('summary').textContent = `Children (${w.children.length})`;
  const list = card.querySelector('details ul');
  if (list.dataset.children !== w.children.join(',')) {
    list.dataset.children = w.children.join(',');
    list.replaceChildren(...w.children.map(id => childChip(w.workerId, id)));
  }
}

/** A child on a worker's card: drag it to another card, or use Move, to re-allocate it. */
function childChip(workerId, childId) {
  const chip = el('li', { draggable: 'true', dataset: { child: childId } }, childId, ' ',
    el('button', { type: 'button', class: 'link', text: 'Move', 'aria-label': `Move ${childId} to another worker`, onclick: () => openMove(workerId, childId) }));
  chip.addEventListener('dragstart', e => {
    e.stopPropagation();
    e.dataTransfer.setData(moveType, JSON.stringify({ childId, from: workerId }));
    e.dataTransfer.setData('text/plain', childId);
    e.dataTransfer.effectAllowed = 'move';
  });
  return chip;
}

/** Re-allocation is a worker change for the child, so it asks for a reason before anything is sent. */
function openMove(fromWorkerId, childId, toWorkerId) {
  const card = cards.get(fromWorkerId);
  if (!card) {
    return;
  }

  const box = card.querySelector('.move');
  const selectId = `move-${childId}`;
  const reasonId = `move-reason-${childId}`;
  const select = el('select', { id: selectId, required: true },
    el('option', { value: '', text: 'Choose a worker…' }),
    ...workerChoices(board).list.filter(c => c.workerId !== fromWorkerId).map(c => el('option', { value: c.workerId, text: c.text })));
  select.value = toWorkerId ?? '';
  const reason = el('input', { type: 'text', id: reasonId, required: true, autocomplete: 'off', maxlength: '500', placeholder: 'e.g. Caseload rebalanced' });
  const result = el('div', { class: 'move-result' });
  const form = el('form', { class: 'move-form', dataset: { child: childId } },
    el('label', { for: selectId, text: `Move ${childId} to` }), select,
    el('label', { for: reasonId, text: 'Reason (counts as a worker change)' }), reason,
    el('div', { class: 'actions' },
      el('button', { type: 'submit', text: 'Move' }),
      el('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => { box.hidden = true; box.replaceChildren(); } })),
    result);
  form.addEventListener('submit', e => {
    e.preventDefault();
    reallocate(childId, fromWorkerId, select.value, reason.value.trim(), form);
  });
  box.replaceChildren(form);
  box.hidden = false;
  card.querySelector('details').open = true;
  (toWorkerId ? reason : select).focus();
}

async function reallocate(childId, fromWorkerId, workerId, reason, form, requestId) {
  const button = form.querySelector('button[type="submit"]');
  const result = form.querySelector('.move-result');
  const worker = board.workers.find(w => w.workerId === workerId);
  button.disabled = true;
  result.replaceChildren(el('div', { class: 'refusal pending', text: `Moving ${childId} to ${worker?.name ?? workerId}…` }));
  const outcome = await command(`/api/children/${encodeURIComponent(childId)}/reallocate`, { workerId, reason, requestId });
  button.disabled = false;
  if (outcome.ok) {
    const box = form.parentElement;
    box.hidden = true;
    box.replaceChildren();
    return;
  }

  const retry = outcome.problem.status === 0
    ? el('div', { class: 'actions' }, el('button', { type: 'button', class: 'link', text: 'Try again', onclick: () => reallocate(childId, fromWorkerId, workerId, reason, form, outcome.requestId) }))
    : null;
  result.replaceChildren(el('div', { class: 'refusal', role: 'alert' }, ...describeProblem(`Not moved to ${worker?.name ?? workerId}:`, outcome.problem), retry));
}

// ---- unallocated queue ----

function renderQueue(state, changed) {
  const list = $('queue');
  const queue = state.unallocated.slice().sort((a, b) => Date.parse(a.deadline) - Date.parse(b.deadline));
  const seen = new Set();
  queue.forEach((q, index) => {
    seen.add(q.childId);
    let item = items.get(q.childId);
    const isNew = !item;
    if (!item) {
      item = createQueueItem(q.childId);
      items.set(q.childId, item);
    }

    updateQueueItem(item, q, state);
    if (list.children[index] !== item) {
      list.insertBefore(item, list.children[index] ?? null);
    }

    if (changed.has(q.childId) && isNew) {
      flash(item);
    }
  });

  for (const [id, item] of items) {
    if (!seen.has(id)) {
      // Keep keyboard users in the queue when the child they were on is allocated.
      const hadFocus = item.contains(document.activeElement);
      const next = item.nextElementSibling ?? item.previousElementSibling;
      item.remove();
      items.delete(id);
      pending.delete(id);
      clearRefusal(id);
      if (hadFocus) {
        (next?.querySelector('select') ?? $('queue-heading')).focus();
      }
    }
  }

  $('queue-count').textContent = `${queue.length} waiting`;
  $('queue-empty').hidden = queue.length > 0;
}

function createQueueItem(childId) {
  const selectId = `worker-for-${childId}`;
  const select = el('select', { id: selectId });
  const button = el('button', { type: 'submit', text: 'Allocate' });
  const transferBox = el('div', { class: 'transfer', hidden: true });
  const transferOpener = el('button', {
    type: 'button', class: 'link', text: 'Transfer', 'aria-label': `Transfer ${childId} to another team`, 'aria-expanded': 'false',
  });
  transferOpener.addEventListener('click', () => toggleTransfer(childId, transferOpener, transferBox));
  // Transfer sits on the allocation row, so a queue item stays three lines high.
  const form = el('form', { class: 'allocate-form' },
    el('label', { class: 'visually-hidden', for: selectId, text: `Worker for ${childId}` }), select, button, transferOpener);
  const item = el('li', { class: 'queue-item', draggable: 'true', dataset: { child: childId } },
    el('div', { class: 'row' }, el('span', { class: 'child', text: childId }), el('span', { class: 'countdown', role: 'timer' })),
    el('div', { class: 'meta' }),
    el('div', { class: 'recs', 'aria-live': 'off' }),
    form,
    el('div', { class: 'preview', role: 'status', hidden: true }),
    transferBox,
    el('div', { class: 'refusal', role: 'alert', hidden: true }));
  // Choosing a worker shows what the allocation would do before it is made.
  select.addEventListener('change', () => preview(childId, select.value));
  form.addEventListener('submit', e => {
    e.preventDefault();
    if (select.value) {
      allocate(childId, select.value);
    } else {
      select.focus();
    }
  });
  // Enter on a closed select does not submit its form by itself.
  select.addEventListener('keydown', e => {
    if (e.key === 'Enter') {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  item.addEventListener('dragstart', e => {
    e.dataTransfer.setData(dragType, childId);
    e.dataTransfer.setData('text/plain', childId);
    e.dataTransfer.effectAllowed = 'move';
    item.classList.add('dragging');
  });
  item.addEventListener('dragend', () => item.classList.remove('dragging'));
  return item;
}

let teamsLoading = null;

/** The authority's teams, other than this one, to transfer to (read once). */
function otherTeams() {
  teamsLoading ??= apiFetch('/api/teams').then(r => (r.ok ? r.json() : [])).catch(() => []);
  return teamsLoading.then(teams => teams.filter(t => t.id !== teamId));
}

/** Transfer out to another team: the child waits there unallocated with a new clock. Asks for a reason first. */
async function toggleTransfer(childId, opener, box) {
  const close = () => {
    box.hidden = true;
    box.replaceChildren();
    opener.setAttribute('aria-expanded', 'false');
  };
  if (!box.hidden) {
    close();
    opener.focus();
    return;
  }

  const teams = await otherTeams();
  const selectId = `transfer-to-${childId}`;
  const reasonId = `transfer-reason-${childId}`;
  const select = el('select', { id: selectId, required: true },
    el('option', { value: '', text: 'Choose a team…' }), ...teams.map(t => el('option', { value: t.id, text: t.name })));
  const reason = el('input', { type: 'text', id: reasonId, required: true, autocomplete: 'off', maxlength: '500' });
  const result = el('div');
  const submit = el('button', { type: 'submit', text: 'Transfer' });
  const form = el('form', { class: 'transfer-form', dataset: { child: childId } },
    el('label', { for: selectId, text: `Transfer ${childId} to` }), select,
    el('label', { for: reasonId, text: 'Reason' }), reason,
    el('div', { class: 'actions' }, submit,
      el('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => { close(); opener.focus(); } })),
    result);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const to = teams.find(t => t.id === select.value);
    submit.disabled = true;
    result.replaceChildren(el('div', { class: 'refusal pending', text: `Transferring ${childId} to ${to?.name ?? select.value}…` }));
    const outcome = await command(`/api/children/${encodeURIComponent(childId)}/transfer`, { toTeamId: select.value, reason: reason.value.trim() });
    submit.disabled = false;
    if (outcome.ok) {
      result.replaceChildren(); // the child leaves the queue when the change arrives, and the feed says so
      return;
    }

    result.replaceChildren(el('div', { class: 'refusal', role: 'alert' }, ...describeProblem(`Not transferred to ${to?.name ?? select.value}:`, outcome.problem)));
  });
  box.replaceChildren(form);
  box.hidden = false;
  opener.setAttribute('aria-expanded', 'true');
  select.focus();
}

const planLabels = { ChildInNeed: 'CIN', ChildProtection: 'CP', ChildLookedAfter: 'CLA', CareLeaver: 'Care leaver' };

function updateQueueItem(item, q, state) {
  item.dataset.deadline = q.deadline;
  item.dataset.started = q.clockStartedAt;
  const reason = { referral: 'Referral', transfer: 'Transfer in' }[q.reason] ?? capitalise(q.reason);
  const meta = [`${reason} · due ${formatDateTime(q.deadline)}`];
  const metaNode = item.querySelector('.meta');
  metaNode.replaceChildren(meta.join(''));
  // The child's plan, which a manager needs when choosing a worker; "no plan recorded" rather than nothing.
  metaNode.append(' · ', el('span', { class: 'badge plan', text: planLabels[q.plan] ?? 'No plan recorded' }));
  if (q.distinctWorkersLast12Months > 0) {
    metaNode.append(` · ${q.distinctWorkersLast12Months} worker${q.distinctWorkersLast12Months === 1 ? '' : 's'} in 12 months `);
  }

  if (q.flagged) {
    metaNode.append(' ', el('span', { class: 'badge flag', text: 'More than 3 workers' }));
  }

  const select = item.querySelector('select');
  const choices = workerChoices(state);
  // Rebuilt only when a worker's figures changed, so an open list is not pulled from under the user.
  if (select.dataset.choices !== choices.key) {
    const chosen = select.value;
    select.replaceChildren(el('option', { value: '', text: 'Choose a worker…' }),
      ...choices.list.map(c => el('option', { value: c.workerId, text: c.text })));
    select.value = choices.list.some(c => c.workerId === chosen) ? chosen : '';
    select.dataset.choices = choices.key;
  }
}

let choicesCache = null;

/** Workers with room first, then the rest; the same list for every queue item of one board version. */
function workerChoices(state) {
  if (choicesCache?.state === state) {
    return choicesCache.choices;
  }

  const hasRoom = w => !w.absentNow && w.caseload < w.ceiling;
  const list = state.workers.slice()
    .sort((a, b) => hasRoom(b) - hasRoom(a) || a.name.localeCompare(b.name))
    .map(w => ({
      workerId: w.workerId,
      text: `${w.name} · ${w.caseload} of ${w.ceiling}${w.absentNow ? ' · absent' : w.caseload >= w.ceiling ? ' · at ceiling' : ''}`,
    }));
  const choices = { list, key: list.map(c => `${c.workerId}:${c.text}`).join('|') };
  choicesCache = { state, choices };
  return choices;
}

function tick() {
  const now = clock.now();
  for (const item of items.values()) {
    const left = (Date.parse(item.dataset.deadline) - now) / 1000;
    const rag = left <= 0 ? 'red' : left <= amberSeconds ? 'amber' : 'green';
    item.classList.remove('rag-green', 'rag-amber', 'rag-red');
    item.classList.add(`rag-${rag}`);
    item.dataset.clock = rag;
    const countdown = item.querySelector('.countdown');
    // The colour is said in words too: amber is "due soon", red "breached".
    countdown.textContent = left <= 0 ? `Breached · ${formatDuration(-left)} over`
      : rag === 'amber' ? `Due soon · ${formatDuration(left)} left` : `${formatDuration(left)} left`;
  }

  if (board) {
    const waits = [...items.values()].map(i => (now - Date.parse(i.dataset.started)) / 1000);
    const longest = $('longest-wait');
    if (longest) {
      longest.textContent = waits.length ? formatShortDuration(Math.max(...waits)) : '–';
    }
  }
}

// ---- recommendations and preview ----

/** Recommendations depend on every caseload in the team: reloaded shortly after the board settles, not per delta. */
function scheduleAdvice() {
  clearTimeout(adviceTimer);
  adviceTimer = setTimeout(loadAdvice, 600);
}

async function loadAdvice() {
  if (!board || board.version === adviceVersion) {
    return;
  }

  adviceVersion = board.version;
  for (const [childId, item] of [...items]) {
    const response = await apiFetch(`/api/children/${encodeURIComponent(childId)}/recommendations`).catch(() => null);
    if (response?.ok && items.get(childId) === item) {
      renderRecommendations(item, childId, await response.json());
    }

    const chosen = item.querySelector('select').value;
    if (chosen && items.get(childId) === item) {
      preview(childId, chosen);
    }
  }
}

function renderRecommendations(item, childId, recs) {
  const top = recs.workers.filter(w => w.recommended).slice(0, recommendationsShown);
  const box = item.querySelector('.recs');
  const key = top.map(w => `${w.workerId}:${w.score}`).join('|');
  if (box.dataset.key === key) {
    return; // unchanged: keep any open "why" where it is
  }

  box.dataset.key = key;
  if (!top.length) {
    box.replaceChildren(el('span', { class: 'recs-label', text: 'No worker can take this child now without an override.' }));
    return;
  }

  const labelId = `recs-${childId}`;
  box.replaceChildren(
    el('span', { class: 'recs-label', id: labelId, text: 'Recommended:' }),
    el('ol', { class: 'recs-list', 'aria-labelledby': labelId }, ...top.map(w => el('li', { dataset: { recommended: w.workerId, rank: w.rank } },
      el('button', {
        type: 'button', class: 'link choose', text: `${w.name} (${w.ceiling - w.caseload} left)`,
        // The visible text first, so a voice user can say what they see.
        'aria-label': `${w.name} (${w.ceiling - w.caseload} left): choose for ${childId}`, onclick: () => choose(childId, w.workerId),
      }),
      el('details', { class: 'why' },
        el('summary', { text: 'Why', 'aria-label': `Why ${w.name}` }),
        el('ul', {}, ...w.reasons.map(r => el('li', { dataset: { kind: r.kind } },
          r.text, ' ', el('span', { class: 'points', text: `(${r.points >= 0 ? '+' : ''}${r.points})` })))))))));
}

function choose(childId, workerId) {
  const select = items.get(childId)?.querySelector('select');
  if (select) {
    select.value = workerId;
    select.focus();
    preview(childId, workerId);
  }
}

async function preview(childId, workerId) {
  const item = items.get(childId);
  if (!item) {
    return;
  }

  const box = item.querySelector('.preview');
  if (!workerId) {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.previewWorker;
    return;
  }

  const sequence = (previewRequests.get(childId) ?? 0) + 1;
  previewRequests.set(childId, sequence);
  const outcome = await command(`/api/children/${encodeURIComponent(childId)}/allocate/preview`, { workerId }, { attempts: 1 });
  if (previewRequests.get(childId) !== sequence || items.get(childId) !== item) {
    return; // a newer choice, or the child has gone
  }

  const worker = board.workers.find(w => w.workerId === workerId);
  const name = worker?.name ?? workerId;
  box.dataset.previewWorker = workerId;
  box.hidden = false;
  if (!outcome.ok) {
    box.dataset.outcome = 'refused';
    const override = outcome.problem.rule === 'caseload-ceiling'
      ? el('div', { class: 'needs-override', text: 'Would need a senior leader\'s override.' })
      : null;
    box.replaceChildren(...describeProblem(`If allocated to ${name}: refused`, outcome.problem), override);
    return;
  }

  const p = outcome.body;
  const rag = { Green: 'green', Amber: 'amber', Red: 'red' }[p.teamRagAfter] ?? 'ink';
  const figure = (key, label, value, extra) => el('li', { dataset: { figure: key } }, `${label} `, el('b', { text: String(value) }), extra ?? '');
  box.dataset.outcome = 'allowed';
  box.replaceChildren(
    el('div', {}, el('strong', { text: `If allocated to ${name}:` })),
    el('ul', { class: 'figures', 'aria-label': 'What the allocation would do' },
      figure('caseload-after', `${name}'s caseload`, `${p.caseloadAfter} of ${p.ceiling}`, p.overCeilingAfter ? ' (over the ceiling)' : ''),
      figure('team-after', 'Team at or under ceiling', `${p.teamAtOrUnderCeilingAfter} of ${p.teamCaseholders} (${p.teamPercentAtOrUnderCeilingAfter}%)`,
        el('span', { class: `pill rag-${rag}`, text: ` ${p.teamRagAfter}` })),
      figure('workers-after', `${childId}'s workers in 12 months`, p.distinctWorkersAfter,
        p.crossesFlag ? ' (crosses the more-than-3 flag)' : p.workerChange ? ' (a change of worker)' : ' (not a change)'),
      figure('override', 'Override needed', p.overrideNeeded ? 'yes' : 'no')));
}

// ---- allocation ----

async function allocate(childId, workerId, options = {}) {
  if (pending.has(childId) && !options.requestId) {
    return;
  }

  const worker = board.workers.find(w => w.workerId === workerId);
  const item = items.get(childId);
  pending.set(childId, workerId);
  clearRefusal(childId);
  setPending(item, `Allocating ${childId} to ${worker?.name ?? workerId}…`);
  const body = { workerId, requestId: options.requestId };
  if (options.override) {
    body.override = options.override;
  }

  const result = await command(`/api/children/${encodeURIComponent(childId)}/allocate`, body);
  pending.delete(childId);
  setPending(item, null);
  if (result.ok) {
    return; // the feed, a live region, says so when the change arrives
  }

  showRefusal(childId, workerId, result.problem, result.requestId);
}

function setPending(item, text) {
  if (!item) {
    return;
  }

  const button = item.querySelector('button[type="submit"]');
  button.disabled = text !== null;
  const box = item.querySelector('.refusal');
  if (text !== null) {
    box.className = 'refusal pending';
    box.removeAttribute('role');
    box.replaceChildren(text);
    box.hidden = false;
  } else if (box.classList.contains('pending')) {
    box.hidden = true;
    box.replaceChildren();
  }
}

function clearRefusal(childId) {
  for (const box of document.querySelectorAll(`.refusal[data-child="${CSS.escape(childId)}"]`)) {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.child;
  }
}

function showRefusal(childId, workerId, problem, requestId) {
  const worker = board.workers.find(w => w.workerId === workerId);
  const describe = prefix => describeProblem(prefix, problem);

  const item = items.get(childId);
  if (item) {
    const box = item.querySelector('.refusal');
    const actions = el('div', { class: 'actions' });
    if (problem.status === 0 && requestId) {
      actions.append(el('button', { type: 'button', class: 'link', text: 'Try again', onclick: () => allocate(childId, workerId, { requestId }) }));
    }

    actions.append(el('button', { type: 'button', class: 'link', text: 'Dismiss', onclick: () => clearRefusal(childId) }));
    box.className = 'refusal';
    box.setAttribute('role', 'alert');
    box.dataset.child = childId;
    box.replaceChildren(...describe(`Not allocated to ${worker?.name ?? workerId}:`), actions,
      problem.rule === 'caseload-ceiling' ? overrideForm(childId, workerId) : '');
    box.hidden = false;
  }

  const card = cards.get(workerId);
  if (card) {
    const box = card.querySelector('.refusal');
    box.dataset.child = childId;
    box.replaceChildren(...describe(`${childId} refused:`),
      el('div', { class: 'actions' }, el('button', { type: 'button', class: 'link', text: 'Dismiss', onclick: () => clearRefusal(childId) })));
    box.hidden = false;
  }
}

/** A refusal as people read it: the rule, the service's sentence, and the numbers behind it. */
function describeProblem(prefix, problem) {
  const figures = problemFigures(problem);
  return [
    el('div', {},
      el('strong', { text: prefix }),
      problem.rule ? el('span', { class: 'rule', text: ` ${problem.rule}` }) : null),
    problem.detail ? el('div', { class: 'detail', text: problem.detail }) : null,
    figures.length
      ? el('ul', { class: 'figures', 'aria-label': 'Figures' },
        ...figures.map(([k, v]) => el('li', { dataset: { figure: k } }, `${figureNames[k] ?? k} `, el('b', { text: String(v) }))))
      : null,
  ];
}

function overrideForm(childId, workerId) {
  if (!hasRole(signedIn, 'SeniorLeader')) {
    return el('p', { class: 'meta', text: 'Only a senior leader may allocate over a ceiling, with a reason.' });
  }

  const reason = el('input', { type: 'text', required: true, autocomplete: 'off', 'aria-label': 'Reason for allocating over the ceiling', placeholder: 'Reason' });
  const form = el('form', { class: 'override-form' }, reason, el('button', { type: 'submit', class: 'secondary', text: 'Allocate over ceiling' }));
  form.addEventListener('submit', e => {
    e.preventDefault();
    // The service records the override as the signed-in leader's, whatever 'by' says.
    allocate(childId, workerId, { override: { by: actingAs, reason: reason.value.trim() } });
  });
  return el('details', {}, el('summary', { text: 'Override…' }), form);
}

// ---- summary, feed, breaches ----

function renderSummary(state) {
  const p = state.pressure;
  const pctRag = p.percentAtOrUnderCeiling >= 85 ? 'green' : p.percentAtOrUnderCeiling >= 75 ? 'amber' : 'red';
  const stat = (label, value, rag, id) => el('div', { class: rag ? `rag-${rag}` : '' }, el('dt', {}, label, ragWord(rag)), el('dd', { id, text: String(value) }));
  $('summary').replaceChildren(
    stat('At or under ceiling', `${p.workersAtOrUnderCeiling} of ${p.workers} (${p.percentAtOrUnderCeiling}%)`, pctRag),
    stat('Open children', p.openChildren),
    stat('Waiting', p.unallocated, p.unallocated > 0 ? 'amber' : 'green'),
    stat('Longest wait', '–', null, 'longest-wait'),
    stat('Breached now', p.breachedNow, p.breachedNow > 0 ? 'red' : 'green'),
    stat('Breaches (24 h)', p.breachesLast24Hours, p.breachesLast24Hours > 0 ? 'red' : 'green'),
    stat('> 3 workers (12 months)', p.childrenOverWorkerThreshold, p.childrenOverWorkerThreshold > 0 ? 'amber' : 'green'),
    stat('Overrides', p.overridesInForce, p.overridesInForce > 0 ? 'red' : null));
}

function renderFeed(state, change) {
  const list = $('feed');
  const names = new Map(state.workers.map(w => [w.workerId, w.name]));
  const item = f => el('li', { dataset: { kind: f.kind, child: f.childId } },
    el('time', { datetime: f.at, text: `${formatTime(f.at)}${f.by ? ` · by ${names.get(f.by) ?? f.by}` : ''}` }),
    el('span', { class: `kind kind-${f.kind}`, text: f.kind.replace(/-/g, ' ') }),
    withNames(f.text, names));
  if (change.kind === 'delta') {
    const added = change.delta.feed.map(item);
    for (const node of added) {
      list.prepend(node);
      flash(node);
    }

    // What changed, said once as it arrives (never on a snapshot or a redraw); a breach needs action now.
    for (const f of change.delta.feed) {
      const said = `${withNames(f.text, names)}${f.by ? ` by ${names.get(f.by) ?? signedInName(f.by)}` : ''}`;
      announce(f.kind === 'breach' ? `Breach: ${said}` : said, { assertive: f.kind === 'breach' });
    }

    while (list.children.length > feedKept) {
      list.lastElementChild.remove();
    }
  } else {
    list.replaceChildren(...state.feed.map(item));
  }

  if (!list.children.length) {
    list.append(el('li', { class: 'empty', text: 'Nothing yet today.' }));
  }
}

function renderBreaches(state) {
  const list = $('breaches');
  const names = new Map(state.workers.map(w => [w.workerId, w.name]));
  list.replaceChildren(...state.recentBreaches.map(b => el('li', { dataset: { child: b.childId } },
    el('strong', { text: b.childId }),
    ` was due ${formatDateTime(b.deadline)}; escalated to ${b.escalatedTo.map(id => names.get(id) ?? id).join(', ')}`,
    el('time', { datetime: b.recordedAt, text: `Recorded ${formatDateTime(b.recordedAt)}` }))));
  $('breaches-empty').hidden = state.recentBreaches.length > 0;
  $('breach-count').textContent = state.recentBreaches.length ? String(state.recentBreaches.length) : '';
}

/** The signed-in user's name for their own id (a leader is not on the team's worker list); others as their id. */
function signedInName(id) {
  return id === actingAs ? signedIn.user.name ?? id : id;
}

function withNames(text, names) {
  return text.replace(/[A-Za-z0-9._-]+/g, token => (names.has(token) ? names.get(token) : token));
}

function capitalise(s) {
  return s ? s[0].toUpperCase() + s.slice(1).replace(/-/g, ' ') : '';
}

function showError(message) {
  const banner = $('error');
  banner.replaceChildren(message, ' ', el('a', { href: '/', text: 'Choose a board' }));
  banner.hidden = false;
  $('board').classList.add('failed');
  $('board').setAttribute('aria-busy', 'false');
}
