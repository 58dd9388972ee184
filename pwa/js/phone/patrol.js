// Patrols 巡查 on the phone: start, a GPS track recorded at an interval (offline too), stop.
//
// The running patrol lives in IndexedDB (kv 'patrol'), so a closed and reopened app shows it
// and recording resumes. Fixes are recorded every `interval_s` seconds and whenever the phone
// has moved `MIN_MOVE_M` metres, kept in the state, and handed to the write queue in batches;
// the queue sends start, batches and stop in order when the network allows. The server stores
// each fix once per (patrol, time), so a batch sent twice does no harm.
//
// A web app records only while it is open and on screen: the screen wake lock (where the
// browser has it) keeps the screen on, and the screen says so plainly.
import * as L from '/vendor/leaflet/leaflet-src.esm.js';
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { cached, kv } from '../lib/db.js';
import * as queue from '../lib/queue.js';
import { myGrids } from './map.js';

addStrings({
  patrol: '巡查',
  patrol_start: '开始巡查',
  patrol_stop: '结束巡查',
  patrol_stop_confirm: '再点一次结束巡查',
  patrol_running: '巡查中',
  patrol_elapsed: '用时',
  patrol_distance: '里程',
  patrol_points: '已记录 {n} 个定位点',
  patrol_unsent: '{n} 个待上传',
  patrol_all_sent: '已全部上传',
  patrol_interval: '记录间隔',
  patrol_interval_n: '每 {n} 秒',
  patrol_move_rule: '另外每移动 {m} 米记录一次',
  patrol_gps_wait: '正在等待定位…',
  patrol_gps_ok: '定位精度约 {m} 米',
  patrol_gps_poor: '定位较差（约 {m} 米），这些点不计入覆盖率',
  patrol_gps_denied: '无法定位：请允许本应用使用位置信息',
  patrol_web_note: '网页版只在本页面打开时记录轨迹：请保持屏幕常亮，不要锁屏或切换到其他应用。没有网络时轨迹先存在手机上，联网后自动上传。',
  patrol_wake_on: '已保持屏幕常亮',
  patrol_wake_off: '本机浏览器不能保持屏幕常亮，请在系统设置中延长自动锁屏时间',
  patrol_resumed: '已恢复记录巡查轨迹',
  patrol_started_toast: '巡查已开始',
  patrol_stopped_toast: '巡查已结束，轨迹将自动上传',
  patrol_mine: '我的巡查',
  patrol_none: '暂无巡查记录',
  patrol_today_cover: '今日网格覆盖率',
  patrol_last: '上次巡查',
  patrol_label_start: '开始巡查',
  patrol_label_points: '巡查轨迹 {n} 个点',
  patrol_label_stop: '结束巡查',
  patrol_active: '进行中',
}, {
  patrol: 'Patrol',
  patrol_start: 'Start patrol',
  patrol_stop: 'Stop patrol',
  patrol_stop_confirm: 'Tap again to stop',
  patrol_running: 'Patrolling',
  patrol_elapsed: 'Time',
  patrol_distance: 'Distance',
  patrol_points: '{n} fixes recorded',
  patrol_unsent: '{n} waiting to upload',
  patrol_all_sent: 'All uploaded',
  patrol_interval: 'Record every',
  patrol_interval_n: '{n} s',
  patrol_move_rule: 'and every {m} m moved',
  patrol_gps_wait: 'Waiting for GPS…',
  patrol_gps_ok: 'GPS accuracy about {m} m',
  patrol_gps_poor: 'Poor GPS (about {m} m): these fixes do not count for coverage',
  patrol_gps_denied: 'No location: allow this app to use your location',
  patrol_web_note: 'The web app records only while this page is open: keep the screen on, do not lock the phone or switch apps. Offline, the track waits on the phone and uploads when the network returns.',
  patrol_wake_on: 'Screen kept on',
  patrol_wake_off: 'This browser cannot keep the screen on: lengthen the auto-lock time in the phone settings',
  patrol_resumed: 'Recording resumed',
  patrol_started_toast: 'Patrol started',
  patrol_stopped_toast: 'Patrol stopped; the track uploads by itself',
  patrol_mine: 'My patrols',
  patrol_none: 'No patrols yet',
  patrol_today_cover: 'Coverage of my grids today',
  patrol_last: 'Last patrol',
  patrol_label_start: 'Patrol start',
  patrol_label_points: 'Patrol track, {n} fixes',
  patrol_label_stop: 'Patrol stop',
  patrol_active: 'running',
});

const STATE = 'patrol';
const SETTINGS = 'patrol_settings';
const LAST = 'patrol_last';
const INTERVALS = [5, 10, 15, 30, 60];
const DEFAULT_INTERVAL = 15;
// A fix is also recorded when the phone has moved this far since the last one.
const MIN_MOVE_M = 20;
// The server's default PATROL_MAX_ACCURACY_M: worse fixes are kept but not counted.
const POOR_M = 50;
// Fixes go to the queue in batches: at most this many, and at least every four intervals
// (between 20 s and 2 min): few requests on a weak line, little left on the phone.
const BATCH_POINTS = 20;
const batchMs = (state) => Math.min(Math.max(state.interval_s * 4, 20), 120) * 1000;
// The phone keeps this much of the track to draw; the server has all of it.
const DRAW_POINTS = 3000;

// The recorder: one per page, alive across screens (a worker reports an incident mid-patrol).
let rec = null;
const listeners = new Set();
let chain = Promise.resolve();

function notify() {
  listeners.forEach((fn) => fn(rec ? rec.state : null));
}

function metres(a, b) {
  const k = Math.PI / 180;
  const x = (b.lon - a.lon) * k * Math.cos(((a.lat + b.lat) / 2) * k);
  const y = (b.lat - a.lat) * k;
  return Math.hypot(x, y) * 6371008.8;
}

export function elapsed(state, now = Date.now()) {
  const s = Math.max(0, Math.floor((now - Date.parse(state.started_at)) / 1000));
  const pad = (n) => String(n).padStart(2, '0');
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

export function km(m) {
  return `${((m || 0) / 1000).toFixed(2)} km`;
}

async function settings() {
  return { interval_s: DEFAULT_INTERVAL, ...((await kv.get(SETTINGS)) || {}) };
}

async function me() {
  const who = await kv.get('me');
  return who && who.user ? who.user : null;
}

// -- recording -------------------------------------------------------------------------------

// Serialise state changes: fixes arrive from a watch and a timer at once.
function serial(fn) {
  chain = chain.then(fn, fn).catch((err) => console.warn('patrol:', err));
  return chain;
}

function onFix(pos) {
  if (!rec) return;
  rec.latest = pos;
  rec.gps = { accuracy: Math.round(pos.coords.accuracy), at: Date.now() };
  const last = rec.state.last;
  const here = { lon: pos.coords.longitude, lat: pos.coords.latitude };
  // Moved far enough: record now rather than at the next tick.
  if (!last || (metres(last, here) >= MIN_MOVE_M && Date.now() - Date.parse(last.at) >= 1000)) {
    serial(() => record(pos));
  } else {
    notify();
  }
}

function onFixError(err) {
  if (!rec) return;
  rec.gps = { error: err.code === 1 ? 'denied' : 'wait' };
  notify();
}

// Every interval a fix: the watch's latest (standing still, the phone reports nothing new: the
// person is still there), or, when the watch has been silent a while, one asked for.
function tick() {
  if (!rec) return;
  const ms = rec.state.interval_s * 1000;
  if (rec.latest && Date.now() - rec.gps.at < Math.max(2 * ms, 60000)) {
    serial(() => record(rec.latest));
    return;
  }
  navigator.geolocation.getCurrentPosition((pos) => {
    if (!rec) return;
    rec.latest = pos;
    rec.gps = { accuracy: Math.round(pos.coords.accuracy), at: Date.now() };
    serial(() => record(pos));
  }, onFixError, { enableHighAccuracy: true, maximumAge: ms / 2, timeout: ms });
}

async function record(pos) {
  if (!rec) return;
  const state = rec.state;
  const last = state.last;
  // Strictly increasing times: the server keeps one fix per (patrol, time).
  const at = Math.max(Date.now(), last ? Date.parse(last.at) + 1000 : 0);
  const fix = {
    at: new Date(at).toISOString(),
    lon: pos.coords.longitude,
    lat: pos.coords.latitude,
    accuracy_m: Math.round(pos.coords.accuracy * 10) / 10,
  };
  const good = fix.accuracy_m <= POOR_M;
  if (good && state.lastGood) {
    const seconds = (at - Date.parse(state.lastGood.at)) / 1000;
    const d = metres(state.lastGood, fix);
    // The server's rule for a walk: no longer than 5 minutes, no faster than 15 m/s.
    if (seconds <= 300 && d <= 15 * seconds) state.distance_m += d;
  }
  if (good) {
    state.lastGood = fix;
    state.track.push([fix.lon, fix.lat]);
    if (state.track.length > DRAW_POINTS) state.track.splice(0, state.track.length - DRAW_POINTS);
  }
  state.last = fix;
  state.count += 1;
  state.pending.push(fix);
  if (state.pending.length >= BATCH_POINTS || at - state.batched_at >= batchMs(state)) {
    await toQueue(state);
  }
  await kv.set(STATE, state);
  notify();
}

// Hand the pending fixes to the write queue. Queued first, state saved after: a crash between
// the two sends a batch twice, which the server stores once.
async function toQueue(state) {
  if (!state.pending.length) return;
  const points = state.pending;
  await queue.enqueue({
    kind: 'patrol_points',
    path: `/patrols/${state.uuid}/points`,
    body: { points },
    label: t('patrol_label_points', { n: points.length }),
  });
  state.pending = [];
  state.batched_at = Date.now();
  queue.flush().catch(() => {});
}

async function keepAwake() {
  if (!rec) return;
  try {
    if ('wakeLock' in navigator && document.visibilityState === 'visible') {
      rec.wakeLock = await navigator.wakeLock.request('screen');
      rec.awake = true;
      rec.wakeLock.addEventListener('release', () => { if (rec) { rec.awake = false; notify(); } });
    } else {
      rec.awake = false;
    }
  } catch (err) {
    rec.awake = false;
  }
  notify();
}

document.addEventListener('visibilitychange', () => {
  if (!rec || document.visibilityState !== 'visible') return;
  keepAwake();
  tick(); // back on screen: a fix at once, not at the next tick
});

function run(state) {
  rec = { state, latest: null, gps: { at: 0 }, awake: false };
  rec.watch = navigator.geolocation.watchPosition(onFix, onFixError, { enableHighAccuracy: true, maximumAge: 0 });
  rec.timer = setInterval(tick, state.interval_s * 1000);
  // Pending fixes go to the queue on time, moving or not.
  rec.batcher = setInterval(() => serial(async () => {
    if (rec && Date.now() - rec.state.batched_at >= batchMs(rec.state)) {
      await toQueue(rec.state);
      await kv.set(STATE, rec.state);
    }
  }), 5000);
  keepAwake();
  notify();
}

function halt() {
  if (!rec) return;
  navigator.geolocation.clearWatch(rec.watch);
  clearInterval(rec.timer);
  clearInterval(rec.batcher);
  if (rec.wakeLock) rec.wakeLock.release().catch(() => {});
  rec = null;
}

// A first fix for the start, so the patrol lands in the grid it starts in (not waited for long).
function firstFix(ms) {
  return new Promise((resolve) => {
    navigator.geolocation.getCurrentPosition(resolve, () => resolve(null),
      { enableHighAccuracy: true, maximumAge: 30000, timeout: ms });
  });
}

export async function startPatrol({ interval_s } = {}) {
  if (rec) return rec.state;
  const [user, saved] = await Promise.all([me(), settings()]);
  const chosen = { ...saved, ...(interval_s ? { interval_s } : {}) };
  await kv.set(SETTINGS, chosen);
  const now = new Date();
  const state = {
    uuid: crypto.randomUUID(),
    user_id: user ? user.id : null,
    started_at: now.toISOString(),
    interval_s: chosen.interval_s,
    count: 0,
    distance_m: 0,
    last: null,
    lastGood: null,
    pending: [],
    batched_at: now.getTime(),
    track: [],
  };
  const fix = await firstFix(4000);
  const body = { uuid: state.uuid, started_at: state.started_at, interval_s: state.interval_s };
  if (fix) {
    body.location = { type: 'Point', coordinates: [fix.coords.longitude, fix.coords.latitude] };
    body.accuracy_m = Math.round(fix.coords.accuracy);
  }
  await queue.enqueue({ kind: 'patrol_start', path: '/patrols', body, label: `${t('patrol_label_start')} ${fmtTime(state.started_at)}` });
  await kv.set(STATE, state);
  run(state);
  if (fix) onFix(fix);
  queue.flush().catch(() => {});
  queue.requestSync();
  return state;
}

export async function stopPatrol() {
  if (!rec) return null;
  await serial(async () => {
    const state = rec.state;
    halt();
    await toQueue(state);
    const ended = new Date(Math.max(Date.now(), state.last ? Date.parse(state.last.at) : 0)).toISOString();
    await queue.enqueue({ kind: 'patrol_stop', path: `/patrols/${state.uuid}/stop`, body: { ended_at: ended }, label: t('patrol_label_stop') });
    await kv.set(LAST, { uuid: state.uuid, started_at: state.started_at, ended_at: ended, distance_m: state.distance_m, count: state.count });
    await kv.del(STATE);
  });
  notify();
  queue.flush().catch(() => {});
  queue.requestSync();
  return true;
}

// Reopened app: the patrol of the person signed in carries on recording.
const resumed = (async () => {
  try {
    const [state, user] = await Promise.all([kv.get(STATE), me()]);
    if (state && user && state.user_id === user.id && !rec) {
      run(state);
      toast(t('patrol_resumed'), 'info');
    }
  } catch (err) {
    console.warn('patrol resume:', err);
  }
})();

export function runningPatrol() {
  return rec ? rec.state : null;
}

// -- the home screen's button ----------------------------------------------------------------

// Start one, or show the one running with its elapsed time; drawn at once from memory.
export function patrolButton() {
  const el = h('a.big.patrol-button#patrol-button', { href: '#/patrol' }, t('patrol_start'));
  const draw = () => {
    const state = runningPatrol();
    el.classList.toggle('running', !!state);
    el.replaceChildren(...(state
      ? [h('span.patrol-pulse', { 'aria-hidden': 'true' }), `${t('patrol_running')} ${elapsed(state)} · ${km(state.distance_m)}`]
      : [h('span.patrol-play', { 'aria-hidden': 'true' }), t('patrol_start')]));
  };
  draw();
  resumed.then(draw);
  const timer = setInterval(() => {
    if (!el.isConnected && el.dataset.shown) clearInterval(timer);
    else if (el.isConnected) { el.dataset.shown = '1'; draw(); }
  }, 1000);
  return el;
}

// -- the patrol screen -----------------------------------------------------------------------

// The running screen's "waiting to upload" line follows the queue (one listener per page).
// The idle screen's history and coverage follow the patrol's writes reaching the server.
let refreshUnsent = null;
let refreshIdle = null;
let idleTimer = null;
queue.onChange((item) => {
  if (refreshUnsent) refreshUnsent();
  if (refreshIdle && item && String(item.kind || '').startsWith('patrol')) {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => refreshIdle && refreshIdle(), 500);
  }
});

// The person's grids and the track: no grids (village staff) still gives a map.
async function trackMap(container) {
  const grids = await myGrids().catch(() => []);
  const map = L.map(container, { zoomControl: false, attributionControl: false });
  const basemap = document.documentElement.dataset.basemap;
  if (basemap) L.tileLayer(basemap, { maxZoom: 19 }).addTo(map);
  const layer = L.geoJSON(
    grids.map((g) => ({ type: 'Feature', geometry: g.geometry, properties: { name: g.name } })),
    { style: { color: '#0b5', weight: 2, fillOpacity: 0.08 } },
  ).addTo(map);
  if (grids.length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
  else map.setView([29.56, 106.57], 15);
  return map;
}

export async function patrolScreen(root, { go }) {
  await resumed;
  if (runningPatrol()) return runningScreen(root, { go });
  return idleScreen(root, { go });
}

function webNote() {
  return h('p.patrol-note#patrol-note', t('patrol_web_note'));
}

async function idleScreen(root, { go }) {
  const chosen = await settings();
  const interval = h('select#patrol-interval', {
    'aria-label': t('patrol_interval'),
    onchange: async () => kv.set(SETTINGS, { ...(await settings()), interval_s: Number(interval.value) }),
  }, INTERVALS.map((n) => h('option', { value: n, selected: n === chosen.interval_s }, t('patrol_interval_n', { n }))));
  const startButton = h('button.big.primary#patrol-start', {
    type: 'button',
    onclick: async () => {
      startButton.disabled = true;
      await startPatrol({ interval_s: Number(interval.value) });
      toast(t('patrol_started_toast'), 'ok');
      patrolScreen(root, { go });
    },
  }, h('span.patrol-play', { 'aria-hidden': 'true' }), t('patrol_start'));
  const history = h('div#patrol-history');
  const cover = h('div#patrol-cover');
  const last = await kv.get(LAST);
  mount(root,
    h('h1', t('patrol')),
    webNote(),
    h('label.patrol-setting', t('patrol_interval'), interval),
    h('p.hint', t('patrol_move_rule', { m: MIN_MOVE_M })),
    startButton,
    last ? h('p.hint#patrol-last', `${t('patrol_last')}: ${fmtTime(last.started_at)}–${fmtTime(last.ended_at).slice(-5)} · ${km(last.distance_m)}`) : null,
    cover,
    h('h2', t('patrol_mine')),
    history);
  drawHistory(history);
  drawCover(cover);
  refreshIdle = () => {
    if (!history.isConnected) { refreshIdle = null; return; }
    drawHistory(history);
    drawCover(cover);
  };
}

async function drawHistory(box) {
  const page = await cached('patrols_mine', () => api.get('/patrols', { mine: true, page_size: 10 }));
  const items = (page && page.items) || [];
  mount(box, items.length ? items.map((p) => h('div.patrol-row', { dataset: { id: p.id } },
    h('b', fmtTime(p.started_at)), ' ',
    p.status === 'active' ? h('span.state.in_progress', t('patrol_active')) : `– ${fmtTime(p.ended_at).slice(-5)}`,
    h('span.grow'), h('span', km(p.distance_m)),
    h('div.hint', p.area_name || ''))) : h('p.hint', t('patrol_none')));
}

async function drawCover(box) {
  const user = await me();
  if (!user || !(user.grids || []).length) return;
  const report = await cached('patrol_cover', () => api.get('/patrols/coverage', {}));
  if (!report) return;
  const mine = report.items.filter((i) => user.grids.includes(i.code));
  if (!mine.length) return;
  mount(box, h('h2', t('patrol_today_cover')), mine.map((i) => h('div.cover-line', { dataset: { code: i.code } },
    h('span.name', i.name), h('span.cover-bar', h('span', { style: { width: `${Math.round(i.ratio * 100)}%` } })),
    h('b', `${Math.round(i.ratio * 100)}%`))));
}

async function runningScreen(root, { go }) {
  const state = runningPatrol();
  const clock = h('div.patrol-clock#patrol-elapsed', elapsed(state));
  const distance = h('b#patrol-distance', km(state.distance_m));
  const points = h('span#patrol-points');
  const unsent = h('span#patrol-unsent');
  const gps = h('div.where#patrol-gps', t('patrol_gps_wait'));
  const wake = h('div.hint#patrol-wake');
  const mapBox = h('div.map#patrol-map');
  let armed = null;
  const stopButton = h('button.big.danger#patrol-stop', {
    type: 'button',
    onclick: async () => {
      // Two taps: a pocket must not end a patrol.
      if (!armed) {
        stopButton.textContent = t('patrol_stop_confirm');
        armed = setTimeout(() => { armed = null; stopButton.textContent = t('patrol_stop'); }, 4000);
        return;
      }
      clearTimeout(armed);
      stopButton.disabled = true;
      await stopPatrol();
      toast(t('patrol_stopped_toast'), 'ok');
      patrolScreen(root, { go });
    },
  }, t('patrol_stop'));

  mount(root,
    h('h1', h('span.patrol-pulse', { 'aria-hidden': 'true' }), t('patrol_running')),
    h('div.patrol-figures',
      h('div', h('span.hint', t('patrol_elapsed')), clock),
      h('div', h('span.hint', t('patrol_distance')), distance)),
    h('p.patrol-status', points, ' · ', unsent),
    gps,
    wake,
    webNote(),
    mapBox,
    stopButton);

  let line = null;
  let here = null;
  let map = null;
  trackMap(mapBox).then((ready) => {
    map = ready;
    line = L.polyline([], { color: '#0a5bd3', weight: 4 }).addTo(map);
    draw(runningPatrol());
  }).catch(() => mapBox.remove());

  async function drawUnsent() {
    const waiting = (await queue.items()).filter((i) => i.status === 'waiting' && i.kind.startsWith('patrol'));
    const fixes = waiting.filter((i) => i.kind === 'patrol_points').reduce((n, i) => n + i.body.points.length, 0);
    const s = runningPatrol();
    const n = fixes + (s ? s.pending.length : 0);
    unsent.textContent = n ? t('patrol_unsent', { n }) : t('patrol_all_sent');
    unsent.classList.toggle('warn', n > 0);
  }

  function draw(s) {
    if (!s) return;
    clock.textContent = elapsed(s);
    distance.textContent = km(s.distance_m);
    points.textContent = t('patrol_points', { n: s.count });
    const g = rec && rec.gps;
    if (g && g.error === 'denied') gps.textContent = t('patrol_gps_denied');
    else if (g && g.accuracy !== undefined) gps.textContent = t(g.accuracy > POOR_M ? 'patrol_gps_poor' : 'patrol_gps_ok', { m: g.accuracy });
    gps.classList.toggle('poor', !!(g && (g.error || g.accuracy > POOR_M)));
    wake.textContent = rec && rec.awake ? t('patrol_wake_on') : t('patrol_wake_off');
    if (map && line) {
      const latlngs = s.track.map(([lon, lat]) => [lat, lon]);
      line.setLatLngs(latlngs);
      if (latlngs.length) {
        const tip = latlngs[latlngs.length - 1];
        if (!here) here = L.circleMarker(tip, { radius: 8, color: '#d22', fillOpacity: 0.9 }).addTo(map);
        else here.setLatLng(tip);
        if (!map.getBounds().contains(tip)) map.panTo(tip);
      }
    }
  }

  const onChange = (s) => {
    if (!root.isConnected || !document.getElementById('patrol-elapsed')) {
      listeners.delete(onChange);
      return;
    }
    draw(s);
    drawUnsent();
  };
  listeners.add(onChange);
  refreshUnsent = () => { if (unsent.isConnected) drawUnsent(); };
  const timer = setInterval(() => {
    if (!clock.isConnected) { clearInterval(timer); listeners.delete(onChange); return; }
    const s = runningPatrol();
    if (s) clock.textContent = elapsed(s);
  }, 1000);
  draw(state);
  drawUnsent();
}
