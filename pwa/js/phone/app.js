// The phone app's router, its tab bar and its live connection.
import { fmtTime, h, mount, toast } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { connect } from '../lib/live.js';
import * as outbox from '../lib/outbox.js';
import * as queue from '../lib/queue.js';
import { loadTaxonomy } from '../main.js';
import { homeScreen, outboxScreen, tasksScreen } from './home.js';
import { reportScreen } from './report.js';
import { taskScreen } from './task.js';
import { noticeScreen, visitsScreen } from './notices.js';
import {
  checklistOnScreen, checklistScreen, checklistsScreen, forgetChecklist, onForget, redrawChecklist, refreshChecklists,
} from './checklists.js';
import { patrolScreen } from './patrol.js';
import { formScreen, formsScreen } from './forms.js';
import { sensorScreen, sensorsScreen } from './sensors.js';

// The live connection's state, kept here because the home screen's dot is redrawn often.
export const live = { status: 'connecting' };

export async function startPhone(root, me) {
  const view = h('main.phone');
  const outboxBadge = h('span.badge#outbox-badge', { hidden: true });
  const tab = (hash, label, extra) => h('a', { href: hash, dataset: { tab: hash } }, label, extra);
  const nav = h('nav.tabs', tab('#/home', t('home')), tab('#/report', t('report')), tab('#/outbox', t('outbox'), outboxBadge));
  mount(root, view, nav);
  const go = (hash) => {
    if (location.hash === hash) route();
    else location.hash = hash;
  };
  const page = () => (location.hash || '#/home').split('/')[1] || 'home';

  async function route() {
    const [, name, id] = (location.hash || '#/home').split('/');
    const screens = {
      home: () => homeScreen(view, { me }),
      report: () => reportScreen(view, { go }),
      outbox: () => outboxScreen(view),
      tasks: () => tasksScreen(view, { kind: id }),
      task: () => taskScreen(view, { id, go }),
      notice: () => noticeScreen(view, { id, go }),
      visits: () => visitsScreen(view),
      checklists: () => checklistsScreen(view, { go }),
      checklist: () => checklistScreen(view, { id, go }),
      patrol: () => patrolScreen(view, { go }),
      forms: () => formsScreen(view, { go }),
      form: () => formScreen(view, { id, go }),
      sensors: () => sensorsScreen(view),
      sensor: () => sensorScreen(view, { id, go }),
    };
    nav.querySelectorAll('a').forEach((a) => a.classList.toggle('current', a.dataset.tab === '#/' + (name || 'home')));
    window.scrollTo(0, 0);
    try {
      await (screens[name] || screens.home)();
    } catch (err) {
      mount(view, h('p.error', err.message));
    }
  }

  async function badge() {
    const [counts, writes] = await Promise.all([outbox.counts(), queue.counts()]);
    const open = counts.waiting + counts.rejected + writes.waiting + writes.rejected;
    outboxBadge.hidden = open === 0;
    outboxBadge.textContent = String(open);
    outboxBadge.classList.toggle('bad', counts.rejected + writes.rejected > 0);
  }

  window.addEventListener('hashchange', route);
  outbox.onChange(() => {
    badge();
    if (['home', 'outbox'].includes(page())) route();
  });
  queue.onChange(() => {
    badge();
    if (page() === 'outbox') route();
  });
  // A checklist dropped from the list (withdrawn: a live message, an answer refused): the list
  // and the count lose it, and its open screen says why it takes no more answers.
  onForget((checklistId) => {
    if (['home', 'checklists'].includes(page()) || (page() === 'checklist' && checklistOnScreen(checklistId))) route();
  });
  loadTaxonomy();
  badge();
  await route();

  connect((message) => {
    const payload = message.payload || {};
    // New assignments and supervision notices arrive while the app is open.
    if (message.kind === 'event_changed' && payload.assigned_user_id === me.user.id && payload.action === 'dispatch') {
      toast(`${t('to_handle')}: #${message.event_id} ${payload.description || ''}`, 'info');
      if (page() === 'home') route();
    } else if (message.kind === 'sensor_warning' || message.kind === 'sensor_escalated') {
      // A sensor in my grid crossed a threshold: the worker may be the nearest pair of eyes.
      toast(`${t('sensors')}: ${payload.name || ''} ${t('level_' + payload.level)}`, 'warn');
      if (['home', 'sensors'].includes(page())) route();
    } else if (message.kind === 'checklist_assigned') {
      toast(`${t('checklists')}: ${payload.title || ''}`, 'info');
      if (['home', 'checklists'].includes(page())) route();
    } else if (message.kind === 'form_published' || message.kind === 'form_returned') {
      // A new 一表通 form to fill, or mine sent back for correction with the reason.
      const returned = message.kind === 'form_returned';
      toast(`${t('forms')}: ${payload.title || ''}${returned ? ` · ${payload.reason || ''}` : ''}`, returned ? 'warn' : 'info');
      if (['home', 'forms'].includes(page())) route(); // never under someone typing
    } else if (message.kind === 'checklist_withdrawn') {
      // Off the list (and the home count) now; an open checklist shows why it takes no answers.
      toast(t('checklist_withdrawn_toast', { title: payload.title || '', reason: payload.reason || '' }), 'warn');
      forgetChecklist(payload.checklist_id).catch(() => {});
    } else if (message.kind === 'checklist_changed') {
      toast(t('checklist_changed_toast', { title: payload.title || '', due: fmtTime(payload.due_at) }), 'info');
      refreshChecklists().catch(() => {}).then(() => {
        if (['home', 'checklists'].includes(page())) route();
        else if (page() === 'checklist') redrawChecklist(); // typed notes and readings are kept
      });
    } else if (message.kind === 'checklist_near_due' || message.kind === 'checklist_overdue') {
      const late = message.kind === 'checklist_overdue';
      toast(`${t('checklists')} ${t(late ? 'overdue' : 'near_due')}: ${payload.title || ''}`, late ? 'error' : 'warn');
      if (['home', 'checklists'].includes(page())) route();
    } else if (message.kind === 'supervision') {
      toast(`${t('supervise')} #${message.event_id}: ${payload.message || ''}`, 'warn');
      if (page() === 'home') route();
    }
  }, {
    onStatus: (status) => {
      live.status = status;
      const dot = document.getElementById('live');
      if (dot) dot.className = 'dot ' + status;
    },
  });
}
