// Evaluation 综合评价: a period and level picker, a ranking table sortable by any column, a bar
// chart of the chosen measure (inline SVG), and exports of the scope's events for the period.
// Definitions of every measure: docs/evaluation.md.
import { h, mount, toast } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';
import { api, download } from '../lib/api.js';

addStrings({
  evaluation: '评价',
  eval_from: '开始日期',
  eval_to: '结束日期',
  eval_units: '单位',
  eval_people: '个人',
  eval_all_levels: '全部层级',
  eval_level_grid: '网格',
  eval_level_village: '村社',
  eval_level_board: '板块',
  eval_level_department: '部门',
  eval_name: '名称',
  eval_export_csv: '导出 CSV',
  eval_export_geojson: '导出 GeoJSON',
  eval_none: '该周期内没有数据',
  eval_chart: '按“{measure}”排名',
  m_received: '受理',
  m_filed: '立案',
  m_due: '应办结',
  m_closed: '结案',
  m_closed_on_time: '按期结案',
  m_closure_rate: '结案率',
  m_on_time_rate: '按期结案率',
  m_rework_rate: '返工率',
  m_extension_rate: '延期率',
  m_returns: '退回',
  m_return_rate: '退回率',
  m_supervisions: '督办',
  m_avg_handling_hours: '平均办理时长(时)',
  m_self_handled: '自处置',
}, {
  evaluation: 'Evaluation',
  eval_from: 'From',
  eval_to: 'To',
  eval_units: 'Units',
  eval_people: 'People',
  eval_all_levels: 'All levels',
  eval_level_grid: 'Grid',
  eval_level_village: 'Village',
  eval_level_board: 'Board',
  eval_level_department: 'Department',
  eval_name: 'Name',
  eval_export_csv: 'Export CSV',
  eval_export_geojson: 'Export GeoJSON',
  eval_none: 'No data in this period',
  eval_chart: 'Ranked by "{measure}"',
  m_received: 'Received',
  m_filed: 'Filed',
  m_due: 'Due',
  m_closed: 'Closed',
  m_closed_on_time: 'Closed on time',
  m_closure_rate: 'Closure rate',
  m_on_time_rate: 'On-time rate',
  m_rework_rate: 'Rework rate',
  m_extension_rate: 'Extension rate',
  m_returns: 'Returns',
  m_return_rate: 'Return rate',
  m_supervisions: 'Supervisions',
  m_avg_handling_hours: 'Avg. hours',
  m_self_handled: 'Self-handled',
});

const MEASURES = ['received', 'filed', 'due', 'closed', 'closed_on_time', 'closure_rate', 'on_time_rate',
  'rework_rate', 'extension_rate', 'returns', 'return_rate', 'supervisions', 'avg_handling_hours', 'self_handled'];
const RATES = new Set(['closure_rate', 'on_time_rate', 'rework_rate', 'extension_rate', 'return_rate']);
const LEVELS = ['grid', 'village', 'board', 'department'];
const SVG = 'http://www.w3.org/2000/svg';

// Beijing calendar days, as the API counts them.
function beijingDay(offsetDays = 0) {
  const d = new Date(Date.now() + 8 * 3600e3 + offsetDays * 86400e3);
  return d.toISOString().slice(0, 10);
}

function show(measure, value) {
  if (value === null || value === undefined) return '—';
  if (RATES.has(measure)) return (value * 100).toFixed(1) + '%';
  if (measure === 'avg_handling_hours') return value.toFixed(1);
  return String(value);
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// Horizontal bars, longest first as ranked; labels left, values right.
function barChart(items, measure) {
  const rows = items.slice(0, 15);
  const max = Math.max(...rows.map((i) => i[measure] || 0), RATES.has(measure) ? 1 : 0) || 1;
  const rowH = 22;
  const width = 520;
  const labelW = 170;
  const barW = width - labelW - 60;
  const chart = svg('svg', { id: 'eval-chart', viewBox: `0 0 ${width} ${rows.length * rowH + 4}`, width: '100%', role: 'img', 'aria-label': t('eval_chart', { measure: t('m_' + measure) }) });
  rows.forEach((item, n) => {
    const y = n * rowH + 2;
    const w = Math.max(0, ((item[measure] || 0) / max) * barW);
    chart.append(
      svg('text', { x: labelW - 6, y: y + 15, 'text-anchor': 'end', 'font-size': 12 }, item.name.slice(0, 14)),
      svg('rect', { x: labelW, y: y + 3, width: w.toFixed(1), height: rowH - 6, fill: '#2f6fdb', 'data-key': item.key || item.user_id }),
      svg('text', { x: labelW + w + 4, y: y + 15, 'font-size': 12 }, show(measure, item[measure])));
  });
  return chart;
}

// Exports carry the bearer token, so they are fetched and handed to the browser as a file.
export async function evaluationPane(root) {
  const state = { from: beijingDay(-29), to: beijingDay(0), who: 'units', level: '', sort: '-received' };
  const body = h('div#eval-body');
  const fromInput = h('input#eval-from', { type: 'date', value: state.from, 'aria-label': t('eval_from'), onchange: (e) => { state.from = e.target.value; load(); } });
  const toInput = h('input#eval-to', { type: 'date', value: state.to, 'aria-label': t('eval_to'), onchange: (e) => { state.to = e.target.value; load(); } });
  const who = h('select#eval-who', { onchange: (e) => { state.who = e.target.value; load(); } },
    h('option', { value: 'units' }, t('eval_units')), h('option', { value: 'people' }, t('eval_people')));
  const level = h('select#eval-level', { 'aria-label': t('eval_all_levels'), onchange: (e) => { state.level = e.target.value; load(); } },
    h('option', { value: '' }, t('eval_all_levels')), LEVELS.map((l) => h('option', { value: l }, t('eval_level_' + l))));
  const query = () => ({ from: state.from, to: state.to });
  const exporter = (ext) => h(`button.link#eval-export-${ext}`, {
    type: 'button',
    onclick: () => download(`/events/export.${ext}`, query(), `events-${state.from}-${state.to}.${ext}`).catch((err) => toast(err.message, 'error')),
  }, t('eval_export_' + ext));

  mount(root,
    h('h2', t('evaluation')),
    h('div.filters', h('label', t('eval_from'), ' ', fromInput), h('label', t('eval_to'), ' ', toInput), who, level,
      exporter('csv'), exporter('geojson')),
    body);

  async function load() {
    let page;
    try {
      page = await api.get('/evaluation/' + state.who, { ...query(), level: state.level, sort: state.sort, page_size: 100 });
    } catch (err) {
      mount(body, h('p.error#eval-error', err.message));
      return;
    }
    const measure = state.sort.replace(/^-/, '');
    const head = h('tr', h('th', '#'), h('th', t('eval_name')), MEASURES.map((m) => h('th', {
      dataset: { measure: m },
      style: { cursor: 'pointer' },
      title: t('m_' + m),
      onclick: () => { state.sort = state.sort === '-' + m ? m : '-' + m; load(); },
    }, t('m_' + m), m === measure ? (state.sort.startsWith('-') ? ' ▼' : ' ▲') : '')));
    const rows = page.items.map((item, n) => h('tr', { dataset: { key: item.key || `user:${item.user_id}` } },
      h('td', String(n + 1)), h('td.name', item.name), MEASURES.map((m) => h('td', { dataset: { measure: m } }, show(m, item[m])))));
    mount(body, page.items.length ? [
      h('h3', t('eval_chart', { measure: t('m_' + measure) })),
      barChart(page.items, measure),
      h('div', { style: { overflowX: 'auto' } }, h('table.plain#eval-ranking', { style: { whiteSpace: 'nowrap' } }, h('thead', head), h('tbody', rows))),
    ] : h('p.hint#eval-empty', t('eval_none')));
  }

  await load();
}
