// The report outbox: a report and its photos wait in IndexedDB until the server has them.
// Runs in the page and in the service worker (Background Sync), so nothing here touches the DOM.
// Each report carries its client_uuid: sending twice is harmless, the server answers with the
// original event.
import { get, ownItems, put, tally } from './db.js';
import { ApiError, api, loadToken } from './api.js';

// Other pages and the service worker hear of changes on the channel; a BroadcastChannel does
// not deliver to its own sender, so listeners in this context are called directly too.
const channel = typeof BroadcastChannel !== 'undefined' ? new BroadcastChannel('outbox') : null;
const listeners = new Set();
let flushing = null;

function announce() {
  if (channel) channel.postMessage({ type: 'changed' });
  listeners.forEach((fn) => fn());
}

export function onChange(fn) {
  listeners.add(fn);
  if (channel) channel.addEventListener('message', () => fn());
}

export async function enqueue(report, photos) {
  const me = await get('kv', 'me');
  const item = {
    ...report,
    // Sent only with this person's session: a colleague logging in on the same phone
    // must not report in their name.
    user_id: me && me.user ? me.user.id : null,
    client_uuid: report.client_uuid || crypto.randomUUID(),
    photos: photos.map((blob) => ({ blob, attachment_id: null })),
    status: 'waiting',
    created_at: new Date().toISOString(),
    attempts: 0,
  };
  await put('outbox', item);
  announce();
  return item;
}

// The signed-in person's items (an item from before user ids were kept counts as theirs).
const mine = () => ownItems('outbox', { legacy: true });

export async function items() {
  const list = await mine();
  return list.sort((a, b) => b.created_at.localeCompare(a.created_at));
}

export async function counts() {
  return tally(await mine());
}

// Send everything waiting, one report at a time; concurrent callers share one run, and a Web
// Lock keeps the page and the service worker (Background Sync) from sending at the same time.
export function flush() {
  if (!flushing) {
    const locks = typeof navigator !== 'undefined' && navigator.locks;
    const once = locks ? locks.request('wangge-outbox', () => run()) : run();
    flushing = once.finally(() => (flushing = null));
  }
  return flushing;
}

async function run() {
  if (!(await loadToken())) return 0;
  const waiting = (await mine()).filter((i) => i.status === 'waiting');
  let sent = 0;
  for (const stale of waiting) {
    const item = await get('outbox', stale.client_uuid); // the latest copy
    if (!item || item.status !== 'waiting') continue;
    try {
      await send(item);
      sent += 1;
    } catch (err) {
      item.attempts += 1;
      item.last_error = err.message;
      if (err instanceof ApiError && !err.retryable && err.status !== 401) {
        item.status = 'rejected';
        item.rejected = { code: err.code, message: err.message, details: err.details };
      }
      await put('outbox', item);
      announce();
      if (!(err instanceof ApiError) || err.retryable || err.status === 401) break; // offline: stop
    }
  }
  return sent;
}

async function send(item) {
  // Photos first; each upload's id is kept so a retry does not upload it again.
  for (const photo of item.photos) {
    if (photo.attachment_id) continue;
    const form = new FormData();
    form.append('file', photo.blob, 'photo.jpg');
    const attachment = await api.upload('/attachments', form);
    photo.attachment_id = attachment.id;
    await put('outbox', item);
  }
  const body = {
    client_uuid: item.client_uuid,
    description: item.description,
    location: item.location,
    occurred_at: item.occurred_at,
    photos: item.photos.map((p) => p.attachment_id),
  };
  // Left out when unknown: the API takes a number or nothing (a point placed by hand has no
  // accuracy; no category chosen leaves it to the classifier).
  if (item.accuracy_m !== null && item.accuracy_m !== undefined) body.accuracy_m = item.accuracy_m;
  if (item.subcategory) body.subcategory = item.subcategory;
  const event = await api.post('/events', body);
  item.status = 'sent';
  item.sent_at = new Date().toISOString();
  item.event = {
    id: event.id,
    grid_code: event.grid_code,
    category: event.category,
    subcategory: event.subcategory,
    state: event.state,
    deadline: event.deadline,
  };
  for (const photo of item.photos) photo.blob = null; // the server has them now
  await put('outbox', item);
  announce();
}
