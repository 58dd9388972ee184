// Checklist dispatch 清单派发 in the console: build a checklist (or start from a template), pick
// where it goes (villages and grids from the tree or clicked on the map, or every key place of
// a kind), see who it will reach before sending, then watch its progress roll up
// township → village → grid, open the failed items with their photos and the events they raised,
// and the workers' notes beside their answers. The sending centre (or a level above) may change
// a sent checklist's title, instructions and deadline (never its items) or withdraw 撤回 it
// with a reason; a withdrawn one stays listed, marked, with who withdrew it, when and why.
//
// Live pushes redraw the pane (app.js); the builder's DOM and an open change or withdraw form
// are kept across redraws, so a dispatcher typing loses nothing when answers arrive.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';
import { api, currentToken } from '../lib/api.js';

addStrings({
  checklists: '清单派发',
  cl_new: '新建清单',
  cl_template: '从模板开始',
  cl_template_none: '空白清单',
  cl_template_rock: '汛前危岩排查',
  cl_template_fire: '九小场所消防检查',
  cl_title: '清单标题',
  cl_instructions: '说明（网格员可见）',
  cl_due: '完成期限',
  cl_items: '检查项',
  cl_add_item: '+ 添加检查项',
  cl_remove: '删除',
  cl_label: '检查内容',
  cl_kind_photo: '拍照',
  cl_kind_gps: '定位打卡',
  cl_kind_yes_no: '是/否',
  cl_kind_value: '数值',
  cl_required: '必填',
  cl_fail_on: '不合格答案',
  cl_fail_none: '都合格',
  cl_yes: '是',
  cl_no: '否',
  cl_unit: '单位',
  cl_min: '最小值',
  cl_max: '最大值',
  cl_max_distance: '距场所不超过（米）',
  cl_targets: '派发范围',
  cl_by_area: '按网格/村社/镇街',
  cl_by_kind: '按重点场所类型',
  cl_map_hint: '勾选村社或网格，也可在地图上点击网格',
  cl_kind_scope: '可再勾选区域缩小范围；不勾选为全部辖区',
  cl_picked: '已选 {n} 处',
  cl_clear: '清空',
  cl_preview: '将派发 {assignments} 份任务（{grids} 个网格{places}），{workers} 名网格员收到',
  cl_preview_places: '、{n} 处场所',
  cl_unstaffed: '{n} 个网格没有网格员，任务将无人接收',
  cl_send: '派发',
  cl_cancel: '取消',
  cl_sent: '清单已派发：{n} 份任务',
  cl_none: '暂无清单',
  cl_done: '完成',
  cl_answered: '已填项',
  cl_failed: '不合格',
  cl_events: '事件',
  cl_progress: '进度',
  cl_area: '区域',
  cl_failures: '不合格项',
  cl_no_failures: '暂无不合格项',
  cl_not_raised: '未上报事件',
  cl_event: '事件 #{id}',
  cl_by: '{name} {at}',
  cl_overdue_n: '超期 {n}',
  cl_near_n: '临期 {n}',
  cl_late_n: '逾期完成 {n}',
  cl_from: '发自 {name}',
  action_checklist_item: '清单检查不合格',
  cl_withdrawn: '已撤回',
  cl_withdrawn_by: '{name} 于 {at} 撤回',
  cl_withdraw_reason_is: '撤回原因：{reason}',
  cl_open_left: '撤回时未完成 {n}',
  cl_edited: '{name} 于 {at} 修改',
  cl_edit: '修改',
  cl_withdraw: '撤回',
  cl_save: '保存修改',
  cl_saved: '清单已修改，网格员已收到通知',
  cl_edit_fixed: '检查项和派发范围派发后不能修改（已有的回答针对原检查项）；如需修改请撤回后重新派发。改动期限后，未完成任务的临期、超期提醒按新期限重新计算。',
  cl_no_change: '没有修改任何内容',
  cl_withdraw_reason: '撤回原因（网格员可见）',
  cl_withdraw_hint: '撤回后，未完成的任务不再计入、不再提醒，网格员手机上的清单将移除；已填报的内容保留。',
  cl_withdraw_confirm: '确认撤回',
  cl_withdrawn_done: '清单已撤回',
  cl_notes: '网格员备注',
  cl_no_notes: '暂无备注',
  cl_note: '备注：{note}',
  cl_photos_n: '照片 {n} 张',
  cl_located: '已定位',
  cl_passed: '合格',
}, {
  checklists: 'Checklists',
  cl_new: 'New checklist',
  cl_template: 'Start from a template',
  cl_template_none: 'Blank',
  cl_template_rock: 'Hazardous rock before a storm',
  cl_template_fire: 'Fire safety of small premises',
  cl_title: 'Title',
  cl_instructions: 'Instructions (shown to workers)',
  cl_due: 'Due',
  cl_items: 'Items',
  cl_add_item: '+ Add item',
  cl_remove: 'Remove',
  cl_label: 'What to check',
  cl_kind_photo: 'Photo',
  cl_kind_gps: 'GPS check-in',
  cl_kind_yes_no: 'Yes/no',
  cl_kind_value: 'Value',
  cl_required: 'Required',
  cl_fail_on: 'Failing answer',
  cl_fail_none: 'Neither',
  cl_yes: 'Yes',
  cl_no: 'No',
  cl_unit: 'Unit',
  cl_min: 'Min',
  cl_max: 'Max',
  cl_max_distance: 'Within (m) of the place',
  cl_targets: 'Send to',
  cl_by_area: 'Grids / villages / townships',
  cl_by_kind: 'Key places of a kind',
  cl_map_hint: 'Tick villages or grids, or click grids on the map',
  cl_kind_scope: 'Tick areas to narrow it down; none means my whole area',
  cl_picked: '{n} picked',
  cl_clear: 'Clear',
  cl_preview: '{assignments} assignments ({grids} grids{places}), {workers} workers',
  cl_preview_places: ', {n} places',
  cl_unstaffed: '{n} grids have no worker: nobody will receive them',
  cl_send: 'Send',
  cl_cancel: 'Cancel',
  cl_sent: 'Checklist sent: {n} assignments',
  cl_none: 'No checklists',
  cl_done: 'Done',
  cl_answered: 'Answered',
  cl_failed: 'Failed',
  cl_events: 'Events',
  cl_progress: 'Progress',
  cl_area: 'Area',
  cl_failures: 'Failed items',
  cl_no_failures: 'No failed items',
  cl_not_raised: 'No event yet',
  cl_event: 'Event #{id}',
  cl_by: '{name} {at}',
  cl_overdue_n: '{n} overdue',
  cl_near_n: '{n} near due',
  cl_late_n: '{n} done late',
  cl_from: 'From {name}',
  action_checklist_item: 'Checklist item failed',
  cl_withdrawn: 'Withdrawn',
  cl_withdrawn_by: 'Withdrawn by {name} at {at}',
  cl_withdraw_reason_is: 'Reason: {reason}',
  cl_open_left: '{n} open when withdrawn',
  cl_edited: 'Changed by {name} at {at}',
  cl_edit: 'Change',
  cl_withdraw: 'Withdraw',
  cl_save: 'Save changes',
  cl_saved: 'Checklist changed; the workers were told',
  cl_edit_fixed: 'Items and targets cannot change once sent (answers refer to them); withdraw and send again instead. A new deadline re-arms the near-due and overdue warnings of open work.',
  cl_no_change: 'Nothing was changed',
  cl_withdraw_reason: 'Reason (shown to workers)',
  cl_withdraw_hint: 'Open work stops counting and warning and leaves the workers\' phones; answers given are kept.',
  cl_withdraw_confirm: 'Withdraw it',
  cl_withdrawn_done: 'Checklist withdrawn',
  cl_notes: 'Workers\' notes',
  cl_no_notes: 'No notes',
  cl_note: 'Note: {note}',
  cl_photos_n: '{n} photo(s)',
  cl_located: 'Located',
  cl_passed: 'OK',
});

// Who builds and sends checklists from the console (app/checklists/service.py CREATORS).
const SENDERS = new Set(['township_dispatcher', 'village_staff', 'supervisor', 'admin']);
const KINDS = ['photo', 'gps', 'yes_no', 'value'];
const TEMPLATES = {
  rock: {
    title: '汛前危岩排查',
    instructions: '强降雨来临前逐点检查，发现险情立即撤离群众并上报。',
    items: [
      { label: '拍摄危岩全貌', kind: 'photo' },
      { label: '到场定位', kind: 'gps', max_distance_m: 200 },
      { label: '是否有新增裂缝或落石', kind: 'yes_no', fail_on: true },
      { label: '裂缝宽度', kind: 'value', unit: 'mm', min_value: 0, max_value: 10 },
      { label: '警示牌是否完好', kind: 'yes_no', fail_on: false, required: false },
    ],
    kind: 'hazardous_rock',
  },
  fire: {
    title: '九小场所消防检查',
    instructions: '检查消防通道、灭火器和用电安全，不合格的现场拍照并一键上报。',
    items: [
      { label: '门头照片', kind: 'photo' },
      { label: '灭火器是否在有效期内', kind: 'yes_no', fail_on: false },
      { label: '消防通道是否被占用', kind: 'yes_no', fail_on: true },
      { label: '灭火器数量', kind: 'value', unit: '具', min_value: 2 },
    ],
    kind: 'nine_small_places',
  },
};

// The pane's state across live redraws.
const state = {
  selected: null,
  expanded: new Set(),
  builder: null, // the builder's DOM while open, reattached as it is on every redraw
  picked: new Set(), // area codes ticked in the tree or clicked on the map
  mode: 'areas',
  map: null,
  progress: null,
  form: null, // an open change or withdraw form: { id, node }, reattached on every redraw
};
let running = null;
let again = false;

export async function checklistsPane(root, options) {
  // Answers may arrive many a second: one redraw at a time, and one more after it if needed.
  if (running) {
    again = true;
    return running;
  }
  running = draw(root, options).finally(() => {
    running = null;
    if (again) {
      again = false;
      checklistsPane(root, options);
    }
  });
  return running;
}

async function draw(root, { me, onEvent }) {
  const page = await api.get('/checklists', { page_size: 50 });
  if (!state.selected && page.items.length) state.selected = page.items[0].id;
  const canSend = SENDERS.has(me.user.role);
  const list = h('table.plain.cl-table#checklist-table',
    h('thead', h('tr', h('th', t('cl_title')), h('th', t('cl_due')), h('th', t('cl_done')), h('th', t('cl_failed')))),
    h('tbody', page.items.map((c) => h('tr.cl-row' + (c.id === state.selected ? '.selected' : '') + (c.withdrawn_at ? '.withdrawn' : c.figures.overdue ? '.overdue' : c.figures.near_due ? '.near_due' : ''), {
      dataset: { id: c.id }, onclick: () => { state.selected = c.id; checklistsPane(root, { me, onEvent }); },
    },
    h('td', h('b', c.title), c.withdrawn_at ? h('span.cl-tag', t('cl_withdrawn')) : null, h('div.hint', t('cl_from', { name: c.centre_name })),
      c.withdrawn_at ? h('div.hint.cl-withdrawn-line', `${t('cl_withdrawn_by', { name: c.withdrawn_by_name, at: fmtTime(c.withdrawn_at) })}：${c.withdraw_reason}`) : null),
    h('td.hint', fmtTime(c.due_at), c.figures.overdue ? h('div.bad', t('cl_overdue_n', { n: c.figures.overdue })) : c.figures.near_due ? h('div.warn', t('cl_near_n', { n: c.figures.near_due })) : null),
    h('td', bar(c.figures.completed, c.figures.assignments)),
    h('td', c.figures.failed_items ? h('b.bad', String(c.figures.failed_items)) : '0')))));
  const detail = h('div#checklist-detail');
  mount(root, h('div#checklists-pane',
    h('div.cl-head', h('h2', `${t('checklists')} (${page.total})`), h('span.grow'),
      canSend && !state.builder ? h('button.cl-button.primary', { type: 'button', id: 'new-checklist', onclick: () => openBuilder(root, { me, onEvent }) }, t('cl_new')) : null),
    state.builder,
    page.items.length ? list : h('p.hint', t('cl_none')),
    detail));
  const chosen = page.items.find((c) => c.id === state.selected);
  if (state.form && (!chosen || state.form.id !== chosen.id || !chosen.can_manage)) state.form = null;
  if (chosen) await drawDetail(detail, chosen, { onEvent, refresh: () => checklistsPane(root, { me, onEvent }) });
  else paintProgress(null);
}

function bar(done, total) {
  const share = total ? Math.round((100 * done) / total) : 0;
  return h('div.cl-bar', { title: `${done}/${total}` },
    h('span.cl-bar-fill', { style: { width: share + '%' } }), h('span.cl-bar-text', `${done}/${total}`));
}

// -- progress and failed items --------------------------------------------------------------

async function drawDetail(box, checklist, options) {
  const { onEvent } = options;
  const [progress, failed, noted] = await Promise.all([
    api.get(`/checklists/${checklist.id}/progress`),
    api.get('/checklist-assignments', { checklist_id: checklist.id, failed: true, page_size: 100 }),
    api.get('/checklist-assignments', { checklist_id: checklist.id, noted: true, page_size: 100 }),
  ]);
  state.progress = progress;
  const nodes = progress.nodes;
  const byParent = new Map();
  for (const node of nodes) {
    const key = node.parent_code || '';
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(node);
  }
  const codes = new Set(nodes.map((n) => n.code));
  const roots = nodes.filter((n) => !n.parent_code || !codes.has(n.parent_code));
  // Open the single-child chain from the top (district → township) so the first useful level
  // shows without clicks.
  let chain = roots;
  while (chain.length === 1 && byParent.has(chain[0].code)) {
    state.expanded.add(chain[0].code);
    chain = byParent.get(chain[0].code);
  }
  const rows = [];
  const walk = (node, depth) => {
    const kids = byParent.get(node.code) || [];
    const open = state.expanded.has(node.code);
    rows.push(h('tr.cl-node' + (node.overdue ? '.overdue' : ''), {
      dataset: { code: node.code, level: node.level },
      onclick: kids.length ? () => {
        if (open) state.expanded.delete(node.code); else state.expanded.add(node.code);
        drawDetail(box, checklist, options);
      } : null,
    },
    h('td', { style: { paddingLeft: `${0.3 + depth * 1.1}rem` } }, kids.length ? (open ? '▾ ' : '▸ ') : '· ', node.name),
    h('td', bar(node.completed, node.assignments)),
    h('td.hint', `${node.items_answered}/${node.items_total}`),
    h('td', node.failed_items ? h('b.bad', String(node.failed_items)) : '0'),
    h('td', node.overdue ? h('b.bad', String(node.overdue)) : node.near_due ? h('span.warn', String(node.near_due)) : '0'),
    h('td', String(node.events))));
    if (open) kids.forEach((kid) => walk(kid, depth + 1));
  };
  roots.forEach((node) => walk(node, 0));
  const totals = progress.totals;
  const failures = [];
  for (const a of failed.items) {
    for (const answer of a.answers.filter((x) => x.failed)) {
      const item = a.checklist.items.find((i) => i.key === answer.item_key) || { label: answer.item_key };
      const photos = h('div.photos');
      (answer.photos.length ? answer.photos : photosOf(a)).slice(0, 3).forEach((id) => photo(a.id, id).then((src) => photos.append(h('img', { src, alt: item.label }))).catch(() => {}));
      failures.push(h('div.cl-failure', { dataset: { assignment: a.id, key: answer.item_key } },
        h('div', h('b', a.key_place ? `${a.key_place.kind_name} · ${a.key_place.name}` : `${a.village_name} ${a.grid_name}`)),
        h('div', `${item.label}：`, h('span.bad', answer.fail_reason || t('cl_failed'))),
        answer.note ? h('div.hint', answer.note) : null,
        h('div.hint', t('cl_by', { name: answer.answered_by_name, at: fmtTime(answer.answered_at) })),
        photos,
        answer.event_id
          ? h('button.link.cl-event-link', { type: 'button', dataset: { event: answer.event_id }, onclick: () => onEvent && onEvent(answer.event_id) }, t('cl_event', { id: answer.event_id }))
          : h('div.hint', t('cl_not_raised'))));
    }
  }
  const withdrawn = checklist.withdrawn_at;
  mount(box,
    h('h3#checklist-heading', checklist.title, withdrawn ? h('span.cl-tag', t('cl_withdrawn')) : null),
    withdrawn ? h('div.cl-withdrawn#checklist-withdrawn',
      h('b', t('cl_withdrawn')), ' ', t('cl_withdrawn_by', { name: checklist.withdrawn_by_name, at: fmtTime(withdrawn) }),
      h('div', t('cl_withdraw_reason_is', { reason: checklist.withdraw_reason }))) : null,
    checklist.instructions ? h('p.hint', checklist.instructions) : null,
    h('p.hint#checklist-due', `${t('cl_due')} ${fmtTime(checklist.due_at)}`,
      checklist.edited_at ? ` · ${t('cl_edited', { name: checklist.edited_by_name, at: fmtTime(checklist.edited_at) })}` : ''),
    checklist.can_manage ? manage(checklist, options) : null,
    h('p.cl-totals#checklist-totals',
      h('span', `${t('cl_done')} ${totals.completed}/${totals.assignments}`),
      h('span', `${t('cl_answered')} ${totals.items_answered}/${totals.items_total}`),
      h('span' + (totals.failed_items ? '.bad' : ''), `${t('cl_failed')} ${totals.failed_items}`),
      totals.overdue ? h('span.bad', t('cl_overdue_n', { n: totals.overdue })) : null,
      totals.near_due ? h('span.warn', t('cl_near_n', { n: totals.near_due })) : null,
      totals.late ? h('span.warn', t('cl_late_n', { n: totals.late })) : null,
      withdrawn && totals.assignments > totals.completed ? h('span', t('cl_open_left', { n: totals.assignments - totals.completed })) : null,
      h('span', `${t('cl_events')} ${totals.events}`)),
    h('table.plain.cl-progress#checklist-progress',
      h('thead', h('tr', h('th', t('cl_area')), h('th', t('cl_done')), h('th', t('cl_answered')), h('th', t('cl_failed')), h('th', t('overdue')), h('th', t('cl_events')))),
      h('tbody', rows)),
    h('h3', t('cl_failures')),
    failures.length ? h('div#checklist-failures', failures) : h('p.hint', t('cl_no_failures')),
    h('h3', t('cl_notes')),
    notes(noted.items));
  paintProgress(nodes);
}

// Every answer with a note, the note beside what was answered.
function notes(assignments) {
  const lines = [];
  for (const a of assignments) {
    for (const answer of a.answers.filter((x) => x.note)) {
      const item = a.checklist.items.find((i) => i.key === answer.item_key) || { label: answer.item_key, kind: '' };
      lines.push(h('div.cl-noted', { dataset: { assignment: a.id, key: answer.item_key } },
        h('div', h('b', a.key_place ? `${a.key_place.kind_name} · ${a.key_place.name}` : `${a.village_name} ${a.grid_name}`)),
        h('div', `${item.label}：${answerText(item, answer)} `,
          answer.failed ? h('span.bad', answer.fail_reason || t('cl_failed')) : h('span.ok', t('cl_passed'))),
        h('div.cl-note-text', t('cl_note', { note: answer.note })),
        h('div.hint', t('cl_by', { name: answer.answered_by_name, at: fmtTime(answer.answered_at) }))));
    }
  }
  return lines.length ? h('div#checklist-notes', lines) : h('p.hint#checklist-notes', t('cl_no_notes'));
}

function answerText(item, answer) {
  if (item.kind === 'yes_no') return answer.yes ? t('cl_yes') : t('cl_no');
  if (item.kind === 'value') return `${answer.value}${item.unit || ''}`;
  if (item.kind === 'photo') return t('cl_photos_n', { n: answer.photos.length });
  if (item.kind === 'gps') return t('cl_located');
  return '';
}

// -- changing or withdrawing a sent checklist ----------------------------------------------

// A datetime-local value (the browser's zone) for an instant.
function localInput(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function manage(checklist, options) {
  if (state.form && state.form.id === checklist.id) return state.form.node;
  const open = (make) => { state.form = { id: checklist.id, node: make(checklist, options) }; options.refresh(); };
  return h('div.cl-manage',
    h('button.cl-button#checklist-edit', { type: 'button', onclick: () => open(editForm) }, t('cl_edit')),
    h('button.cl-button#checklist-withdraw', { type: 'button', onclick: () => open(withdrawForm) }, t('cl_withdraw')));
}

function closeForm(options) {
  state.form = null;
  return options.refresh();
}

function editForm(checklist, options) {
  const title = h('input#cl-edit-title', { maxlength: 100, value: checklist.title });
  const instructions = h('textarea#cl-edit-instructions', { rows: 2, maxlength: 2000 });
  instructions.value = checklist.instructions;
  const shown = localInput(checklist.due_at);
  const due = h('input#cl-edit-due', { type: 'datetime-local', value: shown });
  const errors = h('div.cl-error#cl-edit-errors');
  const save = h('button.cl-button.primary#cl-edit-save', {
    type: 'button',
    onclick: async () => {
      // Only what was changed: the deadline shown is rounded to the minute, and sending it back
      // unchanged would move it by seconds (and re-arm its warnings).
      const body = {};
      if (title.value.trim() !== checklist.title) body.title = title.value.trim();
      if (instructions.value.trim() !== checklist.instructions) body.instructions = instructions.value.trim();
      if (due.value && due.value !== shown) body.due_at = new Date(due.value).toISOString();
      if (!Object.keys(body).length) { errors.textContent = t('cl_no_change'); return; }
      save.disabled = true;
      try {
        await api.patch(`/checklists/${checklist.id}`, body);
        toast(t('cl_saved'), 'ok');
        await closeForm(options);
      } catch (err) {
        errors.textContent = [err.message, ...Object.values((err.details && err.details.json) || {}).flat()].join('\n');
        save.disabled = false;
      }
    },
  }, t('cl_save'));
  return h('section.cl-form#checklist-editor',
    h('label', t('cl_title'), title),
    h('label', t('cl_instructions'), instructions),
    h('label', t('cl_due'), due),
    h('p.hint', t('cl_edit_fixed')),
    errors,
    h('div.cl-actions', save, h('button.cl-button', { type: 'button', onclick: () => closeForm(options) }, t('cl_cancel'))));
}

function withdrawForm(checklist, options) {
  const reason = h('input#cl-withdraw-reason', { maxlength: 200 });
  const errors = h('div.cl-error#cl-withdraw-errors');
  const confirm = h('button.cl-button.danger#cl-withdraw-confirm', {
    type: 'button',
    onclick: async () => {
      if (!reason.value.trim()) { reason.focus(); return; }
      confirm.disabled = true;
      try {
        await api.post(`/checklists/${checklist.id}/withdraw`, { reason: reason.value.trim() });
        toast(t('cl_withdrawn_done'), 'ok');
        await closeForm(options);
      } catch (err) {
        errors.textContent = err.message;
        confirm.disabled = false;
      }
    },
  }, t('cl_withdraw_confirm'));
  return h('section.cl-form#checklist-withdraw-form',
    h('p.warn', t('cl_withdraw_hint')),
    h('label', t('cl_withdraw_reason'), reason),
    errors,
    h('div.cl-actions', confirm, h('button.cl-button', { type: 'button', onclick: () => closeForm(options) }, t('cl_cancel'))));
}

function photosOf(assignment) {
  return assignment.answers.flatMap((x) => x.photos);
}

// A worker's photo, through the assignment (the console cannot read another's uploads directly).
async function photo(assignmentId, id) {
  const response = await fetch(`/api/v1/checklist-assignments/${assignmentId}/photos/${id}`, {
    headers: { Authorization: 'Bearer ' + currentToken() },
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

// -- the map: grids clicked while building, progress colours while watching ----------------

async function mapHandle() {
  if (state.map) return state.map;
  if (!window.wanggeMap) return null;
  const handle = await window.wanggeMap.catch(() => null);
  if (!handle || !handle.map) return null;
  const map = handle.map;
  const layer = (id, paint) => ({ id, type: 'fill', source: 'grid', 'source-layer': 'grid', paint, filter: ['in', ['id'], ['literal', []]] });
  const before = map.getLayer('key-places') ? 'key-places' : undefined;
  map.addLayer(layer('checklist-progress', { 'fill-color': '#0a7a3d', 'fill-opacity': 0.35 }), before);
  map.addLayer(layer('checklist-picked', { 'fill-color': '#0a5bd3', 'fill-opacity': 0.45 }), before);
  map.on('click', 'grids', (e) => {
    if (!state.builder || state.mode !== 'areas' || !e.features.length) return;
    const code = String(e.features[0].id);
    if (state.picked.has(code)) state.picked.delete(code); else state.picked.add(code);
    if (state.onPick) state.onPick();
  });
  state.map = map;
  return map;
}

async function paintPicked() {
  const map = await mapHandle();
  if (!map) return;
  const ids = [...state.picked].filter((c) => c.length === 15).map(Number);
  map.setFilter('checklist-picked', ['in', ['id'], ['literal', state.builder ? ids : []]]);
}

// Grids coloured by their progress: done green, answered in part amber, overdue red.
async function paintProgress(nodes) {
  const map = await mapHandle();
  if (!map) return;
  const grids = (nodes || []).filter((n) => n.level === 'grid');
  if (!grids.length) {
    map.setFilter('checklist-progress', ['in', ['id'], ['literal', []]]);
    return;
  }
  const colour = (n) => (n.overdue ? '#c21818' : n.completed === n.assignments ? '#0a7a3d' : n.items_answered ? '#e08a00' : '#8a94a6');
  const match = ['match', ['id']];
  grids.forEach((n) => match.push(Number(n.code), colour(n)));
  match.push('#8a94a6');
  map.setPaintProperty('checklist-progress', 'fill-color', match);
  map.setFilter('checklist-progress', ['in', ['id'], ['literal', grids.map((n) => Number(n.code))]]);
}

// -- the builder ----------------------------------------------------------------------------

function defaultDue() {
  const due = new Date(Date.now() + 24 * 3600e3);
  due.setMinutes(0, 0, 0);
  const pad = (n) => String(n).padStart(2, '0');
  return `${due.getFullYear()}-${pad(due.getMonth() + 1)}-${pad(due.getDate())}T${pad(due.getHours())}:00`;
}

function itemEditor(spec = {}) {
  const row = h('div.cl-item-editor');
  const label = h('input.cl-item-label', { placeholder: t('cl_label'), value: spec.label || '', maxlength: 200 });
  const kind = h('select.cl-item-kind', KINDS.map((k) => h('option', { value: k, selected: (spec.kind || 'yes_no') === k }, t('cl_kind_' + k))));
  const required = h('input.cl-item-required', { type: 'checkbox', checked: spec.required !== false });
  const failOn = h('select.cl-item-fail', h('option', { value: '' }, t('cl_fail_none')), h('option', { value: 'true' }, t('cl_yes')), h('option', { value: 'false' }, t('cl_no')));
  failOn.value = spec.fail_on === true ? 'true' : spec.fail_on === false ? 'false' : '';
  const unit = h('input.cl-item-unit', { placeholder: t('cl_unit'), value: spec.unit || '', maxlength: 16 });
  const min = h('input.cl-item-min', { type: 'number', step: 'any', placeholder: t('cl_min'), value: spec.min_value ?? '' });
  const max = h('input.cl-item-max', { type: 'number', step: 'any', placeholder: t('cl_max'), value: spec.max_value ?? '' });
  const distance = h('input.cl-item-distance', { type: 'number', min: 10, max: 5000, placeholder: '200', value: spec.max_distance_m ?? '' });
  const extra = h('div.cl-item-extra');
  const error = h('div.cl-error');
  const showExtra = () => {
    const k = kind.value;
    mount(extra,
      k === 'yes_no' ? h('label.inline', t('cl_fail_on'), failOn) : null,
      k === 'value' ? [unit, min, max] : null,
      k === 'gps' ? h('label.inline', t('cl_max_distance'), distance) : null);
  };
  kind.addEventListener('change', showExtra);
  showExtra();
  const number = (input) => (input.value === '' ? null : Number(input.value));
  row.read = () => {
    const k = kind.value;
    const item = { label: label.value.trim(), kind: k, required: required.checked };
    if (k === 'yes_no') item.fail_on = failOn.value === '' ? null : failOn.value === 'true';
    if (k === 'value') Object.assign(item, { unit: unit.value.trim(), min_value: number(min), max_value: number(max) });
    if (k === 'gps' && distance.value !== '') item.max_distance_m = number(distance);
    return item;
  };
  row.showError = (messages) => {
    error.textContent = messages ? Object.values(messages).flat().join('；') : '';
    row.classList.toggle('invalid', !!messages);
  };
  mount(row,
    h('div.cl-item-line', label, kind, h('label.inline', required, t('cl_required')),
      h('button.link', { type: 'button', onclick: () => row.remove() }, t('cl_remove'))),
    extra, error);
  return row;
}

async function openBuilder(root, options) {
  state.picked = new Set();
  state.mode = 'areas';
  const { me } = options;
  const title = h('input#cl-title', { maxlength: 100, placeholder: t('cl_title') });
  const instructions = h('textarea#cl-instructions', { rows: 2, maxlength: 2000 });
  const due = h('input#cl-due', { type: 'datetime-local', value: defaultDue() });
  const items = h('div#cl-items');
  const errors = h('div.cl-error#cl-errors');
  const preview = h('div.hint#cl-preview');
  const picked = h('div.cl-picked#cl-picked');
  const kinds = h('select#cl-kind');
  const tree = h('ul.cl-tree#cl-tree');
  const template = h('select#cl-template', {
    onchange: () => {
      const chosen = TEMPLATES[template.value];
      if (!chosen) return;
      title.value = chosen.title;
      instructions.value = chosen.instructions;
      mount(items, chosen.items.map((spec) => itemEditor(spec)));
      if (chosen.kind) kinds.value = chosen.kind;
    },
  }, h('option', { value: '' }, t('cl_template_none')), h('option', { value: 'rock' }, t('cl_template_rock')), h('option', { value: 'fire' }, t('cl_template_fire')));
  items.append(itemEditor({ kind: 'photo', label: '' }));
  const modes = ['areas', 'kind'].map((mode) => h('label.inline', h('input', {
    type: 'radio', name: 'cl-mode', value: mode, id: 'cl-mode-' + mode, checked: mode === state.mode,
    onchange: () => { state.mode = mode; kindRow.hidden = mode !== 'kind'; refreshTargets(); },
  }), t(mode === 'areas' ? 'cl_by_area' : 'cl_by_kind')));
  const kindRow = h('div', { hidden: true }, kinds, h('div.hint', t('cl_kind_scope')));
  kinds.addEventListener('change', () => refreshTargets());
  api.get('/keys/kinds', { subject: 'place' }).then((answer) => {
    mount(kinds, answer.items.map((k) => h('option', { value: k.code }, k.name_zh)));
  }).catch(() => {});

  let timer = null;
  const body = () => ({
    areas: [...state.picked],
    key_place_kind: state.mode === 'kind' ? kinds.value || null : null,
  });
  function refreshTargets() {
    mount(picked, state.picked.size ? [t('cl_picked', { n: state.picked.size }), ' ',
      h('button.link', { type: 'button', onclick: () => { state.picked.clear(); tree.querySelectorAll('input:checked').forEach((i) => { i.checked = false; }); refreshTargets(); } }, t('cl_clear'))] : null);
    tree.querySelectorAll('input[data-code]').forEach((input) => { input.checked = state.picked.has(input.dataset.code); });
    paintPicked();
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const targets = body();
      if (!targets.areas.length && !targets.key_place_kind) return mount(preview, t('cl_map_hint'));
      try {
        const count = await api.post('/checklists/targets', targets);
        mount(preview,
          h('span#cl-preview-count', t('cl_preview', { ...count, places: count.key_places ? t('cl_preview_places', { n: count.key_places }) : '' })),
          count.unstaffed_grids.length ? h('div.warn', t('cl_unstaffed', { n: count.unstaffed_grids.length })) : null);
      } catch (err) {
        mount(preview, h('span.bad', err.message));
      }
    }, 250);
  }
  state.onPick = refreshTargets;

  // The tree of my area: villages (or townships) with their grids, ticked to pick.
  const rootCode = (me.scope && me.scope.area) || '500000000000';
  async function branch(list, code) {
    const answer = await api.get(`/areas/${code}/children`, { page_size: 500 });
    mount(list, answer.items.map((area) => {
      const children = h('ul.cl-tree', { hidden: true });
      const box = h('input', {
        type: 'checkbox', dataset: { code: area.code }, checked: state.picked.has(area.code),
        onchange: (e) => { if (e.target.checked) state.picked.add(area.code); else state.picked.delete(area.code); refreshTargets(); },
      });
      const toggle = area.level === 'grid' ? h('span.cl-leaf', '·') : h('button.link.cl-toggle', {
        type: 'button', 'aria-label': area.name,
        onclick: async (e) => {
          children.hidden = !children.hidden;
          e.currentTarget.textContent = children.hidden ? '▸' : '▾';
          if (!children.hidden && !children.childElementCount) await branch(children, area.code);
        },
      }, '▸');
      return h('li', { dataset: { code: area.code } }, toggle, h('label.inline', box, area.name), children);
    }));
  }
  branch(tree, rootCode).catch((err) => mount(tree, h('li.bad', err.message)));

  const send = h('button.cl-button.primary#cl-send', {
    type: 'button',
    onclick: async () => {
      const editors = [...items.querySelectorAll('.cl-item-editor')];
      editors.forEach((e) => e.showError(null));
      errors.textContent = '';
      const payload = {
        title: title.value.trim(),
        instructions: instructions.value.trim(),
        due_at: due.value ? new Date(due.value).toISOString() : '',
        items: editors.map((e) => e.read()),
        targets: body(),
      };
      send.disabled = true;
      try {
        const created = await api.post('/checklists', payload);
        toast(t('cl_sent', { n: created.figures.assignments }), 'ok');
        state.builder = null;
        state.selected = created.id;
        state.picked.clear();
        paintPicked();
        await checklistsPane(root, options);
      } catch (err) {
        // The form stays as typed: every refused field is marked beside it.
        const fields = (err.details && err.details.json) || {};
        const lines = [err.message];
        for (const [index, messages] of Object.entries(fields.items || {})) {
          if (editors[Number(index)] && typeof messages === 'object' && !Array.isArray(messages)) editors[Number(index)].showError(messages);
          else lines.push(`${t('cl_items')}：${[].concat(messages).join('；')}`);
        }
        for (const [field, messages] of Object.entries(fields)) {
          if (field !== 'items') lines.push(`${field}：${JSON.stringify(messages)}`);
        }
        if (err.details && err.details.codes) lines.push(err.details.codes.join('、'));
        errors.textContent = lines.join('\n');
        send.disabled = false;
      }
    },
  }, t('cl_send'));

  state.builder = h('section.card.cl-builder#checklist-builder',
    h('h3', t('cl_new')),
    h('label', t('cl_template'), template),
    h('label', t('cl_title'), title),
    h('label', t('cl_instructions'), instructions),
    h('label', t('cl_due'), due),
    h('h3', t('cl_items')), items,
    h('button.link#cl-add-item', { type: 'button', onclick: () => items.append(itemEditor({ kind: 'yes_no' })) }, t('cl_add_item')),
    h('h3', t('cl_targets')), h('div.cl-modes', modes), kindRow,
    h('div.hint', t('cl_map_hint')), picked, tree, preview, errors,
    h('div.cl-actions', send, h('button.cl-button#cl-cancel', {
      type: 'button', onclick: () => { state.builder = null; state.picked.clear(); paintPicked(); checklistsPane(root, options); },
    }, t('cl_cancel'))));
  refreshTargets();
  await checklistsPane(root, options);
  mapHandle().catch(() => {});
}
