// The command-centre console: counters, pinned strip, alarm banner, queue, map, detail.
// Everything updates from live pushes; a reload is never needed.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, stateName, subcategoryName, toggleLanguage } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { kv } from '../lib/db.js';
import { connect } from '../lib/live.js';
import { logout } from '../main.js';
import { alarms } from './alarms.js';
import { detailPane } from './detail.js';
import { supervisorPane } from './supervise.js';
import { evaluationPane } from './evaluation.js';
import { dutyPane } from './duty.js';
import { sensorsPane } from './sensors.js';
import { checklistsPane } from './checklists.js';
import { patrolsPane } from './patrols.js';
import { formsPane } from './forms.js';

export const OPEN_STATES = ['reported', 'filed', 'dispatched', 'in_progress', 'returned', 'escalated', 'extension_requested', 'handled', 'verified'];
const SUPERVISING = new Set(['supervisor', 'admin']);
// Who may see the evaluation rankings and export events (app/evaluation EVALUATORS).
const EVALUATING = new Set(['supervisor', 'admin', 'township_dispatcher']);
// Who keeps and stands on a centre's roster.
const CONSOLE_STAFF = new Set(['township_dispatcher', 'supervisor', 'admin']);

export async function startConsole(root, me) {
  const taxonomy = (await kv.get('taxonomy')) || [];
  const counters = { near: h('b#near-due-count', '…'), over: h('b#overdue-count', '…') };
  const liveDot = h('span#live.dot', { title: t('live') });
  const pins = h('div.pins#pins');
  const queue = h('div.queue#queue');
  const mapBox = h('div.citymap#citymap');
  const detail = h('div.detail#detail', h('p.hint', t('select_event')));
  const title = h('b.title', t('app_name'));
  const filters = { state: '', near_due: false, overdue: false };
  let selected = null;
  let rows = new Map();
  let pane = 'detail';

  const header = h('header',
    title,
    h('span.counter.warn', t('near_due') + ' ', counters.near),
    h('span.counter.bad', t('overdue') + ' ', counters.over),
    liveDot,
    h('span.grow'),
    SUPERVISING.has(me.user.role)
      ? h('button.link#supervise-tab', { type: 'button', onclick: () => showSupervision() }, t('supervise'))
      : null,
    EVALUATING.has(me.user.role)
      ? h('button.link#evaluation-tab', { type: 'button', onclick: () => showEvaluation() }, t('evaluation'))
      : null,
    CONSOLE_STAFF.has(me.user.role)
      ? h('button.link#duty-tab', { type: 'button', onclick: () => showDuty() }, t('duty'))
      : null,
    h('button.link#sensors-tab', { type: 'button', onclick: () => showSensors() }, t('sensors')),
    h('button.link#checklists-tab', { type: 'button', onclick: () => showPane('checklists') }, t('checklists')),
    h('button.link#patrols-tab', { type: 'button', onclick: () => showPane('patrols') }, t('patrols')),
    h('button.link#forms-tab', { type: 'button', onclick: () => showPane('forms') }, t('forms')),
    h('span.who', me.user.display_name || me.user.username),
    h('button.link', { type: 'button', onclick: () => { toggleLanguage(); location.reload(); } }, t('language')),
    h('button.link', { type: 'button', onclick: logout }, t('logout')));

  const filterBar = h('div.filters',
    h('select#filter-state', { 'aria-label': t('state'), onchange: (e) => { filters.state = e.target.value; refresh(); } },
      h('option', { value: '' }, t('all')), OPEN_STATES.map((s) => h('option', { value: s }, stateName(s)))),
    h('label', h('input', { type: 'checkbox', id: 'filter-near', onchange: (e) => { filters.near_due = e.target.checked; refresh(); } }), t('near_due')),
    h('label', h('input', { type: 'checkbox', id: 'filter-over', onchange: (e) => { filters.overdue = e.target.checked; refresh(); } }), t('overdue')));

  mount(root, h('div.console', header, pins, h('div.side', filterBar, queue), mapBox, detail));
  const banner = alarms(document.body);

  // The township's name and outline frame the map; the map itself loads on the side.
  let area = null;
  if (me.scope && me.scope.area) {
    area = await api.get('/areas/' + me.scope.area, { geometry: false }).catch(() => null);
    if (area) title.textContent = `${t('app_name')} · ${area.name}`;
  }
  let map = null;
  const mapReady = import('./map.js').then(async ({ cityMap }) => {
    map = await cityMap(mapBox, { onSelect: (id) => select(id), bbox: area && area.bbox });
    map.setEvents([...rows.values()]);
    keyPlaces().then((places) => map.setKeyPlaces(places)).catch((err) => console.warn('key places:', err));
    return map;
  }).catch((err) => {
    mount(mapBox, h('p.error', String(err.message || err)));
  });
  window.wanggeMap = mapReady; // for the browser tests' timing

  // Every key place in scope, a page of 500 at a time (a township has tens to hundreds).
  async function keyPlaces() {
    const places = [];
    for (let page = 1; page <= 20; page += 1) {
      const answer = await api.get('/keys/places', { page, page_size: 500 });
      places.push(...answer.items);
      if (places.length >= answer.total || !answer.items.length) break;
    }
    return places;
  }

  async function refresh() {
    const query = { page_size: 200, sort: '-received_at', state: filters.state ? [filters.state] : OPEN_STATES };
    if (filters.near_due) query.near_due = true;
    if (filters.overdue) query.overdue = true;
    const page = await api.get('/events', query);
    rows = new Map(page.items.map((e) => [e.id, e]));
    drawQueue();
    counts();
    if (map) map.setEvents(page.items);
  }

  async function counts() {
    const [near, over] = await Promise.all([
      api.get('/events', { near_due: true, page_size: 1, state: OPEN_STATES }),
      api.get('/events', { overdue: true, page_size: 1, state: OPEN_STATES }),
    ]);
    counters.near.textContent = near.total;
    counters.over.textContent = over.total;
  }

  function rowClass(e) {
    if (e.overdue) return '.overdue';
    if (e.near_due) return '.near_due';
    return '';
  }

  function shown(e) {
    if (filters.state ? e.state !== filters.state : !OPEN_STATES.includes(e.state)) return false;
    return (!filters.near_due || e.near_due) && (!filters.overdue || e.overdue);
  }

  function drawQueue(freshId) {
    const list = [...rows.values()].filter(shown);
    mount(queue, list.length ? list.map((e) =>
      h('div.row' + rowClass(e) + (e.id === selected ? '.selected' : '') + (e.id === freshId ? '.fresh' : '') + (e.emergency ? '.emergency' : ''), {
        dataset: { id: e.id, state: e.state }, onclick: () => select(e.id),
      },
      h('div.line', h('b', `#${e.id}`), h('span.state.' + e.state, stateName(e.state)),
        e.emergency ? h('span.state.bad', t('emergency')) : null,
        h('span.hint', fmtTime(e.received_at))),
      h('div.desc', e.description.slice(0, 40)),
      h('div.hint', subcategoryName(taxonomy, e.subcategory)))) : h('p.hint.pad', t('no_tasks')));
  }

  // Each pane draws into a box of its own: one still loading when another is chosen (the
  // supervision pane a supervisor's console opens on) then draws into a box that is no longer
  // on screen, instead of over the pane the user picked.
  let paneBox = detail;
  function freshBox() {
    paneBox = h('div.pane-box');
    mount(detail, paneBox);
    return paneBox;
  }

  // A pane that cannot load (the network, a server error) says why and offers to try again,
  // instead of staying blank or keeping the pane it was meant to replace. A live redraw that
  // fails is different: what the user was reading stays on screen, marked as not updated, so
  // a blip in the network never blanks a command centre's pane.
  async function load(box, draw, { live = false } = {}) {
    try {
      return await draw(box);
    } catch (err) {
      console.warn('pane:', err);
      if (box !== paneBox) return null; // another pane was chosen meanwhile
      if (live && box.firstChild && !box.querySelector(':scope > #pane-error')) {
        offer(box, draw, `${t('pane_update_failed')} · ${err.message || err}`, '.pane-failed');
        return null;
      }
      mount(box, h('p.error#pane-error', `${t('pane_failed')}: ${err.message || err}`),
        h('button.link#pane-retry', { type: 'button', onclick: () => load(box, draw) }, t('try_again')));
      return null;
    }
  }

  // One notice at the top of a pane: the latest redraw waits in it until the user asks.
  function offer(box, draw, text, kind = '') {
    box.redrawLater = draw;
    box.querySelector(':scope > .pane-stale')?.remove();
    box.prepend(h('button.pane-stale' + kind, {
      type: 'button',
      onclick: (e) => { e.currentTarget.remove(); load(box, box.redrawLater, { live: true }); },
    }, text));
  }

  // A live push redraws the pane on screen, but never under someone filling it in (a return
  // reason, a new checklist, a filter they picked): the pane then offers the change, and the
  // latest redraw waits until they ask for it. Only what the user typed or picked counts:
  // fields the pane filled itself fire no input events.
  const touched = new WeakSet();
  for (const kind of ['input', 'change']) detail.addEventListener(kind, (e) => touched.add(e.target));
  function busy(box) {
    const active = document.activeElement;
    if (active && box.contains(active) && active.matches('input:not([type=button]):not([type=submit]), textarea, select')) return true;
    return [...box.querySelectorAll('input, textarea, select')].some((field) => touched.has(field));
  }
  function redraw(draw) {
    const box = paneBox;
    if (!busy(box)) return load(box, draw, { live: true });
    offer(box, draw, t('pane_updated'));
    return null;
  }

  async function select(id) {
    selected = id;
    pane = 'detail';
    drawQueue();
    await load(freshBox(), (box) => detailPane(box, { id, me, taxonomy, onChange: refresh }));
    if (map) map.highlight(id);
  }

  async function showSupervision() {
    pane = 'supervise';
    selected = null;
    drawQueue();
    await load(freshBox(), (box) => supervisorPane(box, { taxonomy, onDone: refresh }));
  }

  async function showEvaluation() {
    pane = 'evaluation';
    selected = null;
    drawQueue();
    await load(freshBox(), evaluationPane);
  }

  async function showSensors() {
    pane = 'sensors';
    selected = null;
    drawQueue();
    await load(freshBox(), (box) => sensorsPane(box, { onEvent: (id) => select(id) }));
  }

  async function showDuty() {
    pane = 'duty';
    selected = null;
    drawQueue();
    await load(freshBox(), (box) => dutyPane(box, { me }));
  }

  // The panes of issue 5 that need nothing from the queue: one way in, one way to redraw.
  const PANES = {
    checklists: (box) => checklistsPane(box, { me, onEvent: (id) => select(id) }),
    patrols: (box) => patrolsPane(box, { me }),
    forms: (box) => formsPane(box, { me }),
  };

  async function showPane(name) {
    pane = name;
    selected = null;
    drawQueue();
    await load(freshBox(), PANES[name]);
  }

  async function drawPins() {
    const page = await api.get('/pins', { active: true, page_size: 20 });
    mount(pins, page.items.map((p) => h('span.pin', { dataset: { id: p.id } },
      h('b', t('pinned')), ' ',
      p.event_id ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); select(p.event_id); } }, p.title) : p.title,
      ' ', h('button.link', {
        type: 'button', onclick: async () => { await api.post(`/pins/${p.id}/acknowledge`, {}); drawPins(); },
      }, t('acknowledge')))));
  }

  await refresh();
  drawPins();
  banner.load();
  if (SUPERVISING.has(me.user.role)) showSupervision();

  connect(async (message) => {
    const kind = message.kind;
    if (kind === 'event_new' || kind === 'event_changed') {
      const summary = message.payload;
      const before = rows.get(summary.id) || {};
      rows.set(summary.id, { ...before, ...summary, deadline: summary.due_at, received_at: before.received_at || message.at });
      // Newest first, as the queue is sorted.
      if (kind === 'event_new') rows = new Map([[summary.id, rows.get(summary.id)], ...[...rows].filter(([k]) => k !== summary.id)]);
      drawQueue(summary.id);
      if (map) map.setEvents([...rows.values()]);
      if (selected === summary.id) redraw((box) => detailPane(box, { id: selected, me, taxonomy, onChange: refresh }));
      if (kind === 'event_new') toast(`#${summary.id} ${summary.description}`, 'info');
      counts();
    } else if (kind === 'near_due' || kind === 'overdue') {
      const row = rows.get(message.event_id);
      if (row) row[kind] = true;
      drawQueue();
      if (map) map.setEvents([...rows.values()]);
      counts();
    } else if (kind.startsWith('alarm')) {
      banner.load();
    } else if (kind === 'handover' || kind.startsWith('duty') || kind === 'handover_received') {
      if (pane === 'duty') redraw((box) => dutyPane(box, { me }));
      else if (kind === 'handover') toast(`${t('handover')}: ${message.payload.note}`, 'info');
    } else if (kind.startsWith('sensor')) {
      if (pane === 'sensors') redraw((box) => sensorsPane(box, { onEvent: (id) => select(id) }));
    } else if (kind.startsWith('checklist') || kind.startsWith('patrol') || kind.startsWith('form')) {
      const name = kind.startsWith('checklist') ? 'checklists' : kind.startsWith('patrol') ? 'patrols' : 'forms';
      if (pane === name) redraw(PANES[name]);
    } else if (kind.startsWith('pin')) {
      drawPins();
    } else if (kind.startsWith('supervision')) {
      if (pane === 'supervise') redraw((box) => supervisorPane(box, { taxonomy, onDone: refresh }));
      else if (kind === 'supervision_reply') toast(`${t('reply')} #${message.event_id}: ${message.payload.reply || ''}`, 'ok');
    }
  }, { onStatus: (s) => { liveDot.className = 'dot ' + s; } });
}
