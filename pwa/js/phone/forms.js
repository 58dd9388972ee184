// "一表通" on the phone: the report forms my grid or village must fill, with what the system
// already knows prefilled. Filling works offline: the filing is read from the last copy, and a
// save or submission is a PUT of the whole filing through the write queue (idempotent on the
// server, so a resend after a lost answer changes nothing). Village staff also follow their
// grids' filings of a grid-level form, and return one 退回 with a reason.
import { h, mount, toast, fmtTime } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';
import { api } from '../lib/api.js';
import { cached, kv } from '../lib/db.js';
import * as queue from '../lib/queue.js';
import { filingEditor, startingValues } from '../lib/filing.js';

addStrings({
  forms: '一表通',
  forms_todo: '待填报',
  forms_done: '已上报',
  forms_none: '暂无需要填报的报表',
  forms_due: '截止 {d}',
  forms_overdue: '已逾期',
  forms_period: '周期 {a} 至 {b}',
  forms_save: '暂存',
  forms_submit: '上报',
  forms_saved: '已暂存',
  forms_submitted: '已上报',
  forms_queued: '已保存，联网后自动上报',
  forms_waiting: '待发送',
  forms_returned_because: '已退回：{r}',
  forms_rejected_because: '未能上报：{r}',
  forms_not_cached: '离线且没有这张表的缓存，请联网后再打开',
  forms_history: '填报记录',
  forms_readonly: '本表已上报，如需修改请联系上级退回',
  forms_below: '下级填报进度',
  forms_progress: '已报 {a} / {b}',
  forms_return: '退回',
  forms_return_reason: '退回原因（必填）',
  forms_returned_ok: '已退回',
  fs_pending: '未填报',
  fs_draft: '已暂存',
  fs_submitted: '已上报',
  fs_returned: '已退回',
  log_save: '暂存',
  log_submit: '上报',
  log_resubmit: '重新上报',
  log_return: '退回',
}, {
  forms: 'Reports',
  forms_todo: 'To fill',
  forms_done: 'Submitted',
  forms_none: 'No reports to fill',
  forms_due: 'due {d}',
  forms_overdue: 'overdue',
  forms_period: 'period {a} to {b}',
  forms_save: 'Save draft',
  forms_submit: 'Submit',
  forms_saved: 'Saved',
  forms_submitted: 'Submitted',
  forms_queued: 'Saved; it will be submitted when the network returns',
  forms_waiting: 'Waiting to send',
  forms_returned_because: 'Returned: {r}',
  forms_rejected_because: 'Not accepted: {r}',
  forms_not_cached: 'Offline, and this report was never opened here: connect and try again',
  forms_history: 'History',
  forms_readonly: 'Submitted. Ask the level above to return it if it needs changing',
  forms_below: 'Filings below me',
  forms_progress: '{a} of {b} in',
  forms_return: 'Return',
  forms_return_reason: 'Reason (required)',
  forms_returned_ok: 'Returned',
  fs_pending: 'Not started',
  fs_draft: 'Draft',
  fs_submitted: 'Submitted',
  fs_returned: 'Returned',
  log_save: 'Saved',
  log_submit: 'Submitted',
  log_resubmit: 'Submitted again',
  log_return: 'Returned',
});

const OPEN = new Set(['pending', 'draft', 'returned']);

// One message at a time: a fresh answer replaces the last instead of stacking over it.
function say(message, kind) {
  document.querySelectorAll('.toast').forEach((el) => el.remove());
  toast(message, kind);
}
// Who follows filings one level down (village people over their grids).
const REVIEWING = new Set(['village_staff', 'grid_leader']);

const mineNow = () => cached('forms_mine', () => api.get('/filings', { mine: true, page_size: 200 }));

// The newest queued write of a filing that the server has not taken (waiting or refused).
async function queued(id) {
  const items = await queue.items('form');
  return items.find((i) => i.path === `/filings/${id}` && i.status !== 'sent') || null;
}

async function waitingSubmits() {
  const items = await queue.items('form');
  return new Set(items.filter((i) => i.status === 'waiting' && i.body && i.body.submit).map((i) => i.path));
}

// Forms still to fill (the home screen's count): open filings, less those submitted offline.
export async function formCount() {
  const [page, sent] = await Promise.all([mineNow(), waitingSubmits()]);
  const items = (page && page.items) || [];
  return items.filter((f) => f.can_fill && OPEN.has(f.status) && !sent.has(`/filings/${f.id}`)).length;
}

function statusChip(status, waiting) {
  if (waiting) return h('span.state.fs-waiting', t('forms_waiting'));
  return h('span.state.fs-' + status, t('fs_' + status));
}

function filingRow(f, waiting) {
  return h('a.task.form-item', { href: '#/form/' + f.id, dataset: { id: f.id, status: f.status } },
    statusChip(f.status, waiting),
    h('b', ' ' + f.form_title),
    h('div.hint', f.area.name),
    h('div.hint' + (f.overdue && OPEN.has(f.status) ? '.bad' : ''),
      t('forms_due', { d: f.due_on }) + (f.overdue && OPEN.has(f.status) ? ` · ${t('forms_overdue')}` : '')),
    f.status === 'returned' && f.return_reason ? h('div.hint.warn', t('forms_returned_because', { r: f.return_reason })) : null);
}

export async function formsScreen(root, { go } = {}) {
  const me = (await kv.get('me')) || { user: {} };
  const [page, sent] = await Promise.all([mineNow(), waitingSubmits()]);
  const items = (page && page.items) || [];
  const todo = items.filter((f) => f.can_fill && OPEN.has(f.status) && !sent.has(`/filings/${f.id}`));
  const done = items.filter((f) => !todo.includes(f));
  let below = [];
  if (REVIEWING.has(me.user.role)) {
    const forms = await cached('forms_below', () => api.get('/forms', { status: 'published', page_size: 50 }));
    below = ((forms && forms.items) || []).filter((f) => f.fill_level === 'grid' && f.progress.expected > 1);
  }
  mount(root,
    h('h1', t('forms')),
    h('h2', `${t('forms_todo')}（${todo.length}）`),
    todo.length ? h('div#forms-todo', todo.map((f) => filingRow(f, false))) : h('p.hint#forms-none', t('forms_none')),
    done.length ? [h('h2', t('forms_done')), h('div#forms-done', done.map((f) => filingRow(f, sent.has(`/filings/${f.id}`))))] : null,
    below.length ? [h('h2', t('forms_below')), h('div#forms-below', below.map((f) =>
      h('a.task.form-item', { href: '#/form/r' + f.id, dataset: { form: f.id } },
        h('b', f.title),
        h('div.hint', t('forms_progress', { a: f.progress.submitted, b: f.progress.expected }) + ' · ' + t('forms_due', { d: f.due_on })))))] : null);
}

export async function formScreen(root, { id, go }) {
  if (String(id).startsWith('r')) return belowScreen(root, { formId: String(id).slice(1), go });
  const filing = await cached(`filing_${id}`, () => api.get(`/filings/${id}`));
  if (!filing) {
    mount(root, h('a.back', { href: '#/forms' }, '‹ ' + t('back')), h('p.error', t('forms_not_cached')));
    return;
  }
  const pending = await queued(id);
  const waiting = pending && pending.status === 'waiting';
  const submittedOffline = waiting && pending.body.submit;
  const editable = filing.can_fill && !submittedOffline;
  const editor = filingEditor(filing, { values: startingValues(filing, pending && pending.body), readOnly: !editable });
  const form = filing.form;

  async function send(submit) {
    const { values, errors } = editor.collect(submit);
    const wrong = Object.keys(errors).length;
    if (wrong) {
      say(t('fl_errors', { n: wrong }), 'error');
      return;
    }
    await queue.enqueue({
      kind: 'form',
      method: 'PUT',
      path: `/filings/${id}`,
      body: { values, submit },
      label: `${t('forms')}：${form.title}（${filing.area.name}）${submit ? t('forms_submit') : t('forms_save')}`,
    });
    queue.requestSync();
    await queue.flush().catch(() => 0);
    const after = await queued(id);
    if (!after) {
      say(submit ? t('forms_submitted') : t('forms_saved'), 'ok');
      await cached(`filing_${id}`, () => api.get(`/filings/${id}`));
    } else if (after.status === 'rejected') {
      say(t('forms_rejected_because', { r: after.rejected.message }), 'error');
    } else {
      say(t('forms_queued'), 'info');
    }
    go(submit && (!after || after.status === 'waiting') ? '#/forms' : '#/form/' + id);
  }

  mount(root,
    h('a.back', { href: '#/forms' }, '‹ ' + t('forms')),
    h('h1#form-title', form.title),
    h('div.form-facts',
      h('div', statusChip(filing.status, waiting), ' ', h('b', filing.area.name)),
      h('div.hint', t('forms_period', { a: form.period_start, b: form.period_end })),
      h('div.hint' + (filing.overdue ? '.bad' : ''), t('forms_due', { d: form.due_on }) + (filing.overdue ? ` · ${t('forms_overdue')}` : ''))),
    form.description ? h('p.form-description', form.description) : null,
    filing.status === 'returned' && filing.return_reason ? h('div.banner-warn#return-reason', t('forms_returned_because', { r: filing.return_reason })) : null,
    pending && pending.status === 'rejected' ? h('div.banner-warn', t('forms_rejected_because', { r: pending.rejected.message })) : null,
    !editable ? h('p.hint#form-readonly', submittedOffline ? t('forms_queued') : t('forms_readonly')) : null,
    editor.el,
    editable ? h('div.send-bar.form-actions',
      h('button.big.secondary#form-save', { type: 'button', onclick: () => send(false) }, t('forms_save')),
      h('button.big.primary#form-submit', { type: 'button', onclick: () => send(true) }, t('forms_submit'))) : null,
    filing.log && filing.log.length ? [h('h2', t('forms_history')), h('ul.timeline', filing.log.map((e) =>
      h('li', `${fmtTime(e.at)} ${e.actor_name} ${t('log_' + e.action)}`, e.reason ? h('div.reason', e.reason) : null)))] : null);
}

// A village's view of a grid-level form: each grid's filing, and returning one with a reason.
async function belowScreen(root, { formId, go }) {
  const [form, page] = await Promise.all([
    cached(`form_${formId}`, () => api.get(`/forms/${formId}`)),
    cached(`form_filings_${formId}`, () => api.get('/filings', { form_id: formId, page_size: 200 })),
  ]);
  if (!form || !page) {
    mount(root, h('a.back', { href: '#/forms' }, '‹ ' + t('back')), h('p.error', t('forms_not_cached')));
    return;
  }
  const row = (f) => h('div.task.below-item', { dataset: { id: f.id, status: f.status } },
    statusChip(f.status, false), h('b', ' ' + f.area.name),
    f.submitted_at ? h('div.hint', `${f.submitted_by_name} ${fmtTime(f.submitted_at)}`) : null,
    f.can_return ? h('button.link', {
      type: 'button',
      onclick: async () => {
        const reason = (prompt(t('forms_return_reason')) || '').trim();
        if (!reason) return;
        try {
          await api.post(`/filings/${f.id}/return`, { reason });
          say(t('forms_returned_ok'), 'ok');
          go('#/form/r' + formId);
        } catch (err) {
          say(err.message, 'error');
        }
      },
    }, t('forms_return')) : null);
  mount(root,
    h('a.back', { href: '#/forms' }, '‹ ' + t('forms')),
    h('h1', form.title),
    h('p.hint', t('forms_progress', { a: form.progress.submitted, b: form.progress.expected }) + ' · ' + t('forms_due', { d: form.due_on })),
    page.items.map(row));
}
