// The signed-in user's session: a bearer token kept for this browser tab (sessionStorage), sent with every API call
// and to the hub (as the access_token query parameter, the SignalR convention for WebSockets). Pages that need a
// user send the browser to the sign-in page when there is none or it has expired.
const storageKey = 'allocation.session';
const dashboardCookie = 'allocation_access_token';
const dashboardPaths = ['/hangfire', '/dashboard'];

export const roleLabels = {
  SocialWorker: 'Social worker',
  PracticeManager: 'Practice manager',
  SeniorLeader: 'Senior leader',
  Administrator: 'Administrator',
};

/** { accessToken, expiresAt, user: { id, name, roles, teams, workerId } }, or null. */
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
  for (const path of dashboardPaths) {
    document.cookie = `${dashboardCookie}=${s.accessToken}; path=${path}; SameSite=Strict${secure}`;
  }
}

export function signOut() {
  sessionStorage.removeItem(storageKey);
  for (const path of dashboardPaths) {
    document.cookie = `${dashboardCookie}=; path=${path}; max-age=0`;
  }
  location.href = '/signin.html';
}

/** The session, or off to the sign-in page (which comes back here). */
export function requireSession() {
  const s = session();
  if (!s) {
    location.replace(`/signin.html?return=${encodeURIComponent(location.pathname + location.search)}`);
    throw new Error('Not signed in.');
  }

  return s;
}

export const accessToken = () => session()?.accessToken ?? '';

export const hasRole = (s, role) => (s?.user?.roles ?? []).includes(role);

/** fetch with the bearer token; a 401 (expired or unknown token) sends the user to sign in again. */
export async function apiFetch(url, options = {}) {
  const headers = new Headers(options.headers);
  const token = accessToken();
  if (token) {
    headers.set('authorization', `Bearer ${token}`);
  }

  const response = await fetch(url, { ...options, headers });
  if (response.status === 401) {
    sessionStorage.removeItem(storageKey);
    requireSession();
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
  out.textContent = 'Sign out';
  out.addEventListener('click', signOut);
  nav.append(who, out);
}
