// Supervisors: near-due and overdue across the scope, select many, supervise in one click,
// follow the replies, and a simple ranking per unit.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, stateName } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { OPEN_STATES } from './app.js';

export async function supervisorPane(root, { onDone } = {}) {
  const [overdue, nearDue, targets] = await Promise.all([
    api.get('/events', { overdue: true, state: OPEN_STATES, page_size: 200, sort: 'due_at' }),
    api.get('/events', { near_due: true, state: OPEN_STATES, page_size: 200, sort: 'due_at' }),
    api.get('/supervisions/targets', { pending: false, page_size: 100 }),
  ]);
  const checks = new Map();
  const count = h('span.hint#selected-count', t('selected_n', { n: 0 }));
  const recount = () => { count.textContent = t('selected_n', { n: [...checks.values()].filter((b) => b.checked).length }); };
  const row = (e) => {
    const box = h('input', { type: 'checkbox', value: e.id, dataset: { id: e.id }, onchange: recount, 'aria-label': `#${e.id}` });
    checks.set(e.id, box);
    return h('tr', { dataset: { id: e.id } }, h('td', box), h('td', `#${e.id}`), h('td', e.description.slice(0, 24)),
      h('td', unit(e)), h('td', fmtTime(e.deadline)), h('td', e.supervision_count ? `${t('supervise')}×${e.supervision_count}` : ''));
  };
  const message = h('input#supervise-message', { value: '请抓紧办理，并于期限内回复办理进展', 'aria-label': t('supervise_message') });
  const ranking = new Map();
  for (const e of overdue.items) ranking.set(unit(e), (ranking.get(unit(e)) || 0) + 1);
  const button = h('button.big.primary#supervise-selected', {
    type: 'button',
    onclick: async () => {
      const ids = [...checks.entries()].filter(([, box]) => box.checked).map(([id]) => id);
      if (!ids.length) return toast(t('selected_n', { n: 0 }), 'warn');
      button.disabled = true;
      try {
        const notice = await api.post('/supervisions', { event_ids: ids, message: message.value.trim(), reply_within_hours: 24 });
        toast(`${t('supervise')} ✓ ${notice.targets.length}`, 'ok');
        await supervisorPane(root, { onDone });
        if (onDone) onDone();
      } catch (err) {
        button.disabled = false;
        toast(err.message, 'error');
      }
    },
  }, t('supervise_selected'));
  const STATE = { pending: t('pending'), replied: t('replied'), escalated: t('escalated_state') };
  mount(root,
    h('h2', `${t('overdue')} (${overdue.total})`),
    overdue.items.length ? [
      h('label.check', h('input#select-all', {
        type: 'checkbox',
        onchange: (ev) => { overdue.items.forEach((e) => { checks.get(e.id).checked = ev.target.checked; }); recount(); },
      }), t('all'), ' ', count),
      h('table.plain#overdue-list', overdue.items.map(row)),
      h('label', t('supervise_message'), message),
      button,
    ] : h('p.hint', t('no_overdue')),
    h('h2', `${t('near_due')} (${nearDue.total})`),
    h('table.plain#near-due-list', nearDue.items.map((e) => h('tr', h('td', `#${e.id}`), h('td', e.description.slice(0, 24)), h('td', unit(e)), h('td', fmtTime(e.deadline))))),
    h('h2', t('reply')),
    h('table.plain#targets', targets.items.map((x) => h('tr', { dataset: { event: x.event_id, state: x.state } },
      h('td', `#${x.event_id}`), h('td', STATE[x.state] || x.state), h('td', x.reply || ''), h('td', fmtTime(x.replied_at || x.reply_due_at))))),
    h('h2', t('ranking') + ' · ' + t('overdue')),
    h('table.plain#ranking', [...ranking.entries()].sort((a, b) => b[1] - a[1]).map(([name, n]) => h('tr', h('td', name), h('td', String(n))))));
}

function unit(e) {
  const u = e.assigned_unit;
  if (!u) return stateName(e.state);
  // Boards and departments have names; a grid or a village is told by its code.
  const named = u.level === 'board' || u.level === 'department';
  return [t('level_' + u.level), named ? u.name : u.area].filter(Boolean).join(' · ');
}
