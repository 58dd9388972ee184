// Supervision notices to answer, and key-person/place visits due.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, stateName } from '../lib/i18n.js';
import { api } from '../lib/api.js';

export async function noticeScreen(root, { id, go }) {
  const page = await api.get('/supervisions/targets', { pending: false, page_size: 100 });
  const target = page.items.find((n) => String(n.id) === String(id));
  if (!target) return mount(root, h('p', '—'));
  const event = await api.get('/events/' + target.event_id).catch(() => null);
  const reply = h('textarea', { id: 'reply', rows: 3, placeholder: t('reply_hint') });
  const answered = target.state === 'replied';
  mount(root,
    h('a.back', { href: '#/home' }, '‹ ' + t('back')),
    h('h1', `${t('supervise')} #${target.event_id}`),
    h('p.notice-message', target.message || ''),
    h('p.hint', `${t('reply_due')} ${fmtTime(target.reply_due_at)}`),
    event ? h('a.task', { href: '#/task/' + event.id },
      h('span.state.' + event.state, stateName(event.state)), ' ', event.description.slice(0, 60)) : null,
    answered ? h('p', `${t('replied')}: ${target.reply}`) : [reply,
      h('button.big.primary', {
        type: 'button', id: 'send-reply',
        onclick: async (e) => {
          if (!reply.value.trim()) return reply.focus();
          e.currentTarget.disabled = true;
          try {
            await api.post(`/supervisions/targets/${target.id}/reply`, { reply: reply.value.trim() });
            toast(t('reply') + ' ✓', 'ok');
            go('#/home');
          } catch (err) {
            e.target.disabled = false;
            toast(err.message, 'error');
          }
        },
      }, t('reply'))]);
}

export async function visitsScreen(root) {
  let page;
  try {
    page = await api.get('/keys/visits/due', { mine: true, within_days: 3, page_size: 100 });
  } catch (err) {
    return mount(root, h('p', err.message));
  }
  mount(root, h('h1', t('visits_due')), page.items.length ? null : h('p.hint', t('no_tasks')), page.items.map((v) =>
    h('div.visit' + (v.overdue ? '.overdue' : ''), h('b', v.name), ' ', h('span.hint', v.kind_name || v.kind),
      h('div.hint', `${fmtTime(v.next_visit_due_at)}${v.address ? ' · ' + v.address : ''}`))));
}
