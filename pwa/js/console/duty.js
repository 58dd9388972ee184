// Duty roster 24小时值班: who is on duty at my centre now and next, the week's shifts, adding a
// shift, and the handover note 交接班 that carries what is still open to the next shift.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';
import { api } from '../lib/api.js';

addStrings({
  duty: '值班',
  on_duty_now: '当前值班',
  unstaffed: '当前无人值班，告警只能送达指挥中心大屏',
  upcoming_shifts: '接班人员',
  week_roster: '近七天排班',
  add_shift: '排班',
  post_leader: '带班领导',
  post_officer: '值班员',
  shift_start: '开始',
  shift_hours: '时长（小时）',
  handover: '交班',
  handover_note: '交班事项',
  handover_hint: '尚未办结的警情、需要跟进的事项……',
  handover_send: '提交交班',
  take_over: '接班',
  taken_over: '已接班',
  latest_handover: '最近交班',
  open_alarms: '未确认告警',
  open_pins: '置顶事项',
  open_emergencies: '未办结紧急事件',
}, {
  duty: 'Duty',
  on_duty_now: 'On duty now',
  unstaffed: 'Nobody is on duty: alarms reach only the centre\'s screens',
  upcoming_shifts: 'Next shift',
  week_roster: 'The next seven days',
  add_shift: 'Add shift',
  post_leader: 'Shift leader',
  post_officer: 'Duty officer',
  shift_start: 'Starts',
  shift_hours: 'Hours',
  handover: 'Hand over',
  handover_note: 'Handover note',
  handover_hint: 'Open alarms, things to follow up…',
  handover_send: 'Hand over',
  take_over: 'Take over',
  taken_over: 'Taken over',
  latest_handover: 'Latest handover',
  open_alarms: 'Unacknowledged alarms',
  open_pins: 'Pinned items',
  open_emergencies: 'Open emergencies',
});

const post = (p) => t('post_' + p);
const who = (s) => `${s.user_name}（${post(s.post)}）`;

export async function dutyPane(root, { me }) {
  const week = new Date(Date.now() + 7 * 86400e3).toISOString();
  const [now, shifts, staff] = await Promise.all([
    api.get('/duty/now'),
    api.get('/duty/shifts', { end: week, page_size: 200 }),
    api.get('/duty/staff').catch(() => ({ items: [] })),
  ]);
  const redraw = () => dutyPane(root, { me });

  const person = h('select#shift-user', { 'aria-label': t('add_shift') },
    staff.items.map((u) => h('option', { value: u.id }, u.display_name || u.username)));
  const postPick = h('select#shift-post', { 'aria-label': t('post_officer') },
    ['officer', 'leader'].map((p) => h('option', { value: p }, post(p))));
  const start = h('input#shift-start', { type: 'datetime-local', value: localInput(nextHalfPast8()) });
  const hours = h('input#shift-hours', { type: 'number', min: 1, max: 24, value: 24 });
  const addShift = h('button.primary#shift-add', {
    type: 'button',
    onclick: async () => {
      const begins = new Date(start.value);
      const body = {
        user_id: Number(person.value),
        post: postPick.value,
        starts_at: begins.toISOString(),
        ends_at: new Date(begins.getTime() + Number(hours.value) * 3600e3).toISOString(),
      };
      try {
        await api.post('/duty/shifts', body);
        toast(`${t('add_shift')} ✓`, 'ok');
        redraw();
      } catch (err) {
        toast(err.message, 'error');
      }
    },
  }, t('add_shift'));

  const note = h('textarea#handover-note', { rows: 3, placeholder: t('handover_hint'), 'aria-label': t('handover_note') });
  const send = h('button.primary#handover-send', {
    type: 'button',
    onclick: async () => {
      try {
        await api.post('/duty/handovers', { note: note.value });
        toast(`${t('handover')} ✓`, 'ok');
        redraw();
      } catch (err) {
        toast(err.message, 'error');
      }
    },
  }, t('handover_send'));

  const latest = now.latest_handover;
  mount(root,
    h('h2', t('on_duty_now')),
    now.unstaffed
      ? h('p.banner-warn#unstaffed', t('unstaffed'))
      : h('ul#on-duty', now.on_duty.map((s) => h('li', { dataset: { user: s.user_id } }, who(s), ' · ', fmtTime(s.ends_at)))),
    now.upcoming.length ? [h('h3', t('upcoming_shifts')), h('ul', now.upcoming.map((s) => h('li', who(s), ' · ', fmtTime(s.starts_at))))] : null,
    latest ? handoverCard(latest, me, redraw) : null,
    h('h2', t('handover')),
    h('label', t('handover_note'), note),
    send,
    h('h2', t('week_roster')),
    h('table.plain#roster', shifts.items.map((s) => h('tr', { dataset: { id: s.id } },
      h('td', fmtTime(s.starts_at)), h('td', fmtTime(s.ends_at)), h('td', s.user_name), h('td', post(s.post))))),
    staff.items.length ? h('div.form-row',
      person, postPick, h('label', t('shift_start'), start), h('label', t('shift_hours'), hours), addShift) : null);
}

function handoverCard(item, me, redraw) {
  const s = item.summary;
  const mine = item.from_user_id === me.user.id;
  return h('section.card#latest-handover', { dataset: { id: item.id } },
    h('h3', `${t('latest_handover')} · ${item.from_name} · ${fmtTime(item.created_at)}`),
    h('p', item.note),
    h('p.hint', [
      `${t('open_alarms')} ${s.unacknowledged_alarms}`,
      `${t('open_emergencies')} ${s.open_emergencies}`,
      `${t('overdue')} ${s.overdue}`,
      `${t('near_due')} ${s.near_due}`,
      `${t('open_pins')} ${s.open_pins}`,
    ].join(' · ')),
    item.received_at
      ? h('p.hint', `${t('taken_over')} · ${fmtTime(item.received_at)}`)
      : mine ? null : h('button.primary#take-over', {
        type: 'button',
        onclick: async () => {
          try {
            await api.post(`/duty/handovers/${item.id}/receive`, {});
            redraw();
          } catch (err) {
            toast(err.message, 'error');
          }
        },
      }, t('take_over')));
}

function nextHalfPast8() {
  const d = new Date();
  d.setHours(8, 30, 0, 0);
  if (d <= new Date()) d.setDate(d.getDate() + 1);
  return d;
}

function localInput(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
