// Monitoring and early warning 监测预警: the sensors in my scope with their warning level
// coloured blue/yellow/orange/red, and a chart of one sensor's readings (24 h or 7 d) with its
// threshold lines (pwa/js/lib/sensors.js).
import { h, mount, fmtTime } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { LEVEL_COLOURS, drawChart, levelBadge } from '../lib/sensors.js';

// The state of the pane across live refreshes: which sensor and which period.
const state = { selected: null, hours: 24 };

export async function sensorsPane(root, { onEvent } = {}) {
  const page = await api.get('/sensors', { page_size: 200 });
  if (!state.selected && page.items.length) state.selected = (page.items.find((x) => x.level) || page.items[0]).id;
  const list = h('table.plain#sensor-list', page.items.map((x) => h('tr.sensor' + (x.id === state.selected ? '.selected' : ''), {
    dataset: { id: x.id, level: x.level || 'none' },
    style: { cursor: 'pointer', borderLeft: `6px solid ${x.level ? LEVEL_COLOURS[x.level] : 'transparent'}` },
    onclick: () => { state.selected = x.id; sensorsPane(root, { onEvent }); },
  },
  h('td', x.name), h('td.hint', t('type_' + x.type)), h('td', levelBadge(x.level)),
  h('td', x.last_value === null ? '—' : `${x.last_value} ${x.unit}`), h('td.hint', fmtTime(x.last_reading_at)))));
  const chartBox = h('div.sensor-chart#sensor-chart');
  const periods = h('div.filters', [24, 168].map((hours) => h('button.link' + (state.hours === hours ? '.selected' : ''), {
    type: 'button', dataset: { hours },
    onclick: () => { state.hours = hours; sensorsPane(root, { onEvent }); },
  }, hours === 24 ? t('last_24h') : t('last_7d'))));
  mount(root, h('h2', `${t('sensors')} (${page.total})`),
    page.items.length ? [list, periods, chartBox] : h('p.hint', t('no_sensors')));
  if (state.selected) await drawChart(chartBox, state.selected, state.hours, onEvent);
}
