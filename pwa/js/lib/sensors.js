// Sensor readings, shared by the console's monitoring pane and the phone's: the level badge and
// a chart of one sensor's readings with its threshold lines, drawn as inline SVG (no chart
// library to download on a township's line or a phone's weak signal).
import { h, mount } from './dom.js';
import { t, addStrings, language } from './i18n.js';
import { api } from './api.js';

addStrings({
  sensors: '监测预警',
  sensor_normal: '正常',
  level_blue: '蓝色预警',
  level_yellow: '黄色预警',
  level_orange: '橙色预警',
  level_red: '红色预警',
  last_24h: '近24小时',
  last_7d: '近7天',
  no_sensors: '辖区内暂无监测设备',
  no_readings: '该时段没有读数',
  last_reading: '最新读数',
  rule_level: '读数阈值',
  rule_rate: '变化速率阈值',
  per_hours: '{n} 小时内上升',
  warning_event: '预警事件',
  type_rain_gauge: '雨量计',
  type_crack_meter: '裂缝计',
  type_inclinometer: '倾角计',
  type_water_level: '水位计',
  type_smoke: '烟感',
  type_combustible_gas: '可燃气体探测器',
  sensor_unreachable: '没有网络，读数图暂时无法加载',
}, {
  sensors: 'Monitoring',
  sensor_normal: 'Normal',
  level_blue: 'Blue warning',
  level_yellow: 'Yellow warning',
  level_orange: 'Orange warning',
  level_red: 'Red warning',
  last_24h: 'Last 24 h',
  last_7d: 'Last 7 days',
  no_sensors: 'No sensors in your area',
  no_readings: 'No readings in this period',
  last_reading: 'Latest reading',
  rule_level: 'Level thresholds',
  rule_rate: 'Rate thresholds',
  per_hours: 'rise within {n} h',
  warning_event: 'Warning event',
  type_rain_gauge: 'Rain gauge',
  type_crack_meter: 'Crack meter',
  type_inclinometer: 'Inclinometer',
  type_water_level: 'Water level',
  type_smoke: 'Smoke detector',
  type_combustible_gas: 'Gas detector',
  sensor_unreachable: 'No network: the readings cannot be loaded now',
});

export const LEVEL_COLOURS = { blue: '#1e6fd9', yellow: '#e0b000', orange: '#f07800', red: '#d92020' };
const LEVELS = ['blue', 'yellow', 'orange', 'red'];
const SVG = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

export function levelBadge(level) {
  const colour = level ? LEVEL_COLOURS[level] : '#2e7d32';
  return h('span.sensor-level', {
    dataset: { level: level || 'none' },
    style: { background: colour, color: level === 'yellow' ? '#222' : '#fff', padding: '0 6px', borderRadius: '3px' },
  }, level ? t('level_' + level) : t('sensor_normal'));
}

export async function drawChart(box, id, hours, onEvent) {
  const to = new Date();
  const from = new Date(to.getTime() - hours * 3600 * 1000);
  const [sensor, series] = await Promise.all([
    api.get(`/sensors/${id}`),
    api.get(`/sensors/${id}/readings`, { from: from.toISOString(), to: to.toISOString(), max_points: 400 }),
  ]);
  const head = h('p', h('b', sensor.name), ' ', levelBadge(sensor.level), ' ',
    sensor.warning_event_id ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); if (onEvent) onEvent(sensor.warning_event_id); } },
      `${t('warning_event')} #${sensor.warning_event_id}`) : null);
  const rules = h('p.hint', sensor.rules.map((r) => h('span', { style: { marginRight: '1em' } },
    r.kind === 'rate' ? `${t('rule_rate')}（${t('per_hours', { n: r.window_hours })}）` : t('rule_level'), '：',
    LEVELS.map((l) => h('span', { style: { color: LEVEL_COLOURS[l], marginLeft: '4px' } }, `${r[l]}`)), ` ${sensor.unit}`)));
  if (!series.items.length) {
    mount(box, head, rules, h('p.hint', t('no_readings')));
    return;
  }
  mount(box, head, rules, lineChart(series.items, sensor, from, to));
}

// A line of the readings over time, with the level rule's thresholds as coloured lines.
function lineChart(items, sensor, from, to) {
  const W = 640, H = 260, L = 48, R = 12, T = 12, B = 28;
  const level = sensor.rules.find((r) => r.kind === 'level');
  const values = items.map((p) => p.value);
  let lo = Math.min(...values, ...items.map((p) => p.min));
  let hi = Math.max(...values);
  // Show the thresholds the readings approach (not ones far beyond, which would flatten them).
  if (level) {
    const next = LEVELS.map((l) => level[l]).find((v) => v > hi);
    hi = Math.max(hi, next === undefined ? hi : next);
  }
  if (hi - lo < 1e-9) { hi += 1; lo -= 1; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const x = (at) => L + ((new Date(at) - from) / (to - from)) * (W - L - R);
  const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
  const path = items.map((p, i) => `${i ? 'L' : 'M'}${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => lo + f * (hi - lo));
  const locale = language() === 'zh' ? 'zh-CN' : 'en';
  const timeTicks = [0, 0.5, 1].map((f) => new Date(from.getTime() + f * (to - from)));
  return s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': sensor.name, id: 'sensor-svg' },
    s('rect', { x: L, y: T, width: W - L - R, height: H - T - B, fill: '#fafafa', stroke: '#ccc' }),
    ticks.map((v) => s('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#666' }, v.toFixed(Math.abs(hi - lo) < 5 ? 2 : 0))),
    timeTicks.map((d, i) => s('text', { x: x(d), y: H - 8, 'text-anchor': ['start', 'middle', 'end'][i], 'font-size': 11, fill: '#666' },
      d.toLocaleString(locale, { month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit' }))),
    level ? LEVELS.filter((l) => level[l] >= lo && level[l] <= hi).map((l) => s('line', {
      class: 'threshold', 'data-level': l, x1: L, x2: W - R, y1: y(level[l]), y2: y(level[l]),
      stroke: LEVEL_COLOURS[l], 'stroke-dasharray': '6 4', 'stroke-width': 1.5,
    })) : null,
    s('path', { d: path, fill: 'none', stroke: '#333', 'stroke-width': 1.6, class: 'readings' }),
    s('text', { x: W - R, y: T + 12, 'text-anchor': 'end', 'font-size': 11, fill: '#666' }, sensor.unit));
}
