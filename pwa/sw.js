// The service worker: the app shell and vendor code come from the cache, so the app starts with
// no network; API reads go to the network first and fall back to the last answer; writes are
// never cached (the outbox retries them). The server prepends
// `self.WANGGE_SHELL = {version, precache, lazy}` (app/core/web.py): any change to a file of the
// shell changes these bytes, and the browser installs the new version.
import { flush } from '/js/lib/outbox.js';
import { flush as flushQueue } from '/js/lib/queue.js';

const SHELL = self.WANGGE_SHELL || { version: 'dev', precache: ['/'], lazy: [] };
const SHELL_CACHE = `wangge-shell-${SHELL.version}`;
const API_CACHE = 'wangge-api';
// Cached on install (precache) or on first use (lazy: the console's map library, which a
// phone never loads).
const OWN = new Set([...SHELL.precache, ...SHELL.lazy]);

self.addEventListener('install', (event) => {
  // 'no-cache' revalidates with the server (ETag) instead of trusting the HTTP cache's copy.
  const requests = SHELL.precache.map((url) => new Request(url, { cache: 'no-cache' }));
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(requests)));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith('wangge-shell-') && name !== SHELL_CACHE) await caches.delete(name);
      }
      // Control the page that installed us, so it keeps working offline without a reload.
      await self.clients.claim();
    })(),
  );
});

// The page can let a waiting update take over (after asking the user), and forget cached API
// answers (on logout).
self.addEventListener('message', (event) => {
  const type = event.data && event.data.type;
  if (type === 'skip-waiting') self.skipWaiting();
  if (type === 'clear-api-cache') event.waitUntil(caches.delete(API_CACHE));
});

// Background Sync: the outbox is sent when the network returns, even with the app closed.
self.addEventListener('sync', (event) => {
  if (event.tag === 'outbox') event.waitUntil(flush());
  if (event.tag === 'queue') event.waitUntil(flushQueue());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/')) {
    event.respondWith(networkFirst(request));
  } else if (request.mode === 'navigate' && url.pathname === '/') {
    event.respondWith(cacheFirst('/'));
  } else if (OWN.has(url.pathname)) {
    // Keyed by path: MapLibre asks for its worker with ?v=<version>.
    event.respondWith(cacheFirst(url.pathname));
  }
});

async function cacheFirst(key) {
  const cache = await caches.open(SHELL_CACHE);
  const hit = await cache.match(key, { ignoreSearch: true });
  if (hit) return hit;
  // A lazy file, or the cache was cleared: fetch past the HTTP cache, which may be older.
  const response = await fetch(key, { cache: 'no-cache' });
  if (response.ok) await cache.put(key, response.clone());
  return response;
}

async function networkFirst(request) {
  const cache = await caches.open(API_CACHE);
  try {
    const response = await fetch(request);
    const storable = !/no-store/.test(response.headers.get('Cache-Control') || '');
    if (response.ok && storable) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    // Offline: the last answer for this URL and this token (the API sends Vary: Authorization).
    return (await cache.match(request)) || Response.error();
  }
}
