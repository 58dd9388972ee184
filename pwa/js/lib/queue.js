// The write queue: field work other than reports (checklist answers, patrol starts, track
// points, stops) waits in IndexedDB until the server has it, in the order it was done.
// Like the outbox it runs in the page and in the service worker, and touches no DOM.
//
// An item is one API write: {kind, method, path, body, photos, photoField, label}. Photos are
// uploaded first as attachments and their ids put into body[photoField]. Every write the queue
// sends must be idempotent on the server (a client-chosen id or a natural key), because a
// write whose answer was lost on a weak network is sent again.
import { get, ownItems, put, tally } from './db.js';
import { ApiError, loadToken, request } from './api.js';

const channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('queue') : null;
const listeners = new Set();
let flushing = null;
let sequence = 0;

function announce(item) {
  if (channel) channel.postMessage({ type: 'changed', kind: item && item.kind });
  listeners.forEach((fn) => fn(item));
}

export function onChange(fn) {
  listeners.add(fn);
  if (channel) channel.addEventListener('message', (e) => fn(e.data));
}

export async function enqueue({ kind, method = 'POST', path, body, photos = [], photoField = 'photos', label = '' }) {
  const me = await get('kv', 'me');
  const now = new Date().toISOString();
  sequence += 1;
  const item = {
    // Sortable: the order work was done is the order it is sent (a patrol's start before
    // its points).
    id: `${now}#${String(sequence).padStart(6, '0')}#${crypto.randomUUID()}`,
    kind,
    method,
    path,
    body,
    photos: photos.map((blob) => ({ blob, attachment_id: null })),
    photoField,
    label,
    user_id: me && me.user ? me.user.id : null,
    status: 'waiting',
    created_at: now,
    attempts: 0,
  };
  await put('queue', item);
  announce(item);
  return item;
}

const mine = () => ownItems('queue');

// Change the body of a write still waiting (a note added to a queued answer, its photos not
// uploaded twice). Runs under the flush's lock, so it never races a send of the same write;
// false when the write has gone meanwhile (sent, or set aside), and the caller writes anew.
export async function amend(id, change) {
  const locks = typeof navigator !== 'undefined' && navigator.locks;
  const apply = async () => {
    const item = await get('queue', id);
    if (!item || item.status !== 'waiting') return false;
    item.body = change(item.body);
    await put('queue', item);
    announce(item);
    return true;
  };
  if (locks) return locks.request('wangge-queue', apply);
  if (flushing) await flushing.catch(() => {});
  return apply();
}

// The signed-in person's items, newest first; `kind` narrows to one kind.
export async function items(kind) {
  const list = (await mine()).filter((i) => !kind || i.kind === kind);
  return list.sort((a, b) => b.id.localeCompare(a.id));
}

export async function counts(kind) {
  return tally(await items(kind));
}

// Send everything waiting, oldest first. A refused item is set aside with the server's reason
// and the rest go on; a network or server failure stops the run (order is kept for the retry).
export function flush() {
  if (!flushing) {
    const locks = typeof navigator !== 'undefined' && navigator.locks;
    const once = locks ? locks.request('wangge-queue', () => run()) : run();
    flushing = once.finally(() => (flushing = null));
  }
  return flushing;
}

async function run() {
  if (!(await loadToken())) return 0;
  const waiting = (await mine()).filter((i) => i.status === 'waiting').sort((a, b) => a.id.localeCompare(b.id));
  let sent = 0;
  for (const stale of waiting) {
    const item = await get('queue', stale.id);
    if (!item || item.status !== 'waiting') continue;
    try {
      await send(item);
      sent += 1;
    } catch (err) {
      item.attempts += 1;
      item.last_error = err.message;
      const stop = !(err instanceof ApiError) || err.retryable || err.status === 401;
      if (!stop) {
        item.status = 'rejected';
        item.rejected = { code: err.code, message: err.message, details: err.details };
      }
      await put('queue', item);
      announce(item);
      if (stop) break;
    }
  }
  return sent;
}

async function send(item) {
  for (const photo of item.photos) {
    if (photo.attachment_id) continue;
    const form = new FormData();
    form.append('file', photo.blob, 'photo.jpg');
    const attachment = await request('POST', '/attachments', { form });
    photo.attachment_id = attachment.id;
    await put('queue', item);
  }
  const body = item.photos.length
    ? { ...item.body, [item.photoField]: item.photos.map((p) => p.attachment_id) }
    : item.body;
  const answer = await request(item.method, item.path, { json: body });
  item.status = 'sent';
  item.sent_at = new Date().toISOString();
  item.answer = answer;
  for (const photo of item.photos) photo.blob = null;
  await put('queue', item);
  announce(item);
  return answer;
}

// Ask for Background Sync (where the browser has it) so the queue is sent with the app closed;
// start, `online` and `visibilitychange` flush it anyway (main.js).
export async function requestSync() {
  try {
    const registration = await navigator.serviceWorker.ready;
    if (registration.sync) await registration.sync.register('queue');
  } catch (err) {
    // A bonus only.
  }
}
