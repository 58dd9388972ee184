// Home: one big report button, what is waiting for me (with counts), supervision notices,
// the outbox, and my grid on a map. Lists come from the network, or the last copy offline.
import { h, mount, fmtTime } from '../lib/dom.js';
import { t, stateName, subcategoryName, toggleLanguage } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { cached, kv } from '../lib/db.js';
import * as outbox from '../lib/outbox.js';
import * as queue from '../lib/queue.js';
import { checklistCount } from './checklists.js';
import { patrolButton } from './patrol.js';
import { formCount } from './forms.js';
import { warningCount } from './sensors.js';
import { logout } from '../main.js';
import { gridMap } from './map.js';
import { live } from './app.js';

const items = (page) => (page && page.items) || [];

// What is waiting for me: dispatched to me or in progress, and handled work to check in my grids.
async function myWork() {
  const [mine, toVerify, notices, visits] = await Promise.all([
    cached('tasks_mine', () => api.get('/events', { assigned_to_me: true, state: ['dispatched', 'in_progress'], page_size: 50, sort: 'due_at' })),
    cached('tasks_verify', () => api.get('/events', { state: 'handled', page_size: 50, sort: 'due_at' })),
    cached('notices', () => api.get('/supervisions/targets', { page_size: 20 })),
    cached('visits', () => api.get('/keys/visits/due', { mine: true, within_days: 3, page_size: 50 })),
  ]);
  const me = (await kv.get('me')) || { user: {} };
  // Handled work is checked by someone else than the handler.
  const verify = items(toVerify).filter((e) => !e.assigned_unit || e.assigned_unit.user_id !== me.user.id);
  return { handle: items(mine), verify, notices: items(notices), visits: items(visits) };
}

export async function homeScreen(root, { me }) {
  const [work, outboxCounts, queueCounts, taxonomy, checklists, forms, warnings] = await Promise.all([
    myWork(), outbox.counts(), queue.counts(), kv.get('taxonomy'),
    checklistCount().catch(() => 0), formCount().catch(() => 0), warningCount().catch(() => 0)]);
  const waiting = {
    waiting: outboxCounts.waiting + queueCounts.waiting,
    sent: outboxCounts.sent + queueCounts.sent,
    rejected: outboxCounts.rejected + queueCounts.rejected,
  };
  const counts = h('div.counts',
    count('#/tasks/handle', t('to_handle'), work.handle.length, 'count-handle'),
    count('#/tasks/verify', t('to_verify'), work.verify.length, 'count-verify'),
    count('#/visits', t('visits_due'), work.visits.length, 'count-visits'),
    count('#/checklists', t('checklists'), checklists, 'count-checklists'),
    count('#/forms', t('forms'), forms, 'count-forms'),
    count('#/sensors', t('sensors'), warnings, 'count-sensors'),
  );
  const outboxLine = h('a.outbox-line' + (waiting.rejected ? '.bad' : ''), { href: '#/outbox', id: 'outbox-line' },
    `${t('outbox')}: ${t('waiting')} ${waiting.waiting} · ${t('sent')} ${waiting.sent} · ${t('rejected')} ${waiting.rejected}`);
  const notices = work.notices.map((n) =>
    h('a.notice', { href: '#/notice/' + n.id, dataset: { event: n.event_id } },
      h('b', `${t('supervise')} #${n.event_id}`), ' ', n.message || '',
      h('div.hint', `${t('reply_due')} ${fmtTime(n.reply_due_at)}`)));
  const tasks = [...work.handle, ...work.verify].slice(0, 20).map((e) => taskRow(e, taxonomy));
  const mapBox = h('div.map', { id: 'home-map' });
  mount(root,
    h('header.bar',
      h('b', me.user.display_name || me.user.username || ''),
      h('span#live.dot.' + live.status, { title: t('live') }),
      h('span.grow'),
      h('button.link', { type: 'button', onclick: () => { toggleLanguage(); location.reload(); } }, t('language')),
      h('button.link', { type: 'button', id: 'logout', onclick: logout }, t('logout'))),
    h('a.big.primary.report', { href: '#/report', id: 'report-button' }, '+ ' + t('report')),
    counts,
    patrolButton(),
    notices.length ? h('section.notices#notices', h('h2', t('notices')), notices) : null,
    outboxLine,
    h('h2', t('my_tasks')),
    tasks.length ? h('div#tasks', tasks) : h('p.hint', t('no_tasks')),
    mapBox);
  gridMap(mapBox).catch(() => mapBox.remove());
}

export function taskRow(e, taxonomy) {
  return h('a.task', { href: '#/task/' + e.id, dataset: { id: e.id } },
    h('span.state.' + e.state, stateName(e.state)),
    h('b', ` #${e.id} ${subcategoryName(taxonomy, e.subcategory)}`),
    h('div.desc', e.description.slice(0, 60)),
    e.deadline ? h('div.hint' + (e.overdue ? '.bad' : e.near_due ? '.warn' : ''),
      `${t('deadline')} ${fmtTime(e.deadline)}` + (e.overdue ? ` · ${t('overdue')}` : e.near_due ? ` · ${t('near_due')}` : '')) : null);
}

function count(href, label, n, id) {
  return h('a.count', { href, id }, h('span.n', String(n)), h('span', label));
}

export async function tasksScreen(root, { kind }) {
  const [work, taxonomy] = await Promise.all([myWork(), kv.get('taxonomy')]);
  const list = kind === 'verify' ? work.verify : work.handle;
  mount(root,
    h('h1', kind === 'verify' ? t('to_verify') : t('to_handle')),
    list.length ? list.map((e) => taskRow(e, taxonomy)) : h('p.hint', t('no_tasks')));
}

export async function outboxScreen(root) {
  const [list, writes] = await Promise.all([outbox.items(), queue.items()]);
  mount(root, h('h1', t('outbox')), list.length || writes.length ? null : h('p.hint', t('no_tasks')), list.map((i) =>
    h('div.outbox-item.' + i.status, { dataset: { uuid: i.client_uuid } },
      h('div', h('b', t(i.status)), ' ', h('span.hint', fmtTime(i.created_at))),
      h('div.desc', i.description.slice(0, 60)),
      i.status === 'waiting' && i.attempts ? h('div.hint', `${i.attempts} × ${i.last_error || ''}`) : null,
      i.status === 'rejected' ? h('div.reason', `${t('reason')}: ${i.rejected.message}`) : null,
      i.status === 'sent' ? h('div.sent', `#${i.event.id} · ${stateName(i.event.state)} · ${fmtTime(i.sent_at)}`) : null)),
  // Other field work (checklist answers, patrols) waiting to be sent, with any refusal's reason.
  writes.map((i) =>
    h('div.outbox-item.queue-item.' + i.status, { dataset: { id: i.id, kind: i.kind } },
      h('div', h('b', t(i.status)), ' ', h('span.hint', fmtTime(i.created_at))),
      h('div.desc', i.label || i.kind),
      i.status === 'waiting' && i.attempts ? h('div.hint', `${i.attempts} × ${i.last_error || ''}`) : null,
      i.status === 'rejected' ? h('div.reason', `${t('reason')}: ${i.rejected.message}`) : null)));
}
