// Live pushes over Socket.IO, with catch-up from the last message id seen (kept in IndexedDB),
// so a phone that slept or a console that lost its network misses nothing.
import { io } from '/vendor/socket.io-client/socket.io.esm.min.js';
import { kv } from './db.js';
import { currentToken } from './api.js';

const SEEN_LIMIT = 5000;
// Keys kept across page loads: catch-up looks back further than the last id seen (a message
// can commit after a higher one), so without them a reopened app would toast old news again.
const SEEN_KEPT = 1000;

export function connect(onMessage, { onStatus } = {}) {
  const seen = new Set(); // message keys: a message reaches a client once even across pages
  let since = 0;
  let saving = null;
  const socket = io({ transports: ['websocket', 'polling'], auth: (cb) => cb({ token: currentToken() }) });

  function remember() {
    if (saving) return;
    saving = setTimeout(() => {
      saving = null;
      kv.set('live_seen', [...seen].slice(-SEEN_KEPT));
    }, 300);
  }

  function deliver(envelope) {
    if (seen.has(envelope.key)) return;
    seen.add(envelope.key);
    if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value);
    remember();
    if (envelope.id > since) {
      since = envelope.id;
      kv.set('live_since', since);
    }
    onMessage(envelope);
  }

  async function catchUp() {
    let after;
    for (let page = 0; page < 20; page += 1) {
      const answer = await socket.timeout(10000).emitWithAck('catch_up', { since, after });
      if (answer.error) return;
      answer.messages.forEach(deliver);
      if (!answer.more) return;
      after = answer.after;
    }
  }

  socket.on('hello', async (hello) => {
    const [stored, kept] = await Promise.all([kv.get('live_since'), kv.get('live_seen')]);
    (kept || []).forEach((key) => seen.add(key));
    // A first connection starts from now; a returning one catches up from where it was.
    since = stored || hello.last_id;
    if (stored) await catchUp().catch(() => {});
    if (onStatus) onStatus('live');
  });
  socket.on('push', deliver);
  socket.on('disconnect', () => onStatus && onStatus('offline'));
  socket.on('connect_error', () => onStatus && onStatus('offline'));
  return socket;
}
