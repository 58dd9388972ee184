// The app: log in once, then the phone screens for field roles or the console for the
// command centre and supervisors. Hash routes keep it a single cached shell offline.
import { h, mount, toast } from './lib/dom.js';
import { t, toggleLanguage } from './lib/i18n.js';
import { api, ApiError, clearSession, loadToken, setSession } from './lib/api.js';
import { kv } from './lib/db.js';
import * as outbox from './lib/outbox.js';
import * as queue from './lib/queue.js';

const FIELD = new Set(['grid_worker', 'grid_leader', 'village_staff', 'township_board_handler', 'department_handler']);
const root = document.getElementById('app');

async function start() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/', type: 'module' }).catch(() => {});
  }
  const token = await loadToken();
  if (!token) return loginScreen();
  let me = await kv.get('me');
  try {
    me = await api.get('/auth/me');
    await kv.set('me', me);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      await clearSession();
      return loginScreen();
    }
    // Offline: carry on with who we were.
  }
  if (!me) return loginScreen();
  const role = me.user.role;
  document.body.classList.add(FIELD.has(role) ? 'phone-body' : 'console-body');
  if (FIELD.has(role)) {
    const { startPhone } = await import('./phone/app.js');
    await startPhone(root, me);
  } else {
    const { startConsole } = await import('./console/app.js');
    await startConsole(root, me);
  }
  wireOutbox();
}

// The outbox and the write queue flush on start, when the network returns and when the app
// comes back to view.
function wireOutbox() {
  const flush = () => {
    outbox.flush().catch(() => {});
    queue.flush().catch(() => {});
  };
  flush();
  window.addEventListener('online', flush);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') flush();
  });
}

function loginScreen() {
  const username = h('input', { id: 'username', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  mount(root, h('form.login', {
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        const answer = await api.post('/auth/login', { username: username.value.trim(), password: password.value });
        await setSession(answer.token, null);
        await kv.set('me', await api.get('/auth/me'));
        await loadTaxonomy();
        start();
      } catch (err) {
        toast(err.message, 'error');
      }
    },
  },
  h('h1', t('app_name')),
  h('label', t('username'), username),
  h('label', t('password'), password),
  h('button.big.primary', { type: 'submit', id: 'login' }, t('login')),
  h('button.link', { type: 'button', onclick: () => { toggleLanguage(); loginScreen(); } }, t('language'))));
}

// The taxonomy, kept for offline category suggestions and names.
export async function loadTaxonomy() {
  try {
    const answer = await api.get('/categories');
    await kv.set('taxonomy', answer.items);
  } catch (err) {
    // keep the cached copy
  }
}

export async function logout() {
  await api.post('/auth/logout', {}).catch(() => {});
  await clearSession();
  // Cached API answers belong to the person who logged out.
  if (navigator.serviceWorker && navigator.serviceWorker.controller) {
    navigator.serviceWorker.controller.postMessage({ type: 'clear-api-cache' });
  }
  // A fresh page: no live connection, timer or screen of the last user survives.
  location.hash = '';
  location.reload();
}

start();
