// Live boards: one SignalR connection per page, and for each board it shows a snapshot plus the deltas that
// follow it. Every rule about versions lives here: a delta is applied only when it is exactly the next version,
// an older one is ignored, and a gap, an epoch change or a reconnect fetches a fresh snapshot.
/* global signalR */
import { accessToken, apiFetch, onSignOut } from './session.js';

const hubUrl = '/hubs/boards';

// Retry for as long as the page is open: a manager keeps the board up all day.
const retryDelays = [0, 1000, 2000, 5000, 10000];
const retryPolicy = {
  nextRetryDelayInMilliseconds: ctx => retryDelays[Math.min(ctx.previousRetryCount, retryDelays.length - 1)] + Math.random() * 500,
};

const statusText = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  resyncing: 'Resyncing…',
  offline: 'Offline – retrying',
};

export class LiveBoards {
  /** `connection` is for tests: anything shaped like a HubConnection. */
  constructor({ statusElement, connection } = {}) {
    this._statusElement = statusElement ?? document.getElementById('connection');
    this._boards = [];
    this._status = null;
    this.connection = connection ?? new signalR.HubConnectionBuilder()
      // The token goes as access_token in the query string: browsers cannot set headers on WebSockets.
      .withUrl(hubUrl, { accessTokenFactory: accessToken })
      .withAutomaticReconnect(retryPolicy)
      .configureLogging(signalR.LogLevel.Warning)
      .build();
    // Signing out closes the connection before the session ends.
    onSignOut(() => this.connection.stop());
    this.connection.onreconnecting(() => this._setStatus('reconnecting'));
    // Messages sent while the connection was down are lost: every board starts again from a snapshot.
    this.connection.onreconnected(() => this._resyncAll());
    // Automatic reconnect never gives up with the policy above, but the server can still close the connection.
    this.connection.onclose(() => { this._setStatus('offline'); setTimeout(() => this._start(), 5000); });
    this._setStatus('connecting');
  }

  /**
   * Shows one board live. `board` describes it:
   *   subscribe: [method, ...args], the hub method returning the snapshot (and joining the board's group)
   *   event: the server event carrying its deltas; matches(delta): whether a delta is for this board
   *   apply(state, delta): the state after the delta; render(state, change): draws it
   *   change is { kind: 'snapshot' } or { kind: 'delta', delta, previous }
   *   onError(error): the subscription failed (unknown id, server error)
   * Snapshots and deltas carry `version`; those with an `epoch` are compared by epoch first.
   */
  add(board) {
    const entry = { ...board, state: null, buffer: null, generation: 0 };
    this._boards.push(entry);
    this.connection.on(board.event, delta => {
      if (board.matches(delta)) {
        this._receive(entry, delta);
      }
    });
    return entry;
  }

  async start() {
    await this._start();
  }

  async _start() {
    if (this.connection.state !== signalR.HubConnectionState.Disconnected) {
      return;
    }

    try {
      this._setStatus('connecting');
      await this.connection.start();
      await this._resyncAll();
    } catch {
      this._setStatus('offline');
      setTimeout(() => this._start(), 5000);
    }
  }

  async _resyncAll() {
    this._setStatus('resyncing');
    await Promise.all(this._boards.map(b => this._resync(b)));
    if (this.connection.state === signalR.HubConnectionState.Connected) {
      this._setStatus(this._boards.some(b => b.buffer !== null) ? 'resyncing' : 'live');
    }
  }

  _receive(entry, delta) {
    if (entry.buffer !== null) {
      // The snapshot is on its way: keep the delta until we know which version the snapshot has.
      entry.buffer.push(delta);
      return;
    }

    if (entry.state === null) {
      return;
    }

    const current = entry.state;
    if ('epoch' in delta && delta.epoch !== current.epoch) {
      this._resync(entry).then(() => this._settle());
      return;
    }

    if (delta.version <= current.version) {
      return;
    }

    if (delta.version !== current.version + 1) {
      this._resync(entry).then(() => this._settle());
      return;
    }

    this._applyDelta(entry, delta);
  }

  _applyDelta(entry, delta) {
    const previous = entry.state;
    entry.state = entry.apply(previous, delta);
    entry.render(entry.state, { kind: 'delta', delta, previous });
  }

  async _resync(entry) {
    const generation = ++entry.generation;
    entry.buffer = [];
    if (this._status === 'live') {
      this._setStatus('resyncing');
    }

    let snapshot;
    try {
      snapshot = await this.connection.invoke(...entry.subscribe);
    } catch (error) {
      if (generation === entry.generation) {
        entry.buffer = null;
        entry.onError?.(error);
      }
      return;
    }

    if (generation !== entry.generation) {
      return; // a later resync superseded this one
    }

    const buffered = entry.buffer.sort((a, b) => a.version - b.version);
    entry.buffer = null;
    entry.state = snapshot;
    entry.render(snapshot, { kind: 'snapshot' });
    for (const delta of buffered) {
      this._receive(entry, delta);
    }
  }

  _settle() {
    if (this.connection.state === signalR.HubConnectionState.Connected && this._boards.every(b => b.buffer === null)) {
      this._setStatus('live');
    }
  }

  _setStatus(status) {
    this._status = status;
    const el = this._statusElement;
    if (!el) {
      return;
    }

    el.dataset.status = status;
    el.querySelector('.status-text').textContent = statusText[status];
  }
}

// ---- HTTP commands ----

/**
 * Sends a command: { ok: true, body } or { ok: false, problem } (problem details; status 0 when the service could
 * not be reached). Pass the `requestId` of an earlier attempt to retry it: the service applies it once.
 */
export async function command(url, body, { attempts = 3 } = {}) {
  // The request id is fixed before the first attempt, so a retry after a lost response is applied once.
  const payload = { ...body, requestId: body.requestId ?? crypto.randomUUID() };
  let lastError = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt > 0) {
      await new Promise(r => setTimeout(r, 500 * 2 ** attempt));
    }

    let response;
    try {
      response = await apiFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, application/problem+json' },
        body: JSON.stringify(payload),
      });
    } catch (error) {
      lastError = error;
      continue;
    }

    if (response.status >= 500) {
      lastError = new Error(`HTTP ${response.status}`);
      continue;
    }

    const json = await response.json().catch(() => ({}));
    return response.ok ? { ok: true, body: json, requestId: payload.requestId } : { ok: false, problem: { status: response.status, ...json }, requestId: payload.requestId };
  }

  return {
    ok: false,
    requestId: payload.requestId,
    problem: { status: 0, title: 'Service not reachable', detail: `The request was not confirmed (${lastError?.message ?? 'network error'}). It is safe to try again.` },
  };
}

const problemKeys = new Set(['type', 'title', 'status', 'detail', 'instance', 'traceId', 'rule', 'errors']);

/** The numbers a refusal carries (current, ceiling, after…), as [name, value] pairs. */
export function problemFigures(problem) {
  return Object.entries(problem).filter(([k, v]) => !problemKeys.has(k) && (typeof v === 'number' || typeof v === 'string'));
}

// ---- formatting ----

export const roleNames = {
  SocialWorker: 'Social worker',
  NewlyQualified: 'NQSW (ASYE)',
  AdvancedPractitioner: 'Advanced practitioner',
  PersonalAdviser: 'Personal adviser',
  PracticeManager: 'Practice manager',
};

/** Green below ceiling − 2, amber close to it, red at or over it. */
export function capacityRag(caseload, ceiling) {
  if (caseload >= ceiling) {
    return 'red';
  }

  return caseload < ceiling - 2 ? 'green' : 'amber';
}

/** A RAG colour said in words, beside the coloured figure it rates (amber and red only: green is the quiet case). */
export function ragWord(rag) {
  return rag === 'amber' || rag === 'red' ? el('span', { class: 'rag-word', text: rag }) : null;
}

export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = n => String(n).padStart(2, '0');
  if (d > 0) {
    return `${d}d ${h}h ${pad(m)}m`;
  }

  return h > 0 ? `${h}h ${pad(m)}m ${pad(s % 60)}s` : `${m}m ${pad(s % 60)}s`;
}

export function formatShortDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${String(m).padStart(2, '0')}m` : `${m}m`;
}

const dateFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'Europe/London' });
const timeFormat = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London' });
const dateTimeFormat = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/London' });

export const formatDate = iso => dateFormat.format(new Date(iso));
export const formatTime = iso => timeFormat.format(new Date(iso));
export const formatDateTime = iso => dateTimeFormat.format(new Date(iso));

/** Creates an element: el('li', { class: 'x', dataset: { id } }, child, 'text'). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) {
      continue;
    }

    if (key === 'class') {
      node.className = value;
    } else if (key === 'dataset') {
      Object.assign(node.dataset, value);
    } else if (key === 'text') {
      node.textContent = value;
    } else if (key.startsWith('on')) {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? '' : value);
    }
  }

  node.append(...children.filter(c => c !== null && c !== undefined && c !== false));
  return node;
}

const spoken = { polite: [], assertive: [] };

/**
 * Says something to screen reader users: politely through the page's status region (#announcer), or, for what needs
 * action now (a breach), assertively through its alert region (#alerter). Messages arriving together are read as one,
 * so a burst of changes does not cut itself off.
 */
export function announce(message, { assertive = false } = {}) {
  const kind = assertive ? 'assertive' : 'polite';
  const region = document.getElementById(assertive ? 'alerter' : 'announcer');
  if (!region) {
    return;
  }

  const queue = spoken[kind];
  queue.push(message);
  if (queue.length > 1) {
    return;
  }

  region.textContent = '';
  // Set after a pause, as a fresh text node, so it is announced even when the same words come again.
  setTimeout(() => { region.textContent = queue.splice(0).join(' '); }, 100);
}

/** Time on the server, from the `at` of the last snapshot, so countdowns do not depend on this machine's clock. */
export class ServerClock {
  constructor() {
    this._offset = 0;
  }

  sync(serverIso) {
    if (serverIso) {
      this._offset = Date.parse(serverIso) - Date.now();
    }
  }

  now() {
    return Date.now() + this._offset;
  }
}

/** Marks an element as just changed, for a short highlight. */
export function flash(node) {
  node.classList.remove('changed');
  void node.offsetWidth; // restart the animation
  node.classList.add('changed');
}
