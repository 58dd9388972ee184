// "一表通" smart report forms in the console: define a form (a builder with prefill sources and
// how each field rolls up), publish it, watch filings come in, drill the rollup down the
// hierarchy, return a filing 退回, fill township-level forms, and export any level to Excel.
// Live messages whose kind starts with 'form' redraw the pane; the builder and an open filing
// are left alone so nobody loses what they are typing.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, addStrings, language } from '../lib/i18n.js';
import { api, download, request } from '../lib/api.js';
import { filingEditor, startingValues } from '../lib/filing.js';

addStrings({
  forms: '一表通',
  fm_new: '新建报表',
  fm_template: '用“月度基层治理情况表”模板',
  fm_all: '全部状态',
  fm_status_draft: '草稿',
  fm_status_published: '填报中',
  fm_status_closed: '已结束',
  fm_title: '报表名称',
  fm_description: '填报说明',
  fm_period_kind: '周期',
  fm_period_month: '月报',
  fm_period_quarter: '季报',
  fm_period_year: '年报',
  fm_period_adhoc: '自定义',
  fm_period_start: '周期内日期',
  fm_period_start_adhoc: '开始日期',
  fm_period_end: '结束日期',
  fm_due: '截止日期',
  fm_fill_level: '填报层级',
  fm_area: '发布范围（区划代码，可空）',
  fm_level_grid: '网格',
  fm_level_village: '村社',
  fm_level_township: '镇街',
  fm_fields: '字段',
  fm_add_field: '添加字段',
  fm_field_label: '字段名称',
  fm_field_type: '类型',
  fm_field_unit: '单位',
  fm_field_required: '必填',
  fm_field_aggregate: '汇总方式',
  fm_field_choices: '选项（用、分隔）',
  fm_field_source: '系统预填',
  fm_field_decimals: '小数位',
  fm_field_hint: '填写提示',
  fm_no_source: '不预填',
  fm_up: '上移',
  fm_down: '下移',
  fm_remove: '删除',
  fm_save_draft: '保存草稿',
  fm_save_publish: '保存并发布',
  fm_cancel: '取消',
  fm_edit: '编辑',
  fm_publish: '发布',
  fm_delete: '删除草稿',
  fm_close: '结束填报',
  fm_export: '导出 Excel',
  fm_confirm_publish: '发布后各单位即可填报，字段不能再修改。确定发布？',
  fm_confirm_close: '结束后不再接受填报。确定结束？',
  fm_confirm_delete: '确定删除这份草稿？',
  fm_published: '已发布',
  fm_saved: '已保存',
  fm_owner: '发布单位',
  fm_progress: '进度',
  fm_in: '已报 {a} / {b}',
  fm_overdue_n: '逾期未报 {n}',
  fm_late_n: '逾期上报 {n}',
  fm_returned_n: '退回待改 {n}',
  fm_rollup: '汇总',
  fm_up_level: '上一级',
  fm_area_col: '区域',
  fm_expected: '应报',
  fm_submitted: '已报',
  fm_outstanding: '未报',
  fm_overdue: '逾期',
  fm_total: '合计',
  fm_filings: '填报情况',
  fm_view: '查看',
  fm_fill: '填报',
  fm_return: '退回',
  fm_return_reason: '退回原因',
  fm_return_send: '确认退回',
  fm_returned: '已退回',
  fm_my_filings: '本单位须填报',
  fm_none: '还没有报表',
  fm_back: '返回列表',
  fm_back_form: '返回报表',
  fm_submitter: '上报人',
  fm_submitted_at: '上报时间',
  fm_status: '状态',
  fm_history: '填报记录',
  fm_save: '暂存',
  fm_submit: '上报',
  fm_due_short: '截止',
  fs_pending: '未填报',
  fs_draft: '已暂存',
  fs_submitted: '已上报',
  fs_returned: '已退回',
  ft_integer: '整数',
  ft_decimal: '小数',
  ft_text: '文本',
  ft_choice: '单选',
  ft_yesno: '是/否',
  fa_sum: '求和',
  fa_avg: '平均',
  fa_min: '最小值',
  fa_max: '最大值',
  fa_count_yes: '“是”的个数',
  fa_count_filled: '已填个数',
  fa_count_each: '各选项个数',
  fa_list: '逐条列出',
  fa_none: '不汇总',
  fg_events: '事件',
  fg_keys: '重点对象',
  fg_staff: '人员',
  fg_geo: '区域',
  log_save: '暂存',
  log_submit: '上报',
  log_resubmit: '重新上报',
  log_return: '退回',
}, {
  forms: 'Reports',
  fm_new: 'New form',
  fm_template: 'Start from the monthly governance template',
  fm_all: 'All',
  fm_status_draft: 'Draft',
  fm_status_published: 'Open',
  fm_status_closed: 'Closed',
  fm_title: 'Title',
  fm_description: 'Instructions',
  fm_period_kind: 'Period',
  fm_period_month: 'Month',
  fm_period_quarter: 'Quarter',
  fm_period_year: 'Year',
  fm_period_adhoc: 'Custom',
  fm_period_start: 'A day in the period',
  fm_period_start_adhoc: 'From',
  fm_period_end: 'To',
  fm_due: 'Due',
  fm_fill_level: 'Filled by',
  fm_area: 'Area code (optional)',
  fm_level_grid: 'Grids',
  fm_level_village: 'Villages',
  fm_level_township: 'Townships',
  fm_fields: 'Fields',
  fm_add_field: 'Add field',
  fm_field_label: 'Label',
  fm_field_type: 'Type',
  fm_field_unit: 'Unit',
  fm_field_required: 'Required',
  fm_field_aggregate: 'Roll-up',
  fm_field_choices: 'Options (separate with 、)',
  fm_field_source: 'Prefill',
  fm_field_decimals: 'Decimals',
  fm_field_hint: 'Hint',
  fm_no_source: 'None',
  fm_up: 'Up',
  fm_down: 'Down',
  fm_remove: 'Remove',
  fm_save_draft: 'Save draft',
  fm_save_publish: 'Save and publish',
  fm_cancel: 'Cancel',
  fm_edit: 'Edit',
  fm_publish: 'Publish',
  fm_delete: 'Delete draft',
  fm_close: 'Close',
  fm_export: 'Export Excel',
  fm_confirm_publish: 'Once published, units can fill it and its fields are fixed. Publish?',
  fm_confirm_close: 'No more filings will be taken. Close?',
  fm_confirm_delete: 'Delete this draft?',
  fm_published: 'Published',
  fm_saved: 'Saved',
  fm_owner: 'Owner',
  fm_progress: 'Progress',
  fm_in: '{a} of {b} in',
  fm_overdue_n: '{n} overdue',
  fm_late_n: '{n} late',
  fm_returned_n: '{n} returned',
  fm_rollup: 'Roll-up',
  fm_up_level: 'Up a level',
  fm_area_col: 'Area',
  fm_expected: 'Expected',
  fm_submitted: 'In',
  fm_outstanding: 'Missing',
  fm_overdue: 'Overdue',
  fm_total: 'Total',
  fm_filings: 'Filings',
  fm_view: 'View',
  fm_fill: 'Fill',
  fm_return: 'Return',
  fm_return_reason: 'Reason',
  fm_return_send: 'Return it',
  fm_returned: 'Returned',
  fm_my_filings: 'For my unit to fill',
  fm_none: 'No forms yet',
  fm_back: 'Back to the list',
  fm_back_form: 'Back to the form',
  fm_submitter: 'By',
  fm_submitted_at: 'At',
  fm_status: 'Status',
  fm_history: 'History',
  fm_save: 'Save draft',
  fm_submit: 'Submit',
  fm_due_short: 'due',
  fs_pending: 'Not started',
  fs_draft: 'Draft',
  fs_submitted: 'Submitted',
  fs_returned: 'Returned',
  ft_integer: 'Whole number',
  ft_decimal: 'Decimal',
  ft_text: 'Text',
  ft_choice: 'Choice',
  ft_yesno: 'Yes/no',
  fa_sum: 'Sum',
  fa_avg: 'Average',
  fa_min: 'Minimum',
  fa_max: 'Maximum',
  fa_count_yes: 'Count of yes',
  fa_count_filled: 'Count filled',
  fa_count_each: 'Count per option',
  fa_list: 'List',
  fa_none: 'None',
  fg_events: 'Events',
  fg_keys: 'Key persons & places',
  fg_staff: 'Staff',
  fg_geo: 'Area',
  log_save: 'Saved',
  log_submit: 'Submitted',
  log_resubmit: 'Submitted again',
  log_return: 'Returned',
});

const AUTHORS = new Set(['township_dispatcher', 'admin']);
const LEVELS = ['city', 'district', 'township', 'village', 'grid'];
const TYPES = ['integer', 'decimal', 'yesno', 'choice', 'text'];
// The same table as app/forms/fields.py ALLOWED: the first is the default.
const AGGREGATES = {
  integer: ['sum', 'avg', 'min', 'max', 'count_filled', 'none'],
  decimal: ['sum', 'avg', 'min', 'max', 'count_filled', 'none'],
  yesno: ['count_yes', 'count_filled', 'none'],
  choice: ['count_each', 'count_filled', 'none'],
  text: ['list', 'count_filled', 'none'],
};
// A starting point township staff asked for: the monthly figures every level re-keys today.
const TEMPLATE = {
  title: '月度基层治理情况表',
  description: '系统已预填的数字请核对，如有出入直接修改。',
  fields: [
    { label: '受理事件数', type: 'integer', unit: '件', source: 'events.received' },
    { label: '结案事件数', type: 'integer', unit: '件', source: 'events.closed' },
    { label: '超期事件数', type: 'integer', unit: '件', source: 'events.overdue' },
    { label: '矛盾纠纷事件数', type: 'integer', unit: '件', source: 'events.category.DISPUTE' },
    { label: '重点人员数', type: 'integer', unit: '人', source: 'keys.persons' },
    { label: '走访次数', type: 'integer', unit: '次', source: 'keys.visits' },
    { label: '开展安全检查', type: 'yesno', required: true },
    { label: '总体态势', type: 'choice', choices: ['平稳', '一般', '紧张'], required: true },
    { label: '群众满意度', type: 'decimal', unit: '分', aggregate: 'avg', decimals: 1 },
    { label: '需上级协调事项', type: 'text' },
  ],
};

// Kept across redraws (live messages call formsPane again).
const state = { view: 'list', formId: null, filingId: null, area: null, trail: [], status: '', busy: false };

function beijingDay(offsetDays = 0) {
  return new Date(Date.now() + 8 * 3600e3 + offsetDays * 86400e3).toISOString().slice(0, 10);
}

function fmtValue(field, value) {
  if (value === null || value === undefined) return '—';
  if (field.aggregate === 'count_each') return Object.entries(value).map(([k, n]) => `${k} ${n}`).join('，');
  if (field.aggregate === 'list') return value.length ? value.join('；') : '—';
  if (field.type === 'yesno' && typeof value === 'boolean') return value ? '是' : '否';
  return String(value);
}

function progressBar(p) {
  const share = p.expected ? p.submitted / p.expected : 0;
  return h('div.fm-progress', { title: t('fm_in', { a: p.submitted, b: p.expected }) },
    h('div.fm-bar', h('span', { style: { width: `${Math.round(share * 100)}%` } })),
    h('span.hint', t('fm_in', { a: p.submitted, b: p.expected })),
    p.overdue ? h('span.hint.bad', ' · ' + t('fm_overdue_n', { n: p.overdue })) : null,
    p.late ? h('span.hint.warn', ' · ' + t('fm_late_n', { n: p.late })) : null,
    p.returned ? h('span.hint.warn', ' · ' + t('fm_returned_n', { n: p.returned })) : null);
}

export async function formsPane(root, { me } = {}) {
  // A redraw from a live message must not throw away a form being built or filled.
  if (state.busy && root.querySelector('#forms-pane')) return;
  state.busy = false;
  const ctx = { root, me, redraw: () => formsPane(root, { me }) };
  const views = { list: listView, form: formView, builder: builderView, filing: filingView };
  try {
    await (views[state.view] || listView)(ctx);
  } catch (err) {
    state.view = 'list';
    mount(root, h('div#forms-pane', h('h2', t('forms')), h('p.error', err.message)));
  }
}

function go(ctx, view, extra = {}) {
  Object.assign(state, { view, busy: false }, extra);
  return ctx.redraw();
}

// -- the list --------------------------------------------------------------------------------

async function listView(ctx) {
  const { root, me } = ctx;
  const [forms, mine] = await Promise.all([
    api.get('/forms', { status: state.status, page_size: 100 }),
    api.get('/filings', { mine: true, open: true, page_size: 50 }),
  ]);
  const author = AUTHORS.has(me.user.role);
  const status = h('select#fm-status', { 'aria-label': t('fm_status'), onchange: (e) => { state.status = e.target.value; ctx.redraw(); } },
    h('option', { value: '' }, t('fm_all')),
    ['draft', 'published', 'closed'].map((s) => h('option', { value: s, selected: state.status === s }, t('fm_status_' + s))));
  const rows = forms.items.map((f) => h('tr.fm-form', {
    dataset: { id: f.id, status: f.status },
    onclick: () => go(ctx, 'form', { formId: f.id, area: null, trail: [] }),
  },
  h('td', h('b', f.title), h('div.hint', `${f.owner.name} · ${t('fm_period_' + f.period_kind)} ${f.period_start} ~ ${f.period_end}`)),
  h('td', t('fm_level_' + f.fill_level)),
  h('td', f.due_on),
  h('td', h('span.state.fm-' + f.status, t('fm_status_' + f.status))),
  h('td', f.status === 'draft' ? '—' : progressBar(f.progress))));
  mount(root, h('div#forms-pane',
    h('div.fm-head', h('h2', t('forms')), h('span.grow'), status,
      author ? h('button.primary.fm-button#fm-new', { type: 'button', onclick: () => go(ctx, 'builder', { formId: null }) }, '+ ' + t('fm_new')) : null),
    mine.items.length ? h('section.card#fm-mine', h('h3', t('fm_my_filings')), mine.items.map((f) =>
      h('div.fm-mine-row', h('b', f.form_title), ' ', h('span.hint' + (f.overdue ? '.bad' : ''), `${t('fm_due_short')} ${f.due_on}`), ' ',
        h('span.state.fs-' + f.status, t('fs_' + f.status)), ' ',
        h('button.link', { type: 'button', dataset: { filing: f.id }, onclick: () => go(ctx, 'filing', { filingId: f.id, formId: f.form_id }) }, t('fm_fill'))))) : null,
    forms.items.length
      ? h('table.plain.fm-table#fm-forms', h('thead', h('tr', h('th', t('fm_title')), h('th', t('fm_fill_level')), h('th', t('fm_due')), h('th', t('fm_status')), h('th', t('fm_progress')))), h('tbody', rows))
      : h('p.hint#fm-empty', t('fm_none'))));
}

// -- one form: progress, rollup, filings -----------------------------------------------------

async function formView(ctx) {
  const { root } = ctx;
  const form = await api.get(`/forms/${state.formId}`);
  const published = form.status !== 'draft';
  const [rollup, filings] = published
    ? await Promise.all([
      api.get(`/forms/${form.id}/rollup`, { area: state.area }),
      api.get('/filings', { form_id: form.id, area: state.area, page_size: 500 }),
    ])
    : [null, null];
  if (rollup && !state.area) state.area = rollup.area.code;

  const act = (label, id, fn, cls = '') => h(`button${cls}#${id}`, {
    type: 'button',
    onclick: async () => {
      try {
        await fn();
      } catch (err) {
        toast(err.message, 'error');
      }
    },
  }, label);
  const buttons = [];
  if (form.can_manage && form.status === 'draft') {
    buttons.push(
      act(t('fm_edit'), 'fm-edit', () => go(ctx, 'builder', { formId: form.id })),
      act(t('fm_publish'), 'fm-publish', async () => {
        if (!confirm(t('fm_confirm_publish'))) return;
        await api.post(`/forms/${form.id}/publish`, {});
        toast(t('fm_published'), 'ok');
        ctx.redraw();
      }, '.primary'),
      act(t('fm_delete'), 'fm-delete', async () => {
        if (!confirm(t('fm_confirm_delete'))) return;
        await request('DELETE', `/forms/${form.id}`);
        go(ctx, 'list');
      }, '.danger'));
  }
  if (form.can_manage && form.status === 'published') {
    buttons.push(act(t('fm_close'), 'fm-close', async () => {
      if (!confirm(t('fm_confirm_close'))) return;
      await api.post(`/forms/${form.id}/close`, {});
      ctx.redraw();
    }, '.danger'));
  }
  if (rollup) {
    buttons.push(act(t('fm_export'), 'fm-export', () =>
      download(`/forms/${form.id}/export.xlsx`, { area: state.area }, `${form.title}-${rollup.area.name}.xlsx`)));
  }

  const facts = h('dl.facts',
    h('dt', t('fm_owner')), h('dd', form.owner.name),
    h('dt', t('fm_period_kind')), h('dd', `${t('fm_period_' + form.period_kind)} ${form.period_start} ~ ${form.period_end}`),
    h('dt', t('fm_due')), h('dd', form.due_on),
    h('dt', t('fm_fill_level')), h('dd', t('fm_level_' + form.fill_level)),
    h('dt', t('fm_status')), h('dd', t('fm_status_' + form.status)),
    published ? [h('dt', t('fm_progress')), h('dd', progressBar(form.progress))] : null);

  mount(root, h('div#forms-pane',
    h('button.link.fm-back', { type: 'button', onclick: () => go(ctx, 'list', { formId: null }) }, '‹ ' + t('fm_back')),
    h('h2#fm-form-title', form.title),
    form.description ? h('p.hint', form.description) : null,
    facts,
    h('div.buttons', buttons),
    rollup ? rollupTable(ctx, form, rollup) : fieldsTable(form),
    filings ? filingsTable(ctx, form, filings.items) : null));
}

function fieldsTable(form) {
  return h('table.plain.fm-table#fm-fields', h('thead', h('tr', h('th', t('fm_field_label')), h('th', t('fm_field_type')),
    h('th', t('fm_field_aggregate')), h('th', t('fm_field_source')))),
  h('tbody', form.fields.map((f) => h('tr', h('td', f.label + (f.unit ? `（${f.unit}）` : '') + (f.required ? ' *' : '')),
    h('td', t('ft_' + f.type)), h('td', t('fa_' + f.aggregate)), h('td', f.source || '—')))));
}

function rollupTable(ctx, form, rollup) {
  const fields = form.fields.filter((f) => f.aggregate !== 'none');
  const drill = rollup.child_level !== form.fill_level && rollup.child_level !== rollup.area.level;
  const cells = (item) => [
    h('td.num', String(item.expected)), h('td.num', String(item.submitted)), h('td.num', String(item.outstanding)),
    h('td.num' + (item.overdue ? '.bad' : ''), String(item.overdue)),
    ...fields.map((f) => h('td', { dataset: { key: f.key } }, fmtValue(f, item.values[f.key]))),
  ];
  const up = state.trail.length
    ? h('button.link#fm-up', { type: 'button', onclick: () => go(ctx, 'form', { area: state.trail.pop() }) }, '‹ ' + t('fm_up_level'))
    : null;
  return h('section#fm-rollup',
    h('div.fm-head', h('h3', `${t('fm_rollup')} · ${rollup.area.name}`), up),
    h('div.fm-scroll', h('table.plain.fm-table.fm-rollup',
      h('thead', h('tr', h('th', t('fm_area_col')), h('th', t('fm_expected')), h('th', t('fm_submitted')), h('th', t('fm_outstanding')),
        h('th', t('fm_overdue')), fields.map((f) => h('th', { title: t('fa_' + f.aggregate) }, f.label + (f.unit ? `（${f.unit}）` : ''))))),
      h('tbody',
        rollup.rows.map((row) => h('tr.fm-row', { dataset: { area: row.area.code } },
          h('td', drill
            ? h('button.link.fm-drill', { type: 'button', onclick: () => { state.trail.push(state.area); go(ctx, 'form', { area: row.area.code }); } }, row.area.name)
            : row.area.name),
          cells(row))),
        h('tr.fm-total', { dataset: { area: 'total' } }, h('td', h('b', t('fm_total'))), cells(rollup.total))))));
}

function filingsTable(ctx, form, filings) {
  return h('section#fm-filings', h('h3', t('fm_filings')),
    h('div.fm-scroll', h('table.plain.fm-table',
      h('thead', h('tr', h('th', t('fm_area_col')), h('th', t('fm_status')), h('th', t('fm_submitter')), h('th', t('fm_submitted_at')), h('th', ''))),
      h('tbody', filings.map((f) => h('tr.fm-filing', { dataset: { id: f.id, area: f.area.code, status: f.status } },
        h('td', f.area.name),
        h('td', h('span.state.fs-' + f.status, t('fs_' + f.status)), f.late ? h('span.hint.warn', ' ' + t('fm_late_n', { n: '' }).trim()) : null,
          f.overdue ? h('span.hint.bad', ' ' + t('fm_overdue')) : null),
        h('td', f.submitted_by_name || ''),
        h('td', f.submitted_at ? fmtTime(f.submitted_at) : ''),
        h('td', f.status !== 'pending' || f.can_fill
          ? h('button.link', { type: 'button', onclick: () => go(ctx, 'filing', { filingId: f.id }) }, f.can_fill ? t('fm_fill') : t('fm_view'))
          : null)))))));
}

// -- one filing: view, fill (township level) or return ------------------------------------

async function filingView(ctx) {
  const { root } = ctx;
  const filing = await api.get(`/filings/${state.filingId}`);
  const editor = filingEditor(filing, { values: startingValues(filing), readOnly: !filing.can_fill });
  state.busy = filing.can_fill;
  const back = () => go(ctx, state.formId ? 'form' : 'list');

  async function save(submit) {
    const { values, errors } = editor.collect(submit);
    if (Object.keys(errors).length) {
      toast(t('fl_errors', { n: Object.keys(errors).length }), 'error');
      return;
    }
    try {
      await request('PUT', `/filings/${filing.id}`, { json: { values, submit } });
      toast(submit ? t('fs_submitted') : t('fm_saved'), 'ok');
      if (submit) back();
    } catch (err) {
      toast(err.message, 'error');
    }
  }

  const reason = h('textarea#fm-return-reason', { maxlength: 500, placeholder: t('fm_return_reason') });
  mount(root, h('div#forms-pane',
    h('button.link.fm-back', { type: 'button', onclick: back }, '‹ ' + t(state.formId ? 'fm_back_form' : 'fm_back')),
    h('h2', filing.form_title),
    h('p', h('span.state.fs-' + filing.status, t('fs_' + filing.status)), ' ', filing.area.name,
      filing.submitted_at ? h('span.hint', ` · ${filing.submitted_by_name} ${fmtTime(filing.submitted_at)}`) : null),
    filing.status === 'returned' && filing.return_reason ? h('div.banner-warn', `${t('fm_returned')}：${filing.return_reason}`) : null,
    h('div.fm-filing', editor.el),
    filing.can_fill ? h('div.buttons',
      h('button#fm-filing-save', { type: 'button', onclick: () => save(false) }, t('fm_save')),
      h('button.primary#fm-filing-submit', { type: 'button', onclick: () => save(true) }, t('fm_submit'))) : null,
    filing.can_return ? h('section.card#fm-return', h('h3', t('fm_return')), reason, h('div.buttons',
      h('button.danger#fm-return-send', {
        type: 'button',
        onclick: async () => {
          if (!reason.value.trim()) { reason.focus(); return; }
          try {
            await api.post(`/filings/${filing.id}/return`, { reason: reason.value.trim() });
            toast(t('fm_returned'), 'ok');
            back();
          } catch (err) {
            toast(err.message, 'error');
          }
        },
      }, t('fm_return_send')))) : null,
    filing.log.length ? [h('h3', t('fm_history')), h('ul.timeline', filing.log.map((e) =>
      h('li', `${fmtTime(e.at)} ${e.actor_name} ${t('log_' + e.action)}`, e.reason ? h('div.reason', e.reason) : null)))] : null));
}

// -- the builder -----------------------------------------------------------------------------

let sourceCache = null;

async function sources() {
  if (!sourceCache) sourceCache = (await api.get('/forms/sources')).items;
  return sourceCache;
}

function blankField(type = 'integer') {
  return { label: '', type, unit: '', required: false, aggregate: AGGREGATES[type][0], choices: [], source: null, decimals: null, hint: '' };
}

async function builderView(ctx) {
  const { root, me } = ctx;
  const catalogue = await sources();
  const existing = state.formId ? await api.get(`/forms/${state.formId}`) : null;
  state.busy = true;
  const own = me.scope && me.scope.area ? me.scope.area : null;
  const ownLevel = own ? levelOf(own) : 'city';
  const fillLevels = ['township', 'village', 'grid'].filter((l) => LEVELS.indexOf(l) > LEVELS.indexOf(ownLevel));
  const draft = existing ? {
    title: existing.title,
    description: existing.description,
    period_kind: existing.period_kind,
    period_start: existing.period_start,
    period_end: existing.period_end,
    due_on: existing.due_on,
    fill_level: existing.fill_level,
    area: existing.owner.code === own ? '' : existing.owner.code,
    fields: existing.fields.map((f) => ({ ...f })),
  } : {
    title: '',
    description: '',
    period_kind: 'month',
    period_start: beijingDay(0),
    period_end: '',
    due_on: beijingDay(10),
    fill_level: fillLevels.includes('village') ? 'village' : fillLevels[0],
    area: '',
    fields: [blankField()],
  };

  const error = h('p.error#fm-builder-error', { hidden: true });
  const fieldsBox = h('div#fm-builder-fields');
  const bind = (key, el, parse = (v) => v) => {
    el.addEventListener('input', () => { draft[key] = parse(el.value); });
    el.addEventListener('change', () => { draft[key] = parse(el.value); });
    return el;
  };
  const periodEnd = bind('period_end', h('input#fm-period-end', { type: 'date', value: draft.period_end || '' }));
  const endLabel = h('label', t('fm_period_end'), periodEnd);
  const startLabelText = h('span', t(draft.period_kind === 'adhoc' ? 'fm_period_start_adhoc' : 'fm_period_start'));
  const syncPeriod = () => {
    endLabel.hidden = draft.period_kind !== 'adhoc';
    startLabelText.textContent = t(draft.period_kind === 'adhoc' ? 'fm_period_start_adhoc' : 'fm_period_start');
  };
  const kind = h('select#fm-period-kind', {
    onchange: (e) => { draft.period_kind = e.target.value; syncPeriod(); },
  }, ['month', 'quarter', 'year', 'adhoc'].map((k) => h('option', { value: k, selected: draft.period_kind === k }, t('fm_period_' + k))));

  function drawFields() {
    mount(fieldsBox, draft.fields.map((field, n) => fieldCard(field, n)));
  }

  function fieldCard(field, n) {
    const numeric = field.type === 'integer' || field.type === 'decimal';
    const redrawCard = () => drawFields();
    const move = (step) => {
      const to = n + step;
      if (to < 0 || to >= draft.fields.length) return;
      [draft.fields[n], draft.fields[to]] = [draft.fields[to], draft.fields[n]];
      drawFields();
    };
    const groups = {};
    for (const s of catalogue) (groups[s.group] = groups[s.group] || []).push(s);
    const sourceSelect = h('select.fm-f-source', {
      'aria-label': t('fm_field_source'),
      onchange: (e) => {
        field.source = e.target.value || null;
        const picked = catalogue.find((s) => s.key === field.source);
        if (picked && !field.label) field.label = language() === 'zh' ? picked.name : picked.name_en;
        redrawCard();
      },
    }, h('option', { value: '' }, t('fm_no_source')), Object.entries(groups).map(([group, list]) =>
      h('optgroup', { label: t('fg_' + group) }, list.map((s) =>
        h('option', { value: s.key, selected: field.source === s.key, title: s.description }, language() === 'zh' ? s.name : s.name_en)))));
    return h('div.fm-field-card', { dataset: { n } },
      h('div.fm-field-row',
        h('span.fm-field-n', String(n + 1)),
        h('input.fm-f-label', { value: field.label, placeholder: t('fm_field_label'), 'aria-label': t('fm_field_label'), maxlength: 60, oninput: (e) => { field.label = e.target.value; } }),
        h('select.fm-f-type', {
          'aria-label': t('fm_field_type'),
          onchange: (e) => {
            field.type = e.target.value;
            field.aggregate = AGGREGATES[field.type][0];
            if (!['integer', 'decimal'].includes(field.type)) field.source = null;
            if (field.type !== 'choice') field.choices = [];
            redrawCard();
          },
        }, TYPES.map((ty) => h('option', { value: ty, selected: field.type === ty }, t('ft_' + ty)))),
        h('select.fm-f-aggregate', {
          'aria-label': t('fm_field_aggregate'), title: t('fm_field_aggregate'),
          onchange: (e) => { field.aggregate = e.target.value; },
        }, AGGREGATES[field.type].map((a) => h('option', { value: a, selected: field.aggregate === a }, t('fa_' + a)))),
        h('label.check.fm-f-required-label', h('input.fm-f-required', { type: 'checkbox', checked: field.required, onchange: (e) => { field.required = e.target.checked; } }), t('fm_field_required'))),
      h('div.fm-field-row',
        numeric ? sourceSelect : null,
        numeric || field.type === 'text' ? h('input.fm-f-unit', { value: field.unit, placeholder: t('fm_field_unit'), 'aria-label': t('fm_field_unit'), maxlength: 12, oninput: (e) => { field.unit = e.target.value; } }) : null,
        field.type === 'decimal' ? h('input.fm-f-decimals', { type: 'number', min: 0, max: 4, value: field.decimals ?? 2, 'aria-label': t('fm_field_decimals'), title: t('fm_field_decimals'), oninput: (e) => { field.decimals = e.target.value === '' ? null : Number(e.target.value); } }) : null,
        field.type === 'choice' ? h('input.fm-f-choices', { value: field.choices.join('、'), placeholder: t('fm_field_choices'), 'aria-label': t('fm_field_choices'), oninput: (e) => { field.choices = e.target.value.split(/[、,，;；]/).map((c) => c.trim()).filter(Boolean); } }) : null,
        h('input.fm-f-hint', { value: field.hint || '', placeholder: t('fm_field_hint'), 'aria-label': t('fm_field_hint'), maxlength: 200, oninput: (e) => { field.hint = e.target.value; } }),
        h('span.grow'),
        h('button.link', { type: 'button', title: t('fm_up'), 'aria-label': t('fm_up'), onclick: () => move(-1) }, '↑'),
        h('button.link', { type: 'button', title: t('fm_down'), 'aria-label': t('fm_down'), onclick: () => move(1) }, '↓'),
        h('button.link.bad', { type: 'button', onclick: () => { draft.fields.splice(n, 1); drawFields(); } }, t('fm_remove'))));
  }

  async function save(publish) {
    error.hidden = true;
    const body = {
      title: draft.title,
      description: draft.description,
      period_kind: draft.period_kind,
      period_start: draft.period_start,
      period_end: draft.period_kind === 'adhoc' ? draft.period_end || null : null,
      due_on: draft.due_on,
      fill_level: draft.fill_level,
      area: draft.area ? draft.area.trim() : null,
      // Keys are the fields' positions: stable enough for a draft, invisible to people.
      fields: draft.fields.map((f, i) => ({
        key: `f${i + 1}`,
        label: f.label,
        type: f.type,
        unit: f.unit || '',
        required: Boolean(f.required),
        aggregate: f.aggregate,
        choices: f.type === 'choice' ? f.choices : [],
        source: f.source || null,
        decimals: f.type === 'decimal' ? (f.decimals ?? 2) : null,
        hint: f.hint || '',
      })),
    };
    try {
      const saved = existing
        ? await request('PUT', `/forms/${existing.id}`, { json: body })
        : await api.post('/forms', body);
      if (publish) {
        await api.post(`/forms/${saved.id}/publish`, {});
        toast(t('fm_published'), 'ok');
      } else {
        toast(t('fm_saved'), 'ok');
      }
      go(ctx, 'form', { formId: saved.id, area: null, trail: [] });
    } catch (err) {
      error.hidden = false;
      error.textContent = err.message + detailText(err.details);
      const position = err.details && err.details.position;
      fieldsBox.querySelectorAll('.fm-field-card').forEach((card) => card.classList.toggle('bad', Number(card.dataset.n) + 1 === position));
      error.scrollIntoView({ block: 'center' });
    }
  }

  mount(root, h('div#forms-pane.fm-builder',
    h('button.link.fm-back', { type: 'button', onclick: () => go(ctx, existing ? 'form' : 'list') }, '‹ ' + t('fm_cancel')),
    h('div.fm-head', h('h2', existing ? t('fm_edit') : t('fm_new')), h('span.grow'),
      existing ? null : h('button.link#fm-template', {
        type: 'button',
        onclick: () => {
          draft.title = draft.title || TEMPLATE.title;
          draft.description = draft.description || TEMPLATE.description;
          draft.fields = TEMPLATE.fields.map((f) => ({ ...blankField(f.type), ...f, aggregate: f.aggregate || AGGREGATES[f.type][0] }));
          builderView(ctx);
        },
      }, t('fm_template'))),
    h('label', t('fm_title'), bind('title', h('input#fm-title', { value: draft.title, maxlength: 100 }))),
    h('label', t('fm_description'), bind('description', h('textarea#fm-description', { maxlength: 2000 }, draft.description))),
    h('div.fm-grid',
      h('label', t('fm_period_kind'), kind),
      h('label', startLabelText, bind('period_start', h('input#fm-period-start', { type: 'date', value: draft.period_start }))),
      endLabel,
      h('label', t('fm_due'), bind('due_on', h('input#fm-due', { type: 'date', value: draft.due_on }))),
      h('label', t('fm_fill_level'), bind('fill_level', h('select#fm-fill-level',
        fillLevels.map((l) => h('option', { value: l, selected: draft.fill_level === l }, t('fm_level_' + l)))))),
      ownLevel !== 'township' ? h('label', t('fm_area'), bind('area', h('input#fm-area', { value: draft.area, inputmode: 'numeric', maxlength: 15 }))) : null),
    h('h3', t('fm_fields')),
    fieldsBox,
    h('button.link#fm-add-field', { type: 'button', onclick: () => { draft.fields.push(blankField()); drawFields(); } }, '+ ' + t('fm_add_field')),
    error,
    h('div.buttons',
      h('button#fm-save-draft', { type: 'button', onclick: () => save(false) }, t('fm_save_draft')),
      h('button.primary#fm-save-publish', { type: 'button', onclick: () => { if (confirm(t('fm_confirm_publish'))) save(true); } }, t('fm_save_publish')))));
  syncPeriod();
  drawFields();
}

function detailText(details) {
  if (!details || !details.fields) return '';
  return '：' + Object.values(details.fields).join('；');
}

function levelOf(code) {
  if (code.length === 15) return 'grid';
  if (code.slice(9, 12) !== '000') return 'village';
  if (code.slice(6, 9) !== '000') return 'township';
  if (code.slice(4, 6) !== '00') return 'district';
  return 'city';
}
