// Checklist dispatch 清单派发 on the phone: the checklists sent to my grids (or my key places),
// each item answered with a tap (photo, GPS fix, yes/no) or a number, offline as well as online.
//
// The list is read from the network and kept in IndexedDB (kv 'checklists_mine'), so it opens
// with no signal. Every answer and every "raise an event" goes through the write queue: it is
// shown at once (overlaid on the cached list), sent in order when the network allows, and is
// idempotent on the server (answers are keyed by assignment + item; events by a client uuid).
//
// Each item takes an optional note (备注), sent inside its answer. A note changed after
// answering rides in the queued answer while that still waits (amended in place, so photos are
// not uploaded twice), else the stored answer is sent again with the new note and its original
// time (the server takes an equal time as the same answer, a later one would move it).
//
// A checklist withdrawn by its centre leaves the list: the server's list no longer has it, and
// the ids heard of (live message, an answer refused as `checklist_withdrawn`) are remembered
// in kv 'checklists_withdrawn', so a stale copy (the cache, the service worker's last answer
// offline) does not bring it back.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { kv } from '../lib/db.js';
import { compress, photoUrl } from '../lib/photos.js';
import * as queue from '../lib/queue.js';

addStrings({
  checklists: '清单任务',
  checklist_due: '期限',
  checklist_from: '来自',
  checklist_answered: '已填 {n}/{total}',
  checklist_failed_n: '不合格 {n}',
  checklist_done: '已完成',
  checklist_late: '逾期完成',
  checklist_required: '必填',
  checklist_take_photo: '拍照',
  checklist_retake: '重拍',
  checklist_locate: '定位打卡',
  checklist_relocate: '重新定位',
  checklist_located: '已定位，精度约 {m} 米',
  checklist_distance: '距{place}约 {m} 米',
  checklist_yes: '是',
  checklist_no: '否',
  checklist_save: '保存',
  checklist_range: '允许范围 {range}',
  checklist_fails_on: '回答“{answer}”为不合格',
  checklist_failed: '不合格',
  checklist_passed: '合格',
  checklist_waiting: '已保存，联网后自动发送',
  checklist_sent: '已送达',
  checklist_refused: '被退回：{reason}',
  checklist_raise: '一键上报事件',
  checklist_raising: '事件已保存，联网后自动上报',
  checklist_event: '已上报事件 #{id}',
  checklist_photos_n: '已拍 {n} 张',
  checklist_none: '暂无清单任务',
  checklist_gps_check: '位置由服务器核对',
  checklist_value_hint: '填写读数',
  checklist_not_found: '找不到该清单任务（可能已撤回或不在您的网格）',
  checklist_note: '备注（选填）',
  checklist_note_hint: '如：裂缝比上周宽了',
  checklist_note_save: '保存备注',
  checklist_note_later: '备注会随答案一起保存',
  checklist_note_saved: '备注已保存',
  checklist_note_write: '修改备注',
  checklist_withdrawn: '此清单已撤回',
  checklist_withdrawn_reason: '撤回原因：{reason}',
  checklist_withdrawn_toast: '清单已撤回：{title}（{reason}）',
  checklist_changed_toast: '清单已修改：{title}，期限 {due}',
}, {
  checklists: 'Checklists',
  checklist_due: 'Due',
  checklist_from: 'From',
  checklist_answered: '{n}/{total} answered',
  checklist_failed_n: '{n} failed',
  checklist_done: 'Done',
  checklist_late: 'Done late',
  checklist_required: 'required',
  checklist_take_photo: 'Take photo',
  checklist_retake: 'Retake',
  checklist_locate: 'Check in here',
  checklist_relocate: 'Locate again',
  checklist_located: 'Located, about {m} m accuracy',
  checklist_distance: 'About {m} m from {place}',
  checklist_yes: 'Yes',
  checklist_no: 'No',
  checklist_save: 'Save',
  checklist_range: 'Allowed {range}',
  checklist_fails_on: 'Answer “{answer}” fails',
  checklist_failed: 'Failed',
  checklist_passed: 'OK',
  checklist_waiting: 'Saved, will be sent when online',
  checklist_sent: 'Delivered',
  checklist_refused: 'Refused: {reason}',
  checklist_raise: 'Report an event',
  checklist_raising: 'Event saved, will be reported when online',
  checklist_event: 'Event #{id} reported',
  checklist_photos_n: '{n} photo(s)',
  checklist_none: 'No checklists',
  checklist_gps_check: 'The server checks the position',
  checklist_value_hint: 'Reading',
  checklist_not_found: 'Checklist not found',
  checklist_note: 'Note (optional)',
  checklist_note_hint: 'e.g. the crack is wider than last week',
  checklist_note_save: 'Save note',
  checklist_note_later: 'The note is saved with the answer',
  checklist_note_saved: 'Note saved',
  checklist_note_write: 'note changed',
  checklist_withdrawn: 'This checklist was withdrawn',
  checklist_withdrawn_reason: 'Reason: {reason}',
  checklist_withdrawn_toast: 'Checklist withdrawn: {title} ({reason})',
  checklist_changed_toast: 'Checklist changed: {title}, due {due}',
});

const CACHE = 'checklists_mine';
const WITHDRAWN = 'checklists_withdrawn';
const ANSWER = 'checklist_answer';
const EVENT = 'checklist_event';

// Without the checklists known to be withdrawn, whatever copy the list came from.
async function withoutWithdrawn(items) {
  const gone = new Set((await kv.get(WITHDRAWN)) || []);
  return (items || []).filter((a) => !a.checklist.withdrawn_at && !gone.has(a.checklist.id));
}

// The assignments of my grids: from the network when there is one, else the last copy.
async function load() {
  try {
    const page = await api.get('/checklist-assignments', { current: true, page_size: 100 });
    const value = { items: await withoutWithdrawn(page.items), at: new Date().toISOString() };
    await kv.set(CACHE, value);
    return value.items;
  } catch (err) {
    return cachedItems();
  }
}

async function cachedItems() {
  const cached = await kv.get(CACHE);
  return withoutWithdrawn(cached && cached.items);
}

// The list again from the server (a live message said it changed); the cached copy offline.
export const refreshChecklists = load;

const forgotten = new Set();
// Called after a checklist was dropped from the list, so an open list screen redraws.
export function onForget(fn) {
  forgotten.add(fn);
}

// A checklist withdrawn by its centre: off the list now, and kept off whatever copy comes next.
export async function forgetChecklist(checklistId) {
  const id = Number(checklistId);
  const gone = (await kv.get(WITHDRAWN)) || [];
  if (gone.includes(id)) return;
  await kv.set(WITHDRAWN, [...gone, id].slice(-200));
  const cached = await kv.get(CACHE);
  if (cached && cached.items) await kv.set(CACHE, { ...cached, items: await withoutWithdrawn(cached.items) });
  await load();
  forgotten.forEach((fn) => fn(id));
}

// An answer refused because its checklist was withdrawn meanwhile (sent from the queue, perhaps
// long after it was typed offline): the refusal stays in the outbox with the server's reason,
// and the checklist leaves the list.
queue.onChange((item) => {
  const refusal = item && item.status === 'rejected' && item.rejected;
  if (refusal && refusal.code === 'checklist_withdrawn' && refusal.details && refusal.details.checklist_id) {
    forgetChecklist(refusal.details.checklist_id).catch(() => {});
  }
});

const answerPath = (assignmentId, key) => `/checklist-assignments/${assignmentId}/answers/${key}`;

// What the queue holds for my checklists, by path: the newest write to each path wins.
async function pending() {
  const [answers, events] = await Promise.all([queue.items(ANSWER), queue.items(EVENT)]);
  const byPath = new Map();
  // items() is newest first: keep the first seen per path.
  for (const item of [...answers, ...events]) if (!byPath.has(item.path)) byPath.set(item.path, item);
  return byPath;
}

// The judgement the server will make, where the phone can make it too (yes/no, values).
function judge(item, answer) {
  if (!answer) return null;
  if (item.kind === 'yes_no' && item.fail_on !== null && item.fail_on !== undefined) return answer.yes === item.fail_on;
  if (item.kind === 'value' && answer.value !== null && answer.value !== undefined) {
    return (item.min_value !== null && answer.value < item.min_value) || (item.max_value !== null && answer.value > item.max_value);
  }
  return false;
}

// An assignment as the worker sees it now: the server's answers with queued ones on top.
function merge(assignment, writes) {
  const answers = new Map(assignment.answers.map((a) => [a.item_key, { ...a, state: 'sent' }]));
  const events = new Map();
  for (const item of assignment.checklist.items) {
    const write = writes.get(answerPath(assignment.id, item.key));
    const server = answers.get(item.key);
    // A queued answer newer than what the list showed (or not yet sent) is the one to show.
    if (write && (write.status !== 'sent' || !server || write.body.answered_at > server.answered_at)) {
      const local = { ...(server || {}), ...write.body, item_key: item.key, state: write.status, rejected: write.rejected };
      if (write.status === 'sent' && write.answer) {
        const fresh = write.answer.answers.find((a) => a.item_key === item.key);
        if (fresh) Object.assign(local, fresh);
      } else {
        local.failed = judge(item, write.body);
        local.photo_count = write.photos.length;
      }
      answers.set(item.key, local);
    }
    const raised = writes.get(answerPath(assignment.id, item.key) + '/event');
    if (raised) events.set(item.key, raised);
  }
  const done = assignment.checklist.items.filter((i) => answers.has(i.key));
  const complete = assignment.completed_at || assignment.checklist.items.every((i) => !i.required || answers.has(i.key));
  return {
    answers,
    events,
    answered: done.length,
    failed: done.filter((i) => answers.get(i.key).failed).length,
    complete: !!complete,
  };
}

// Items still to answer in my open checklists (the home screen's count), offline too.
export async function checklistCount() {
  const [list, writes] = await Promise.all([load(), pending()]);
  let open = 0;
  for (const assignment of list) {
    const state = merge(assignment, writes);
    if (!state.complete) open += assignment.checklist.items.length - state.answered;
  }
  return open;
}

function dueLine(a) {
  const cls = a.overdue ? '.bad' : a.near_due ? '.warn' : '';
  const tag = a.overdue ? ` · ${t('overdue')}` : a.near_due ? ` · ${t('near_due')}` : '';
  return h('div.hint' + cls, `${t('checklist_due')} ${fmtTime(a.due_at)}${tag}`);
}

function place(a) {
  return a.key_place ? `${a.key_place.kind_name} · ${a.key_place.name}` : `${a.village_name} ${a.grid_name}`;
}

export async function checklistsScreen(root) {
  const [list, writes] = await Promise.all([load(), pending()]);
  const rows = list.map((a) => {
    const state = merge(a, writes);
    return h('a.task.checklist-row' + (state.complete ? '.done' : ''), { href: '#/checklist/' + a.id, dataset: { id: a.id } },
      h('b', a.checklist.title),
      h('div.desc', place(a)),
      h('div.cl-meta',
        h('span.pill' + (state.complete ? '.ok' : ''), state.complete ? t(a.late ? 'checklist_late' : 'checklist_done') : t('checklist_answered', { n: state.answered, total: a.checklist.items.length })),
        state.failed ? h('span.pill.bad', t('checklist_failed_n', { n: state.failed })) : null),
      state.complete ? null : dueLine(a));
  });
  mount(root, h('a.back', { href: '#/home' }, '‹ ' + t('back')), h('h1', t('checklists')),
    rows.length ? h('div#checklist-list', rows) : h('p.hint', t('checklist_none')));
}

// The screen being shown, redrawn when the queue sends (or refuses) one of its writes.
let redraw = null;
let listening = false;
// What the worker is typing (a reading, a note) per assignment and item, kept across redraws:
// an answer sent from another item, or a live message, redraws the whole screen.
const drafts = new Map();
const draftKey = (a, item) => `${a.id}/${item.key}`;

let shown = () => null;

// Redraw the checklist on screen, if one is (its checklist changed on the server).
export function redrawChecklist() {
  if (redraw) redraw();
}

// Whether the screen shows an assignment of this checklist.
export function checklistOnScreen(checklistId) {
  return shown() === Number(checklistId);
}

export async function checklistScreen(root, { id }) {
  if (!listening) {
    listening = true;
    queue.onChange((item) => {
      if (redraw && (!item || !item.kind || item.kind === ANSWER || item.kind === EVENT)) redraw();
    });
  }
  const list = await load();
  let assignment = list.find((a) => String(a.id) === String(id));
  if (!assignment) {
    assignment = await api.get('/checklist-assignments/' + id).catch(() => null);
    if (!assignment) return mount(root, h('a.back', { href: '#/checklists' }, '‹ ' + t('back')), h('p.hint', t('checklist_not_found')));
  }
  let drawing = false;
  const draw = async () => {
    if (drawing) return;
    drawing = true;
    try {
      const fresh = (await cachedItems()).find((a) => a.id === assignment.id);
      if (fresh) assignment = fresh;
      await render(root, assignment, draw);
    } finally {
      drawing = false;
    }
  };
  redraw = () => { if (location.hash === '#/checklist/' + assignment.id) draw(); };
  shown = () => (location.hash === '#/checklist/' + assignment.id ? assignment.checklist.id : null);
  await render(root, assignment, draw);
}

async function send(entry, redrawNow) {
  await queue.enqueue(entry);
  await redrawNow();
  queue.requestSync();
  const sent = await queue.flush().catch(() => 0);
  // Online: the server's copy (counters, completion) replaces the cached one.
  if (sent) await load();
  await redrawNow();
}

async function render(root, a, redrawNow) {
  const writes = await pending();
  const state = merge(a, writes);
  const withdrawn = !!a.checklist.withdrawn_at;
  if (withdrawn) forgetChecklist(a.checklist.id).catch(() => {});
  const items = a.checklist.items.map((item) => itemCard(a, item, state, redrawNow, withdrawn));
  const typing = focusOf(root);
  mount(root,
    h('a.back', { href: '#/checklists' }, '‹ ' + t('checklists')),
    h('h1#checklist-title', a.checklist.title),
    withdrawn ? h('div.cl-withdrawn#checklist-withdrawn', { role: 'status' },
      h('b', t('checklist_withdrawn')),
      h('div', t('checklist_withdrawn_reason', { reason: a.checklist.withdraw_reason || '' })),
      h('div.hint', fmtTime(a.checklist.withdrawn_at))) : null,
    h('p.hint', `${t('checklist_from')} ${a.checklist.centre_name} · ${place(a)}`),
    a.checklist.instructions ? h('p.cl-instructions', a.checklist.instructions) : null,
    a.key_place && a.key_place.address ? h('p.hint', a.key_place.address) : null,
    h('div.cl-meta#checklist-progress',
      h('span.pill' + (state.complete ? '.ok' : ''), state.complete ? t('checklist_done') : t('checklist_answered', { n: state.answered, total: a.checklist.items.length })),
      state.failed ? h('span.pill.bad', t('checklist_failed_n', { n: state.failed })) : null),
    state.complete || withdrawn ? null : dueLine(a),
    h('div.cl-items', items));
  typing();
}

// The field being typed in (a note, a reading), to be focused again, caret and all, once the
// screen is redrawn under the worker's fingers; the text itself is kept by the drafts.
function focusOf(root) {
  const el = document.activeElement;
  if (!el || !el.id || !root.contains(el) || !['INPUT', 'TEXTAREA'].includes(el.tagName)) return () => {};
  let caret = null;
  try {
    caret = [el.selectionStart, el.selectionEnd];
  } catch (err) {
    // A number input has no caret to read.
  }
  const id = el.id;
  return () => {
    const again = document.getElementById(id);
    if (!again) return;
    again.focus();
    if (caret && caret[0] !== null) {
      try {
        again.setSelectionRange(caret[0], caret[1]);
      } catch (err) {
        // Nor one to set.
      }
    }
  };
}

function statusLine(answer, item, a) {
  if (!answer) return null;
  if (answer.state === 'rejected') return h('div.cl-status.bad', t('checklist_refused', { reason: answer.rejected ? answer.rejected.message : '' }));
  const parts = [];
  if (answer.failed) parts.push(h('b.bad', t('checklist_failed') + (answer.fail_reason ? '：' + answer.fail_reason : '')));
  else if (answer.failed === false && answer.state === 'sent') parts.push(h('span.ok', t('checklist_passed')));
  parts.push(h('span.hint', answer.state === 'waiting' ? t('checklist_waiting') : t('checklist_sent')));
  return h('div.cl-status', { dataset: { state: answer.state, failed: answer.failed ? 'true' : 'false' } }, parts);
}

function itemCard(a, item, state, redrawNow, withdrawn = false) {
  const answer = state.answers.get(item.key);
  const raised = state.events.get(item.key);
  const now = () => new Date().toISOString();
  const key = draftKey(a, item);
  const draft = drafts.get(key) || {};
  const keep = (field, value) => drafts.set(key, { ...(drafts.get(key) || {}), [field]: value });
  const note = noteField(a, item, answer, draft, keep, redrawNow);
  const put = (body, extra = {}) => {
    // The note typed so far goes with the answer; the typing is done once it is queued.
    const typed = note ? note.value() : '';
    drafts.delete(key);
    return send({
      kind: ANSWER, method: 'PUT', path: answerPath(a.id, item.key),
      body: { answered_at: now(), note: typed, ...body }, label: `${a.checklist.title} · ${item.label}`, ...extra,
    }, redrawNow);
  };

  let control;
  if (withdrawn) {
    control = readOnlyAnswer(item, answer);
  } else if (item.kind === 'yes_no') {
    const choice = (yes) => h(`button.cl-choice${answer && answer.yes === yes ? '.chosen' : ''}${item.fail_on === yes ? '.fails' : ''}`, {
      type: 'button', id: `${yes ? 'yes' : 'no'}-${item.key}`, onclick: () => put({ yes }),
    }, t(yes ? 'checklist_yes' : 'checklist_no'));
    control = h('div.cl-choices', choice(true), choice(false));
  } else if (item.kind === 'value') {
    const stored = answer && answer.value !== null && answer.value !== undefined ? answer.value : '';
    const input = h('input', {
      type: 'number', inputmode: 'decimal', step: 'any', id: `value-${item.key}`, placeholder: t('checklist_value_hint'),
      value: draft.value ?? stored, oninput: (e) => keep('value', e.target.value),
    });
    control = h('div.cl-value', input, item.unit ? h('span.cl-unit', item.unit) : null,
      h('button.cl-save', { type: 'button', id: `save-${item.key}`, onclick: () => {
        const value = Number.parseFloat(input.value);
        if (Number.isNaN(value)) return input.focus();
        return put({ value });
      } }, t('checklist_save')));
  } else if (item.kind === 'photo') {
    const input = h('input', {
      type: 'file', accept: 'image/*', capture: 'environment', multiple: true, hidden: true, id: `photo-input-${item.key}`,
      onchange: async () => {
        const files = [...input.files];
        input.value = '';
        if (!files.length) return;
        const photos = await Promise.all(files.map((f) => compress(f)));
        await put({}, { photos, photoField: 'photos' });
      },
    });
    const count = answer ? (answer.photo_count || (answer.photos || []).length) : 0;
    const thumbs = h('div.thumbs');
    if (answer && answer.state === 'sent' && answer.photos) {
      // The worker's own uploads: shown when online, quietly skipped offline.
      answer.photos.slice(0, 4).forEach((pid) => photoUrl(pid).then((src) => thumbs.append(h('img.thumb', { src, alt: item.label }))).catch(() => {}));
    }
    control = h('div', thumbs, count ? h('div.hint', t('checklist_photos_n', { n: count })) : null,
      h('button.big.secondary', { type: 'button', id: `photo-${item.key}`, onclick: () => input.click() },
        h('span.icon.camera', { 'aria-hidden': 'true' }), t(count ? 'checklist_retake' : 'checklist_take_photo')), input);
  } else {
    const where = answer && answer.location ? answer.location : null;
    let text = null;
    if (where) {
      const accuracy = answer.accuracy_m ?? where.accuracy_m;
      text = accuracy !== null && accuracy !== undefined ? t('checklist_located', { m: Math.round(accuracy) }) : '✓';
      if (a.key_place) {
        const [lon, lat] = where.coordinates;
        const [plon, plat] = a.key_place.location.coordinates;
        text += ' · ' + t('checklist_distance', { place: a.key_place.name, m: Math.round(metres(lon, lat, plon, plat)) });
      }
    }
    control = h('div', text ? h('div.hint', text) : h('div.hint', t('checklist_gps_check')),
      h('button.big.secondary', { type: 'button', id: `gps-${item.key}`, onclick: (e) => {
        const button = e.currentTarget;
        button.disabled = true;
        navigator.geolocation.getCurrentPosition(
          (pos) => put({
            location: { type: 'Point', coordinates: [pos.coords.longitude, pos.coords.latitude] },
            accuracy_m: Math.round(pos.coords.accuracy),
          }),
          () => { button.disabled = false; toast(t('location_failed'), 'error'); },
          { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
      } }, t(where ? 'checklist_relocate' : 'checklist_locate')));
  }

  const rules = [];
  if (item.kind === 'yes_no' && item.fail_on !== null && item.fail_on !== undefined) rules.push(t('checklist_fails_on', { answer: t(item.fail_on ? 'checklist_yes' : 'checklist_no') }));
  if (item.kind === 'value' && (item.min_value !== null || item.max_value !== null)) rules.push(t('checklist_range', { range: range(item) }));

  let eventLine = null;
  const eventId = (answer && answer.event_id) || (raised && raised.status === 'sent' && raised.answer && raised.answer.id);
  if (eventId) {
    eventLine = h('div.cl-event.ok', { id: `event-${item.key}` }, t('checklist_event', { id: eventId }));
  } else if (raised && raised.status === 'waiting') {
    eventLine = h('div.cl-event', { id: `event-${item.key}` }, t('checklist_raising'));
  } else if (raised && raised.status === 'rejected') {
    eventLine = h('div.cl-event.bad', { id: `event-${item.key}` }, t('checklist_refused', { reason: raised.rejected.message }));
  } else if (answer && answer.failed && answer.state !== 'rejected') {
    eventLine = h('button.big.danger', {
      type: 'button', id: `raise-${item.key}`,
      onclick: (e) => {
        e.currentTarget.disabled = true;
        send({
          kind: EVENT, method: 'POST', path: answerPath(a.id, item.key) + '/event',
          body: { client_uuid: crypto.randomUUID() }, label: `${t('checklist_raise')} · ${item.label}`,
        }, redrawNow);
      },
    }, t('checklist_raise'));
  }

  return h('section.cl-item' + (answer && answer.failed ? '.failed' : answer ? '.answered' : ''), { id: `item-${item.key}`, dataset: { key: item.key, kind: item.kind } },
    h('div.cl-label', h('b', item.label), item.required ? h('span.cl-required', t('checklist_required')) : null),
    item.hint ? h('div.hint', item.hint) : null,
    rules.length ? h('div.hint', rules.join(' · ')) : null,
    control,
    withdrawn ? (answer && answer.note ? h('div.cl-note-text', `${t('checklist_note')}：${answer.note}`) : null) : note.element,
    h('div#status-' + item.key, statusLine(answer, item, a)),
    eventLine);
}

// What was answered, without the controls (a withdrawn checklist takes no more answers).
function readOnlyAnswer(item, answer) {
  if (!answer) return null;
  let text = '';
  if (item.kind === 'yes_no') text = t(answer.yes ? 'checklist_yes' : 'checklist_no');
  else if (item.kind === 'value') text = `${answer.value ?? ''}${item.unit || ''}`;
  else if (item.kind === 'photo') text = t('checklist_photos_n', { n: answer.photo_count || (answer.photos || []).length });
  else if (answer.location) text = '✓';
  return h('div.cl-answer-text', text);
}

// The item's note: typed before answering it goes with the answer; changed afterwards it is
// saved on its own (the 'save note' button).
function noteField(a, item, answer, draft, keep, redrawNow) {
  const saved = (answer && answer.note) || '';
  const answered = !!answer && answer.state !== 'rejected';
  const box = h('textarea.cl-note-input', {
    id: `note-${item.key}`, rows: 2, maxlength: 500, placeholder: t('checklist_note_hint'), 'aria-label': t('checklist_note'),
  });
  box.value = draft.note ?? saved;
  const save = answered ? h('button.cl-save.cl-note-save', {
    type: 'button', id: `save-note-${item.key}`, disabled: box.value.trim() === saved,
    onclick: async (e) => {
      e.currentTarget.disabled = true;
      const text = box.value.trim();
      if (await saveNote(a, item, text, redrawNow)) {
        drafts.delete(draftKey(a, item));
        toast(t('checklist_note_saved'), 'ok');
      }
      await redrawNow();
    },
  }, t('checklist_note_save')) : null;
  box.addEventListener('input', () => {
    keep('note', box.value);
    if (save) save.disabled = box.value.trim() === saved;
  });
  const element = h('div.cl-note',
    h('label.cl-note-label', { for: box.id }, t('checklist_note')),
    h('div.cl-note-row', box, save),
    answered ? null : h('div.hint', t('checklist_note_later')));
  return { element, value: () => box.value.trim() };
}

// The answer as stored, to send again with a new note: what the server needs to judge it.
function answerContent(item, answer) {
  if (item.kind === 'yes_no') return answer.yes === null || answer.yes === undefined ? null : { yes: answer.yes };
  if (item.kind === 'value') return answer.value === null || answer.value === undefined ? null : { value: answer.value };
  if (item.kind === 'photo') return Array.isArray(answer.photos) && answer.photos.length ? { photos: answer.photos } : null;
  const where = answer.location;
  if (!where) return null;
  const accuracy = answer.accuracy_m ?? where.accuracy_m;
  return { location: { type: 'Point', coordinates: where.coordinates }, accuracy_m: accuracy ?? null };
}

async function saveNote(a, item, note, redrawNow) {
  const path = answerPath(a.id, item.key);
  const waiting = (await pending()).get(path);
  // Still waiting to be sent: the note rides in it (amend refuses once it has gone).
  if (waiting && waiting.kind === ANSWER && waiting.status === 'waiting'
      && await queue.amend(waiting.id, (body) => ({ ...body, note }))) {
    await redrawNow();
    queue.requestSync();
    if (await queue.flush().catch(() => 0)) await load();
    return true;
  }
  // Sent: the answer as the server has it, again, at its own time, with the new note.
  const fresh = (await cachedItems()).find((x) => x.id === a.id) || a;
  const answer = merge(fresh, await pending()).answers.get(item.key);
  const content = answer && answer.state !== 'rejected' && answer.state !== 'waiting' ? answerContent(item, answer) : null;
  if (!content) return false;
  await send({
    kind: ANSWER, method: 'PUT', path,
    body: { ...content, note, answered_at: answer.answered_at }, label: `${a.checklist.title} · ${item.label} · ${t('checklist_note_write')}`,
  }, redrawNow);
  return true;
}

function range(item) {
  const unit = item.unit || '';
  if (item.min_value === null) return `≤ ${item.max_value}${unit}`;
  if (item.max_value === null) return `≥ ${item.min_value}${unit}`;
  return `${item.min_value}–${item.max_value}${unit}`;
}

// Great-circle distance in metres (the server's own check is the one that counts).
function metres(lon1, lat1, lon2, lat2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad;
  const dLon = (lon2 - lon1) * rad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(s));
}
