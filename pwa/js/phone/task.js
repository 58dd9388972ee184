// One task: accept, report back with photos, verify or send back for rework, return.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, stateName, subcategoryName } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { kv } from '../lib/db.js';
import { compress, photoUrl } from '../lib/photos.js';

async function uploadAll(blobs) {
  const ids = [];
  for (const blob of blobs) {
    const form = new FormData();
    form.append('file', blob, 'photo.jpg');
    ids.push((await api.upload('/attachments', form)).id);
  }
  return ids;
}

// Actions that need a word of explanation, and the ones that want photos.
const NEEDS_REASON = new Set(['return', 'rework']);
const WITH_PHOTOS = new Set(['handle', 'verify', 'rework']);

export async function taskScreen(root, { id, go }) {
  const [event, taxonomy] = await Promise.all([api.get('/events/' + id), kv.get('taxonomy')]);
  const photos = [];
  const compressing = [];
  const thumbs = h('div.thumbs#task-thumbs');
  const input = h('input', {
    type: 'file', accept: 'image/*', capture: 'environment', multiple: true, hidden: true, id: 'task-photo-input',
    onchange: () => {
      const files = [...input.files];
      input.value = '';
      compressing.push(...files.map(async (file) => {
        const blob = await compress(file);
        photos.push(blob);
        thumbs.append(h('img.thumb', { src: URL.createObjectURL(blob), alt: t('photos') }));
      }));
    },
  });
  const note = h('textarea', { id: 'task-note', rows: 3, placeholder: t('add_note') });
  const allowed = event.allowed_actions || [];

  async function act(action, button) {
    const text = note.value.trim();
    if (NEEDS_REASON.has(action) && !text) {
      toast(t('reason'), 'error');
      return note.focus();
    }
    button.disabled = true;
    try {
      const body = { action };
      if (text && NEEDS_REASON.has(action)) body.reason = text;
      if (text && action === 'handle') body.result = text;
      await Promise.allSettled(compressing);
      if (WITH_PHOTOS.has(action) && photos.length) body.attachment_ids = await uploadAll(photos);
      await api.post(`/events/${id}/actions`, body);
      toast(t(action) + ' ✓', 'ok');
      go(action === 'accept' ? '#/task/' + id : '#/home');
    } catch (err) {
      button.disabled = false;
      toast(err.message, 'error');
    }
  }

  const buttons = ['accept', 'handle', 'verify', 'rework', 'return']
    .filter((a) => allowed.includes(a))
    .map((a) => h('button.big' + (['rework', 'return'].includes(a) ? '.secondary' : '.primary'), {
      type: 'button', id: 'act-' + a, onclick: (e) => act(a, e.currentTarget),
    }, t(a)));
  // Photos and a note matter once the work is under way (reporting back, checking it).
  const working = allowed.some((a) => WITH_PHOTOS.has(a) || NEEDS_REASON.has(a));
  const existing = h('div.thumbs');
  mount(root,
    h('a.back', { href: '#/home' }, '‹ ' + t('back')),
    h('h1', `#${event.id} ${subcategoryName(taxonomy, event.subcategory)}`),
    h('p', h('span.state.' + event.state, stateName(event.state)),
      event.emergency ? h('span.state.bad', t('emergency')) : null),
    h('p.desc', event.description),
    h('p.hint', [event.grid_code, event.deadline ? `${t('deadline')} ${fmtTime(event.deadline)}` : null].filter(Boolean).join(' · ')),
    existing,
    working ? h('section', h('h2', t('photos')), thumbs,
      h('button.big.secondary', { type: 'button', id: 'task-add-photo', onclick: () => input.click() },
        h('span.icon.camera', { 'aria-hidden': 'true' }), t('add_photo')), input) : null,
    working ? note : null,
    h('div.actions', buttons));
  for (const attachment of event.attachments || []) {
    photoUrl(attachment.id).then((src) => existing.append(h('img.thumb', { src, alt: t(attachment.purpose + '_photo') }))).catch(() => {});
  }
}
