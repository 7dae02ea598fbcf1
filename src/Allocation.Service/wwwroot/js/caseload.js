// A social worker's own caseload: their children, when each came to them, and how many workers each has had.
// The server sends the whole (small) board with every change, so a delta simply replaces it.
import { LiveBoards, announce, capacityRag, el, flash, formatDate, formatDateTime, roleNames } from './boards.js';
import { requireSession, showUser } from './session.js';

const signedIn = await requireSession();
showUser(signedIn);

// A social worker's own caseload by default; managers and leaders open a worker's from the team board.
const workerId = new URLSearchParams(location.search).get('worker')
  ?? (signedIn.user.roles.includes('SocialWorker') ? signedIn.user.workerId : null);
const $ = id => document.getElementById(id);
const rows = new Map(); // childId -> row

if (!workerId) {
  showError('No worker chosen. Open your caseload from the start page.');
} else {
  const live = new LiveBoards();
  live.add({
    subscribe: ['SubscribeWorker', workerId],
    event: 'workerBoardDelta',
    matches: d => d.workerId === workerId,
    apply: (_, delta) => delta.board,
    render,
    onError: e => showError(e.message.replace(/^.*HubException: /, '')),
  });
  live.start();
}

function render(board, change) {
  $('error').hidden = true;
  $('board').classList.remove('failed');
  document.title = `${board.name} · My caseload · Allocation`;
  $('board').dataset.version = board.version;
  $('who').textContent = board.name;
  $('team').textContent = board.teamName;
  $('role').textContent = `${roleNames[board.role] ?? board.role} · ${Number(board.fte).toFixed(1)} FTE · ${board.workerId}`;

  const badges = [];
  if (board.absentNow) {
    badges.push(el('span', { class: 'badge absent', text: `Absent${board.absentNow.to ? ` until ${formatDateTime(board.absentNow.to)}` : ''}: ${board.absentNow.reason}` }));
  }

  if (board.hasLeft) {
    badges.push(el('span', { class: 'badge left', text: 'Left the service' }));
  }

  $('badges').replaceChildren(...badges);

  // A manager on a ceiling of zero carries no cases: nothing to warn about.
  const none = board.ceiling === 0 && board.caseload === 0;
  $('load-panel').className = `panel rag-${none ? 'grey' : capacityRag(board.caseload, board.ceiling)}`;
  $('caseload').textContent = board.caseload;
  $('ceiling').textContent = `of ${board.ceiling} (my ceiling)`;
  const room = board.ceiling - board.caseload;
  $('room').textContent = none ? 'No caseload' : room > 1 ? `${room} places left` : room === 1 ? '1 place left' : room === 0 ? 'At ceiling' : `${-room} over ceiling`;
  $('bar').style.width = none ? '0' : `${Math.min(100, board.ceiling > 0 ? (100 * board.caseload) / board.ceiling : 100)}%`;

  renderChildren(board, change);
  $('board').setAttribute('aria-busy', 'false');
}

function renderChildren(board, change) {
  const tbody = $('children');
  const children = board.children.slice().sort((a, b) => Date.parse(b.allocatedAt) - Date.parse(a.allocatedAt));
  const before = new Set(rows.keys());
  const added = [];
  children.forEach((c, index) => {
    let row = rows.get(c.childId);
    if (!row) {
      row = el('tr', { dataset: { child: c.childId } }, el('th', { scope: 'row' }), el('td'), el('td', { class: 'num' }), el('td', { class: 'num' }), el('td'));
      rows.set(c.childId, row);
      if (change.kind === 'delta') {
        added.push(c.childId);
      }
    }

    const [child, allocated, changes, distinct, flags] = row.children;
    child.textContent = c.childId;
    allocated.replaceChildren(el('time', { datetime: c.allocatedAt, title: formatDateTime(c.allocatedAt), text: formatDate(c.allocatedAt) }));
    changes.textContent = c.workerChanges;
    distinct.textContent = c.distinctWorkersLast12Months;
    flags.replaceChildren(
      c.flagged ? el('span', { class: 'badge flag', text: 'More than 3 workers in 12 months' }) : '',
      c.overCeiling ? el('span', { class: 'badge override', text: 'Over ceiling by override' }) : '');
    row.classList.toggle('flagged', c.flagged);
    if (tbody.children[index] !== row) {
      tbody.insertBefore(row, tbody.children[index] ?? null);
    }

    before.delete(c.childId);
  });

  for (const id of before) {
    rows.get(id).remove();
    rows.delete(id);
  }

  for (const id of added) {
    flash(rows.get(id));
  }

  if (change.kind === 'delta') {
    const removed = [...before];
    const parts = [];
    if (added.length) {
      parts.push(`${added.join(', ')} allocated to you`);
    }

    if (removed.length) {
      parts.push(`${removed.join(', ')} no longer on your caseload`);
    }

    if (parts.length) {
      announce(`${parts.join('; ')}. You now have ${board.caseload} of ${board.ceiling}.`);
    }
  }

  $('count').textContent = `${children.length} children`;
  $('empty').hidden = children.length > 0;
  $('children-table').hidden = children.length === 0;
}

function showError(message) {
  const banner = $('error');
  banner.replaceChildren(message, ' ', el('a', { href: '/', text: 'Choose a board' }));
  banner.hidden = false;
  $('board').classList.add('failed');
  $('board').setAttribute('aria-busy', 'false');
}
