// The report screen: photo, location, description with a suggested category, send.
// Designed for one hand and few taps: GPS starts on its own, the best suggestion is one tap,
// and sending always succeeds locally (the outbox delivers when the network allows).
import { h, mount, toast } from '../lib/dom.js';
import { t, subcategoryName } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { kv } from '../lib/db.js';
import { compress } from '../lib/photos.js';
import * as outbox from '../lib/outbox.js';
import { gridMap } from './map.js';

export async function reportScreen(root, { go }) {
  const state = { photos: [], compressing: [], location: null, accuracy: null, subcategory: null };
  const taxonomy = (await kv.get('taxonomy')) || [];

  const thumbs = h('div.thumbs');
  const photoInput = h('input', {
    type: 'file', accept: 'image/*', capture: 'environment', multiple: true, hidden: true,
    id: 'photo-input',
    onchange: () => {
      const files = [...photoInput.files];
      photoInput.value = '';
      // Sending waits for photos still being shrunk.
      state.compressing.push(...files.map(async (file) => {
        const blob = await compress(file);
        state.photos.push(blob);
        thumbs.append(h('img.thumb', { src: URL.createObjectURL(blob), alt: t('photos') }));
      }));
    },
  });
  const photoButton = h('button.big.secondary', { type: 'button', id: 'add-photo', onclick: () => photoInput.click() },
    h('span.icon.camera', { 'aria-hidden': 'true' }), t('add_photo'));

  const where = h('div.where#where', t('locating'));
  const mapBox = h('div.map.small', { id: 'report-map' });
  const description = h('textarea', { id: 'description', rows: 3, placeholder: t('description_hint'), required: true });
  const chips = h('div.chips', { id: 'suggestions' });
  const sendButton = h('button.big.primary', { type: 'submit', id: 'send' }, t('send'));

  let timer = null;
  description.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => suggest(description.value.trim()), 300);
  });

  let asked = 0;
  async function suggest(text) {
    if (text.length < 4) return;
    const ticket = (asked += 1);
    let options;
    try {
      const answer = await api.post('/classify', { text });
      options = [answer.subcategory, ...answer.alternatives.map((a) => a.subcategory)];
    } catch (err) {
      options = offlineGuess(text, taxonomy); // offline: names sharing the most characters
    }
    if (ticket !== asked) return; // a later keystroke already asked again
    options = [...new Set(options)].slice(0, 3);
    if (state.subcategory && !options.includes(state.subcategory)) options.push(state.subcategory);
    mount(chips, options.map((code, i) =>
      h('button.chip' + (i === 0 ? '.best' : '') + (code === state.subcategory ? '.chosen' : ''), {
        type: 'button', dataset: { code },
        onclick: (e) => {
          // A second tap on the chosen one leaves the choice to the server's classifier.
          state.subcategory = state.subcategory === code ? null : code;
          chips.querySelectorAll('.chip').forEach((c) => c.classList.toggle('chosen', c.dataset.code === state.subcategory));
          e.currentTarget.blur();
        },
      }, subcategoryName(taxonomy, code))));
  }

  const form = h('form.report', {
    onsubmit: async (e) => {
      e.preventDefault();
      if (!state.location) return toast(t('location_failed'), 'error');
      if (description.value.trim().length < 2) return description.focus();
      sendButton.disabled = true;
      await Promise.allSettled(state.compressing);
      const item = await outbox.enqueue({
        description: description.value.trim(),
        location: { type: 'Point', coordinates: state.location },
        accuracy_m: state.accuracy,
        occurred_at: new Date().toISOString(),
        subcategory: state.subcategory,
      }, state.photos);
      await outbox.flush().catch(() => 0);
      const latest = (await outbox.items()).find((i) => i.client_uuid === item.client_uuid);
      toast(latest && latest.status === 'sent' ? t('sent_ok') : t('saved_offline'), 'ok');
      registerSync();
      go('#/home');
    },
  },
  h('h1', t('report_event')),
  h('section', h('h2', t('photos')), thumbs, photoButton, photoInput),
  h('section', h('h2', t('location')), where, mapBox),
  h('section', h('h2', t('description')), description, h('div.hint', t('suggested')), chips),
  h('div.send-bar', sendButton));
  mount(root, form);

  // GPS does not wait for the map: a phone with no map (no cached grids yet) still reports.
  let map = null;
  gridMap(mapBox, {
    draggable: true,
    onMove: (lonlat) => {
      state.location = lonlat;
      state.accuracy = null; // placed by hand
      where.textContent = t('location') + ' ✓';
      where.classList.remove('poor');
    },
  }).then((ready) => {
    map = ready;
    if (state.location) map.setPoint(state.location);
  }).catch(() => mapBox.remove());
  navigator.geolocation.getCurrentPosition(
    (pos) => {
      state.location = [pos.coords.longitude, pos.coords.latitude];
      state.accuracy = Math.round(pos.coords.accuracy);
      where.textContent = t('accuracy', { m: state.accuracy });
      where.classList.toggle('poor', state.accuracy > 50);
      if (map) map.setPoint(state.location);
    },
    () => { where.textContent = t('location_failed'); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 },
  );
}

// Offline: the subcategories whose names share the most characters with the description.
function offlineGuess(text, taxonomy) {
  const scored = [];
  for (const category of taxonomy) {
    for (const sub of category.subcategories) {
      const name = sub.name_zh || '';
      let score = 0;
      for (const ch of new Set(name)) if (text.includes(ch)) score += 1;
      if (score) scored.push([score / name.length, sub.code]);
    }
  }
  return scored.sort((a, b) => b[0] - a[0]).map(([, code]) => code);
}

async function registerSync() {
  try {
    const registration = await navigator.serviceWorker.ready;
    if (registration.sync) await registration.sync.register('outbox');
  } catch (err) {
    // Background Sync is a bonus; start, online and visibilitychange also flush the outbox.
  }
}
