// Monitoring on the phone: the sensors in my grids, warnings first, and one sensor's readings
// with its thresholds. A grid worker walking to a slope that is moving sees what the console
// sees; the last list is kept for when the signal drops.
import { h, mount, fmtTime } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { kv } from '../lib/db.js';
import { LEVEL_COLOURS, drawChart, levelBadge } from '../lib/sensors.js';

const ORDER = { red: 0, orange: 1, yellow: 2, blue: 3 };

async function sensors() {
  try {
    const page = await api.get('/sensors', { page_size: 200 });
    await kv.set('sensors', page.items);
    return page.items;
  } catch (err) {
    return (await kv.get('sensors')) || [];
  }
}

// How many of my sensors are in warning (the home screen's count); offline, the last list.
export async function warningCount() {
  return (await sensors()).filter((x) => x.level).length;
}

export async function sensorsScreen(root) {
  const list = (await sensors()).slice().sort((a, b) =>
    (ORDER[a.level] ?? 9) - (ORDER[b.level] ?? 9) || a.name.localeCompare(b.name, 'zh'));
  mount(root, h('h1', t('sensors')), list.length ? list.map((x) =>
    h('a.task.sensor-row', {
      href: '#/sensor/' + x.id,
      dataset: { id: x.id, level: x.level || 'none' },
      style: { borderLeft: `8px solid ${x.level ? LEVEL_COLOURS[x.level] : 'transparent'}` },
    },
    h('div', levelBadge(x.level), ' ', h('b', x.name)),
    h('div.hint', `${t('type_' + x.type)} · ${t('last_reading')} `,
      x.last_value === null ? '—' : `${x.last_value} ${x.unit}`, ' · ', fmtTime(x.last_reading_at)),
    x.warning_event_id ? h('div.hint', `${t('warning_event')} #${x.warning_event_id}`) : null))
    : h('p.hint', t('no_sensors')));
}

export async function sensorScreen(root, { id, go }) {
  const hours = Number(sessionStorage.getItem('sensor_hours') || 24);
  const chart = h('div.sensor-chart#sensor-chart');
  const periods = h('div.periods', [24, 168].map((n) => h('button.link' + (n === hours ? '.selected' : ''), {
    type: 'button',
    onclick: () => { sessionStorage.setItem('sensor_hours', String(n)); sensorScreen(root, { id, go }); },
  }, n === 24 ? t('last_24h') : t('last_7d'))));
  mount(root, h('a.link', { href: '#/sensors' }, '‹ ' + t('sensors')), periods, chart);
  try {
    await drawChart(chart, Number(id), hours, (eventId) => go('#/task/' + eventId));
  } catch (err) {
    mount(chart, h('p.hint', t('sensor_unreachable')));
  }
}
