// Event detail: what was reported, photos, the classification and its confidence, why it was
// dispatched where, the timeline, and one-click actions.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, stateName, actionName, subcategoryName } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { photoUrl } from '../lib/photos.js';

const LEVELS = ['grid', 'village', 'board', 'department'];
const BOARDS = ['party', 'economy', 'livelihood', 'safety'];
// Actions that open a small form first (the rest are one click).
const WITH_FORM = new Set(['dispatch', 'escalate']);
let departments = null;

async function departmentList() {
  if (!departments) departments = (await api.get('/departments', { page_size: 200 })).items;
  return departments;
}

const percent = (p) => `${Math.round((p || 0) * 100)}%`;

export async function detailPane(root, { id, me, taxonomy, onChange }) {
  const [event, timeline] = await Promise.all([api.get('/events/' + id), api.get(`/events/${id}/timeline`)]);
  const reason = h('input#action-reason', { placeholder: t('reason') });
  const form = h('div.form#action-form');
  const redraw = () => detailPane(root, { id, me, taxonomy, onChange });

  async function act(action, extra = {}) {
    try {
      const body = { action, ...extra };
      if (reason.value.trim()) body.reason = reason.value.trim();
      await api.post(`/events/${id}/actions`, body);
      toast(`${t(action)} ✓`, 'ok');
      if (onChange) onChange();
      await redraw();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  // Dispatch: by the rules, or to a level (and board or department) the dispatcher picks.
  async function dispatchForm() {
    const level = h('select#dispatch-level', { 'aria-label': t('level') },
      h('option', { value: '' }, t('by_rules')), LEVELS.map((l) => h('option', { value: l }, t('level_' + l))));
    const board = h('select#dispatch-board', { hidden: true, 'aria-label': t('level_board') }, BOARDS.map((b) => h('option', { value: b }, t('board_' + b))));
    const department = h('select#dispatch-department', { hidden: true, 'aria-label': t('level_department') },
      (await departmentList()).map((d) => h('option', { value: d.id }, d.name)));
    level.addEventListener('change', () => {
      board.hidden = level.value !== 'board';
      department.hidden = level.value !== 'department';
    });
    mount(form, h('div.row-form', level, board, department,
      h('button.primary#confirm-dispatch', {
        type: 'button',
        onclick: () => {
          const extra = {};
          if (level.value) extra.level = level.value;
          if (level.value === 'board') extra.board = board.value;
          if (level.value === 'department') extra.department_id = Number(department.value);
          act('dispatch', extra);
        },
      }, t('confirm_dispatch'))));
  }

  // Whistle 吹哨: summon district departments to come and co-handle.
  async function whistleForm() {
    const boxes = (await departmentList()).map((d) =>
      h('label.check', h('input', { type: 'checkbox', value: d.id }), d.short_name || d.name));
    mount(form, h('div.whistle', h('div.checks', boxes),
      h('button.primary#send-whistle', {
        type: 'button',
        onclick: async () => {
          const ids = boxes.map((b) => b.querySelector('input')).filter((i) => i.checked).map((i) => Number(i.value));
          try {
            await api.post(`/events/${id}/whistle`, { department_ids: ids, reason: reason.value.trim() || '请派员到场协同处置' });
            toast(t('escalate') + ' ✓', 'ok');
            await redraw();
          } catch (err) {
            toast(err.message, 'error');
          }
        },
      }, t('submit'))));
  }

  // Correct the category at triage: the correction is kept to retrain the classifier.
  function categoryForm() {
    const choice = h('select#category-choice', taxonomy.map((c) =>
      h('optgroup', { label: c.name_zh }, c.subcategories.map((s) =>
        h('option', { value: s.code, selected: s.code === event.subcategory }, subcategoryName(taxonomy, s.code))))));
    mount(form, h('div.row-form', choice, h('button.primary#confirm-category', {
      type: 'button',
      onclick: async () => {
        try {
          await api.post(`/events/${id}/category`, { subcategory: choice.value, reason: reason.value.trim() || undefined });
          toast(t('correct_category') + ' ✓', 'ok');
          await redraw();
        } catch (err) {
          toast(err.message, 'error');
        }
      },
    }, t('submit'))));
  }

  const allowed = event.allowed_actions || [];
  const triage = ['township_dispatcher', 'admin'].includes(me.user.role);
  const buttons = allowed.map((action) =>
    h('button', {
      type: 'button', id: 'act-' + action, class: action === 'reject' || action === 'return' ? 'danger' : null,
      onclick: () => (action === 'dispatch' ? dispatchForm() : action === 'escalate' ? whistleForm() : act(action)),
    }, t(action) + (WITH_FORM.has(action) ? '…' : '')));
  if (triage && !allowed.includes('escalate') && !['closed', 'rejected', 'merged'].includes(event.state)) {
    buttons.push(h('button', { type: 'button', id: 'act-whistle', onclick: whistleForm }, t('escalate') + '…'));
  }
  if (triage) buttons.push(h('button', { type: 'button', id: 'act-category', onclick: categoryForm }, t('correct_category') + '…'));

  const classification = event.classification || {};
  const why = event.dispatch_reason || {};
  const unit = event.assigned_unit;
  const chosen = why.chosen || {};
  const handler = (why.candidates || []).find((c) => c.user_id === (unit && unit.user_id));
  const photos = h('div.photos#photos');
  mount(root,
    h('h2.event-title', `#${event.id} `, h('span.state.' + event.state, stateName(event.state)),
      event.emergency ? h('span.state.bad', t('emergency')) : null),
    h('p.desc', event.description),
    h('p.hint', [event.grid_code, `${t('report')} ${fmtTime(event.received_at)}`,
      event.deadline ? `${t('deadline')} ${fmtTime(event.deadline)}` + (event.overdue ? ` · ${t('overdue')}` : event.near_due ? ` · ${t('near_due')}` : '') : null].filter(Boolean).join(' · ')),
    h('dl.facts',
      h('dt', t('category')),
      h('dd#event-category', subcategoryName(taxonomy, event.subcategory), h('span.hint', ` · ${t('category_by_' + event.category_source)}`)),
      classification.subcategory ? [h('dt', t('model_says')),
        h('dd.hint#classification', [[classification.subcategory, classification.confidence], ...(classification.alternatives || []).map((a) => [a.subcategory, a.probability])]
          .map(([code, p]) => `${subcategoryName(taxonomy, code)} ${percent(p)}`).join('，'))] : null,
      unit ? [h('dt', t('unit')), h('dd#event-unit', [t('level_' + unit.level), unit.name].filter(Boolean).join(' · '),
        handler ? ` · ${handler.name}` : '')] : null,
      why.rule || chosen.why || why.suggested ? [h('dt', t('dispatch_reason')), h('dd.hint#dispatch-reason', dispatchReason(why))] : null),
    photos,
    h('div.buttons', buttons,
      h('button', { type: 'button', id: 'pin-event', onclick: async () => { await api.post('/pins', { event_id: event.id }).then(() => toast(t('pinned') + ' ✓', 'ok'), (err) => toast(err.message, 'error')); } }, t('pinned'))),
    reason,
    form,
    h('h3', t('timeline')),
    h('ol.timeline#timeline', timeline.items.map((a) =>
      h('li', { dataset: { action: a.action } },
        h('span.hint', fmtTime(a.at)), ' ', h('b', actionName(a.action)), ' ',
        !a.actor_name || a.actor_name === 'system' ? t('system') : a.actor_name,
        a.from_state !== a.to_state ? h('span.hint', ` ${a.from_state ? stateName(a.from_state) + ' → ' : ''}${stateName(a.to_state)}`) : null,
        a.reason ? h('div.reason', a.reason) : null,
        a.data && a.data.result ? h('div.reason', a.data.result) : null))));
  for (const attachment of event.attachments || []) {
    const figure = h('figure', { dataset: { purpose: attachment.purpose } }, h('figcaption', t(attachment.purpose + '_photo')));
    photos.append(figure);
    photoUrl(attachment.id).then((src) => figure.prepend(h('img', { src, alt: t(attachment.purpose + '_photo') }))).catch(() => {});
  }
}

function dispatchReason(why) {
  const parts = [];
  const rule = why.rule || (why.suggested && why.suggested.rule);
  if (rule) parts.push(rule.note || (rule.kind === 'subcategory_default' ? '类别默认' : rule.kind));
  if (why.suggested && why.suggested.unit) parts.push('建议：' + why.suggested.unit.level_name + ' ' + (why.suggested.unit.name || ''));
  if (why.chosen && why.chosen.why) parts.push(why.chosen.why);
  return parts.join('；');
}
