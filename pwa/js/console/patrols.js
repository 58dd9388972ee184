// Patrols 巡查 in the console: the day's patrols in my area (who, where, when, how far), a
// patrol's track on the map, and how much of each grid was covered that day, least covered
// first, with the grids coloured on the map. Redrawn on 'patrol_*' pushes while open.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';
import { api } from '../lib/api.js';

addStrings({
  patrols: '巡查',
  patrol_day: '日期',
  patrol_area: '区域',
  patrol_refresh: '刷新',
  patrol_today_list: '当日巡查',
  patrol_person: '巡查人',
  patrol_place: '所属网格',
  patrol_time: '起止时间',
  patrol_km: '里程',
  patrol_minutes: '时长',
  patrol_active: '进行中',
  patrol_none_day: '当日暂无巡查',
  patrol_coverage: '网格覆盖率',
  patrol_coverage_rule: '覆盖率：网格内距当日任一巡查轨迹 {r} 米以内的面积占网格面积的比例（所有人合计）',
  patrol_grid: '网格',
  patrol_ratio: '覆盖率',
  patrol_count: '次数',
  patrol_totals: '巡查 {patrols} 次 · {people} 人 · 已巡网格 {done}/{grids} · 总覆盖率 {ratio} · 里程 {km} · 时长 {time}',
  patrol_pick_area: '请选择镇街或村社查看覆盖率',
  patrol_show_all: '显示全部轨迹',
  patrol_selected_grid: '经过 {name} 的巡查',
  patrol_gaps: '中断 {n} 处',
  patrol_min_n: '{n} 分钟',
  patrol_unwalked: '当日未巡查的网格（{n} 个）',
}, {
  patrols: 'Patrols',
  patrol_day: 'Day',
  patrol_area: 'Area',
  patrol_refresh: 'Refresh',
  patrol_today_list: 'Patrols of the day',
  patrol_person: 'Person',
  patrol_place: 'Grid',
  patrol_time: 'From – to',
  patrol_km: 'Distance',
  patrol_minutes: 'Time',
  patrol_active: 'running',
  patrol_none_day: 'No patrols that day',
  patrol_coverage: 'Grid coverage',
  patrol_coverage_rule: 'Coverage: the share of a grid within {r} m of any of the day\'s tracks (everyone together)',
  patrol_grid: 'Grid',
  patrol_ratio: 'Covered',
  patrol_count: 'Patrols',
  patrol_totals: '{patrols} patrols · {people} people · {done}/{grids} grids patrolled · {ratio} covered · {km} · {time}',
  patrol_pick_area: 'Pick a township or village to see coverage',
  patrol_show_all: 'Show all tracks',
  patrol_selected_grid: 'Patrols through {name}',
  patrol_gaps: '{n} gaps',
  patrol_min_n: '{n} min',
  patrol_unwalked: 'Grids nobody patrolled that day ({n})',
});

// What the pane shows, kept while the console is open (a push redraws the same view).
const view = { day: null, area: null, selected: null, grid: null };
let areaOptions = null;

function localDay(d = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

const pct = (r) => `${Math.round((r || 0) * 100)}%`;
const km = (m) => `${((m || 0) / 1000).toFixed(2)} km`;
const minutes = (s) => t('patrol_min_n', { n: s > 0 && s < 60 ? '<1' : Math.round((s || 0) / 60) });

async function mapReady() {
  try {
    return (await window.wanggeMap) || null;
  } catch (err) {
    return null;
  }
}

// The areas whose coverage can be shown: my township and its villages, my village, or (for
// district and city staff) the townships in my scope.
async function areas(me) {
  if (areaOptions) return areaOptions;
  const scope = me.scope || {};
  const options = [];
  if (scope.area && (scope.level === 'township' || scope.level === 'village')) {
    const own = await api.get('/areas/' + scope.area, { geometry: false });
    options.push({ code: own.code, name: own.name });
    if (scope.level === 'township') {
      const villages = await api.get(`/areas/${scope.area}/children`, { page_size: 200 });
      options.push(...villages.items.map((v) => ({ code: v.code, name: `· ${v.name}` })));
    }
  } else {
    const townships = await api.get('/areas', { level: 'township', page_size: 500 });
    options.push(...townships.items.map((a) => ({ code: a.code, name: a.name })));
  }
  areaOptions = options;
  return options;
}

export async function patrolsPane(root, { me }) {
  view.day = view.day || localDay();
  const options = await areas(me).catch(() => []);
  if (!view.area && options.length) view.area = options[0].code;
  const redraw = () => patrolsPane(root, { me });

  const [list, report] = await Promise.all([
    api.get('/patrols', { day: view.day, area: view.area || undefined, page_size: 200 }),
    view.area ? api.get('/patrols/coverage', { day: view.day, area: view.area }).catch((err) => ({ error: err })) : null,
  ]);

  const dayInput = h('input#patrol-day', {
    type: 'date', value: view.day, max: localDay(), 'aria-label': t('patrol_day'),
    onchange: () => { view.day = dayInput.value || localDay(); view.selected = null; view.grid = null; redraw(); },
  });
  const areaPick = h('select#patrol-area', {
    'aria-label': t('patrol_area'),
    onchange: () => { view.area = areaPick.value; view.selected = null; view.grid = null; redraw(); },
  }, options.map((o) => h('option', { value: o.code, selected: o.code === view.area }, o.name)));

  const coverage = report && !report.error ? report : null;
  const through = view.grid && coverage ? new Set((coverage.items.find((i) => i.code === view.grid) || {}).patrol_ids || []) : null;
  const patrols = through ? list.items.filter((p) => through.has(p.id)) : list.items;

  const rows = patrols.map((p) => h('tr.patrol' + (p.id === view.selected ? '.selected' : '') + (p.status === 'active' ? '.running' : ''), {
    dataset: { id: p.id }, onclick: () => select(p.id),
  },
  h('td', p.user_name),
  h('td', p.area_name),
  h('td', fmtTime(p.started_at).slice(-5), '–', p.ended_at ? fmtTime(p.ended_at).slice(-5) : h('span.state.in_progress', t('patrol_active'))),
  h('td.num', km(p.distance_m)),
  h('td.num', minutes(p.duration_s))));

  const total = coverage && coverage.totals;
  // Patrolled grids first, best covered first; the grids nobody walked follow as a compact
  // list (in a township that is most of them, and the list the centre acts on).
  const walked = coverage ? coverage.items.filter((i) => i.ratio > 0 || i.walked_s > 0) : [];
  const unwalked = coverage ? coverage.items.filter((i) => !(i.ratio > 0 || i.walked_s > 0)) : [];
  const pickGrid = (code) => { view.grid = view.grid === code ? null : code; view.selected = null; redraw(); };
  const gridRows = [...walked]
    .sort((a, b) => b.ratio - a.ratio || a.code.localeCompare(b.code))
    .map((i) => h('tr.grid' + (i.code === view.grid ? '.selected' : ''), {
      dataset: { code: i.code, ratio: i.ratio }, onclick: () => pickGrid(i.code),
    },
    h('td.name', i.name),
    h('td.barcell', h('span.cover-bar', h('span', { style: { width: pct(i.ratio) } }))),
    h('td.num', pct(i.ratio)),
    h('td.num', km(i.distance_m)),
    h('td.num', minutes(i.walked_s)),
    h('td.num', String(i.patrols))));

  mount(root,
    h('h2', t('patrols')),
    h('div.form-row.patrol-controls',
      h('label', t('patrol_day'), dayInput),
      options.length ? h('label', t('patrol_area'), areaPick) : null,
      h('button.link#patrol-refresh', { type: 'button', onclick: redraw }, t('patrol_refresh'))),
    total ? h('p.patrol-totals#patrol-totals', t('patrol_totals', {
      patrols: total.patrols, people: total.people, done: total.patrolled_grids, grids: total.grids,
      ratio: pct(total.ratio), km: km(total.distance_m), time: minutes(total.walked_s),
    })) : null,
    h('h3', view.grid && coverage
      ? t('patrol_selected_grid', { name: (coverage.items.find((i) => i.code === view.grid) || {}).name || '' })
      : t('patrol_today_list')),
    view.grid ? h('button.link#patrol-show-all', { type: 'button', onclick: () => { view.grid = null; redraw(); } }, t('patrol_show_all')) : null,
    rows.length ? h('table.plain.patrols#patrol-list',
      h('thead', h('tr', h('th', t('patrol_person')), h('th', t('patrol_place')), h('th', t('patrol_time')), h('th.num', t('patrol_km')), h('th.num', t('patrol_minutes')))),
      h('tbody', rows)) : h('p.hint#patrol-empty', t('patrol_none_day')),
    h('h3', t('patrol_coverage')),
    coverage ? [
      h('p.hint', t('patrol_coverage_rule', { r: coverage.radius_m })),
      gridRows.length ? h('table.plain.coverage#patrol-coverage',
        h('thead', h('tr', h('th', t('patrol_grid')), h('th', t('patrol_ratio')), h('th'), h('th.num', t('patrol_km')), h('th.num', t('patrol_minutes')), h('th.num', t('patrol_count')))),
        h('tbody', gridRows)) : null,
      unwalked.length ? h('div.unpatrolled#patrol-unwalked',
        h('h3', t('patrol_unwalked', { n: unwalked.length })),
        h('div.grid-chips', unwalked.map((i) => h('span.grid-chip', { dataset: { code: i.code } }, i.name)))) : null,
    ] : h('p.hint', report && report.error ? report.error.message : t('patrol_pick_area')));

  const map = await mapReady();
  if (map && map.showCoverage) map.showCoverage(coverage ? coverage.items : []);
  if (view.selected) select(view.selected, { fit: false });
  else if (map && map.setTracks) map.setTracks(null, { fit: false });

  async function select(id, { fit = true } = {}) {
    view.selected = id;
    root.querySelectorAll('#patrol-list tr.patrol').forEach((tr) => tr.classList.toggle('selected', Number(tr.dataset.id) === id));
    try {
      const detail = await api.get(`/patrols/${id}`);
      const m = await mapReady();
      if (m && m.setTracks) m.setTracks(detail.track, { fit });
      const row = root.querySelector(`#patrol-list tr[data-id='${id}']`);
      if (row) row.title = detail.gaps ? t('patrol_gaps', { n: detail.gaps }) : '';
    } catch (err) {
      toast(err.message, 'error');
    }
  }
}
