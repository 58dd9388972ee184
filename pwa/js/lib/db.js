// A small promise wrapper over IndexedDB: the outbox, the session and cached lookups live here
// so they survive a closed tab, a restart and the service worker reading them in the background.

const NAME = 'wangge';
// 2: the write queue (checklist answers, patrols) beside the report outbox.
const VERSION = 2;
let opening = null;

export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(NAME, VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains('kv')) db.createObjectStore('kv');
        if (!db.objectStoreNames.contains('outbox')) {
          const outbox = db.createObjectStore('outbox', { keyPath: 'client_uuid' });
          outbox.createIndex('status', 'status');
        }
        if (!db.objectStoreNames.contains('queue')) {
          const queue = db.createObjectStore('queue', { keyPath: 'id' });
          queue.createIndex('status', 'status');
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function store(name, mode = 'readonly') {
  const db = await open();
  return db.transaction(name, mode).objectStore(name);
}

export async function get(name, key) {
  return done((await store(name)).get(key));
}

export async function put(name, value, key) {
  return done((await store(name, 'readwrite')).put(value, key));
}

export async function del(name, key) {
  return done((await store(name, 'readwrite')).delete(key));
}

export async function all(name) {
  return done((await store(name)).getAll());
}

// The signed-in person's items in an outbox-like store: work queued on a shared phone goes
// out only under the session of whoever did it. `legacy` counts items saved before user ids
// were kept as theirs.
export async function ownItems(name, { legacy = false } = {}) {
  const me = await get('kv', 'me');
  const userId = me && me.user ? me.user.id : null;
  return (await all(name)).filter((i) => (legacy ? (i.user_id ?? userId) : i.user_id) === userId);
}

// Items by status: what the phone shows as waiting, sent and refused.
export function tally(items) {
  const result = { waiting: 0, sent: 0, rejected: 0 };
  for (const item of items) result[item.status] = (result[item.status] || 0) + 1;
  return result;
}

// The key-value store: the session token, cached taxonomy, the last message id seen.
export const kv = {
  get: (key) => get('kv', key),
  set: (key, value) => put('kv', value, key),
  del: (key) => del('kv', key),
};

// A read from the network, kept for when the network is gone: the answer, or offline the last
// one we saw (null if none).
export async function cached(key, load) {
  try {
    const value = await load();
    await kv.set(key, value);
    return value;
  } catch (err) {
    return (await kv.get(key)) || null;
  }
}
