// The signed-in user's session. Two kinds:
// - signed in through the authority's identity provider (Production): the service holds the session and the browser
//   only an HttpOnly cookie, which it sends by itself; the pages learn who is signed in from /api/me and add the
//   anti-forgery header to every request.
// - the demo sign-in (Development only): a bearer token kept for this browser tab (sessionStorage), sent with every
//   API call and to the hub (as the access_token query parameter, the SignalR convention for WebSockets).
// Pages that need a user send the browser to sign in when there is none or it has expired.
const storageKey = 'allocation.session';
const dashboardCookies = ['/hangfire', '/dashboard'];
export const antiForgeryHeader = 'x-allocation-request';

export const roleLabels = {
  SocialWorker: 'Social worker',
  PracticeManager: 'Practice manager',
  SeniorLeader: 'Senior leader',
  Administrator: 'Administrator',
};

let cookieSession = null;
const signingOut = [];

/** The demo's { accessToken, expiresAt, user: { id, name, roles, teams, workerId } }, or null. */
export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null');
    return s && new Date(s.expiresAt) > new Date() ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s) {
  sessionStorage.setItem(storageKey, JSON.stringify(s));
  // The dashboards are navigated to, so they cannot be sent a header: they read this cookie, on their own paths only.
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  for (const path of dashboardCookies) {
    document.cookie = `allocation_access_token=${s.accessToken}; path=${path}; SameSite=Strict${secure}`;
  }
}

/** Called before signing out: live connections close first. */
export function onSignOut(stop) {
  signingOut.push(stop);
}

/** Set once signing out has begun: a request refused meanwhile (the session already ended) must not start a sign-in. */
let leaving = false;

export async function signOut() {
  leaving = true;
  await Promise.allSettled(signingOut.map(stop => stop()));
  if (session()) {
    sessionStorage.removeItem(storageKey);
    for (const path of dashboardCookies) {
      document.cookie = `allocation_access_token=; path=${path}; max-age=0`;
    }

    location.href = '/signin.html';
    return;
  }

  // The service ends its session and answers with the provider's sign-out address, which ends the provider's too.
  const response = await fetch('/auth/sign-out', { method: 'POST', headers: { [antiForgeryHeader]: '1' } });
  location.href = response.ok ? (await response.json()).location : '/signed-out.html';
}

/** Off to sign in; the page's own work never continues (a promise that does not settle). */
function toSignIn() {
  if (leaving) return new Promise(() => {});
  location.replace(`/auth/sign-in?returnUrl=${encodeURIComponent(location.pathname + location.search)}`);
  return new Promise(() => {});
}

/** The session, or off to sign in (which comes back here). Nothing of the page's data is fetched before it. */
export async function requireSession() {
  const s = session();
  if (s) {
    return s;
  }

  const response = await fetch('/api/me', { headers: { accept: 'application/json' } });
  if (!response.ok) {
    return toSignIn();
  }

  cookieSession = { user: await response.json() };
  return cookieSession;
}

/** The demo's token; with the provider's session cookie there is none to send. */
export const accessToken = () => session()?.accessToken ?? '';

export const hasRole = (s, role) => (s?.user?.roles ?? []).includes(role);

/** fetch with the session; a 401 (expired or unknown session) sends the user to sign in again. */
export async function apiFetch(url, options = {}) {
  const headers = new Headers(options.headers);
  headers.set(antiForgeryHeader, '1');
  const token = accessToken();
  if (token) {
    headers.set('authorization', `Bearer ${token}`);
  }

  const response = await fetch(url, { ...options, headers });
  if (response.status === 401) {
    sessionStorage.removeItem(storageKey);
    cookieSession = null;
    return toSignIn();
  }

  return response;
}

/** "Name · role · Sign out" in the page's top bar. */
export function showUser(s) {
  const nav = document.querySelector('header.topbar nav');
  if (!nav || !s) {
    return;
  }

  const who = document.createElement('span');
  who.className = 'signed-in';
  who.id = 'signed-in';
  who.textContent = `${s.user.name ?? s.user.id} · ${s.user.roles.map(r => roleLabels[r] ?? r).join(', ')}`;
  const out = document.createElement('button');
  out.type = 'button';
  out.className = 'link';
  out.id = 'sign-out';
  out.textContent = 'Sign out';
  out.addEventListener('click', signOut);
  nav.append(who, out);
}
