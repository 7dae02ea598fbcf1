// Demo sign-in: lists the seeded users by role and signs in as the one chosen. The service answers 404 here
// outside the demo (Development with no identity provider), 403 on PostgreSQL unless allowed, and the page says so.
import { el } from './boards.js';
import { roleLabels, saveSession } from './session.js';

const container = document.getElementById('users');
const back = new URLSearchParams(location.search).get('return');
// Only a path on this site, never an address elsewhere.
const returnTo = back && back.startsWith('/') && !back.startsWith('//') ? back : null;

async function load() {
  const response = await fetch('/api/demo/users', { headers: { accept: 'application/json' } });
  container.setAttribute('aria-busy', 'false');
  if (!response.ok) {
    container.replaceChildren();
    const unavailable = document.getElementById('unavailable');
    // Refused (403, a development service on PostgreSQL): the service's own words say why and what to set.
    const problem = response.status === 403 ? await response.json().catch(() => null) : null;
    if (problem?.detail) {
      unavailable.textContent = problem.detail;
    }

    unavailable.hidden = false;
    return;
  }

  document.getElementById('demo-banner').hidden = false;
  const users = await response.json();
  const order = ['SeniorLeader', 'PracticeManager', 'SocialWorker', 'Administrator'];
  container.replaceChildren(...order.map(role => {
    const ofRole = users.filter(u => u.roles[0] === role);
    return ofRole.length === 0 ? null : el('section', { class: 'panel', 'aria-labelledby': `role-${role}` },
      el('h2', { id: `role-${role}`, text: roleLabels[role] }),
      el('ul', { class: 'workers' }, ...ofRole.map(u => el('li', {},
        el('button', { type: 'button', class: 'link', dataset: { user: u.id }, text: u.name, onclick: () => signIn(u.id) }),
        el('span', { class: 'meta', text: ` ${u.id} · ${u.description}` })))));
  }).filter(Boolean));
}

async function signIn(userId) {
  const response = await fetch('/api/demo/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  if (!response.ok) {
    container.prepend(el('p', { class: 'error-banner', role: 'alert', text: `Could not sign in as ${userId} (${response.status}).` }));
    return;
  }

  const signedIn = await response.json();
  saveSession({ accessToken: signedIn.accessToken, expiresAt: signedIn.expiresAt, user: signedIn.user });
  location.href = returnTo ?? '/';
}

load().catch(() => container.replaceChildren(el('p', { class: 'error-banner', text: 'The service could not be reached. Reload to try again.' })));
