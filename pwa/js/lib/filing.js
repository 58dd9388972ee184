// "一表通" filling, shared by the phone and the console: one filing's fields as inputs, figures
// the system prefilled marked as such (a correction shows the system's figure beside it), and
// the server's checks (app/forms/fields.py) run before anything is queued, so a filler who is
// offline learns of a mistake at once rather than from a rejected write hours later.
import { h } from './dom.js';
import { t, addStrings } from './i18n.js';

addStrings({
  fl_required: '必填',
  fl_prefilled: '系统预填 {n}',
  fl_corrected: '已修改（系统值 {n}）',
  fl_restore: '恢复系统值',
  fl_yes: '是',
  fl_no: '否',
  fl_clear: '清除',
  fl_need_number: '应填数字',
  fl_need_integer: '应填整数',
  fl_too_small: '不能小于 {n}',
  fl_too_large: '不能大于 {n}',
  fl_need: '必填',
  fl_too_long: '不能超过 2000 字',
  fl_errors: '有 {n} 项需要修改',
}, {
  fl_required: 'required',
  fl_prefilled: 'Prefilled by the system: {n}',
  fl_corrected: 'Corrected (system: {n})',
  fl_restore: 'Use the system figure',
  fl_yes: 'Yes',
  fl_no: 'No',
  fl_clear: 'Clear',
  fl_need_number: 'Enter a number',
  fl_need_integer: 'Enter a whole number',
  fl_too_small: 'At least {n}',
  fl_too_large: 'At most {n}',
  fl_need: 'Required',
  fl_too_long: 'At most 2000 characters',
  fl_errors: '{n} answers need fixing',
});

const LIMIT = 1e12;

// The value shown for a field: what was entered (or saved offline), else the system's figure.
export function startingValues(filing, local) {
  const out = {};
  const entered = (local && local.values) || (filing.status === 'pending' ? {} : filing.values || {});
  const system = filing.system_now || filing.system || {};
  for (const field of filing.form.fields) {
    const key = field.key;
    if (key in entered) out[key] = entered[key];
    else if (key in system) out[key] = system[key];
    else out[key] = null;
  }
  return out;
}

function show(value) {
  return value === null || value === undefined ? '' : String(value);
}

function roundHalfUp(value, decimals) {
  const factor = 10 ** decimals;
  return Math.round((value + Number.EPSILON) * factor) / factor;
}

// One value checked as the server checks it: [stored value, error message or null].
export function check(field, raw) {
  if (raw === null || raw === undefined || (typeof raw === 'string' && !raw.trim())) return [null, null];
  if (field.type === 'integer' || field.type === 'decimal') {
    const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
    if (!Number.isFinite(n)) return [null, t('fl_need_number')];
    if (Math.abs(n) >= LIMIT) return [null, t('fl_too_large', { n: LIMIT })];
    if (field.type === 'integer' && !Number.isInteger(n)) return [null, t('fl_need_integer')];
    const value = field.type === 'decimal' ? roundHalfUp(n, field.decimals ?? 2) : n;
    if (field.min !== null && field.min !== undefined && value < field.min) return [null, t('fl_too_small', { n: field.min })];
    if (field.max !== null && field.max !== undefined && value > field.max) return [null, t('fl_too_large', { n: field.max })];
    return [value, null];
  }
  if (field.type === 'yesno') return [raw === true || raw === false ? raw : null, null];
  const text = String(raw).trim();
  if (field.type === 'text' && text.length > 2000) return [null, t('fl_too_long')];
  return [text, null];
}

// The editor: returns {el, collect(complete)} where collect gives {values, errors}.
export function filingEditor(filing, { values, readOnly = false }) {
  const system = filing.system_now || filing.system || {};
  const current = { ...values };
  const blocks = new Map();

  function note(field, box) {
    if (!(field.key in system)) return null;
    const sys = system[field.key];
    const [value] = check(field, current[field.key]);
    const changed = value !== sys;
    const line = h('div.fl-source' + (changed ? '.changed' : ''), { dataset: { key: field.key } },
      changed ? t('fl_corrected', { n: sys }) : t('fl_prefilled', { n: sys }));
    if (changed && !readOnly) {
      line.append(' ', h('button.link.fl-restore', {
        type: 'button',
        onclick: () => { current[field.key] = sys; redraw(field, box); },
      }, t('fl_restore')));
    }
    return line;
  }

  function input(field, box) {
    const key = field.key;
    const id = `fl-${key}`;
    if (field.type === 'yesno' || field.type === 'choice') {
      const options = field.type === 'yesno' ? [[true, t('fl_yes')], [false, t('fl_no')]] : field.choices.map((c) => [c, c]);
      return h('div.chips.fl-choices', { id, role: 'radiogroup', 'aria-label': field.label },
        options.map(([value, label]) => h('button.chip' + (current[key] === value ? '.chosen' : ''), {
          type: 'button',
          role: 'radio',
          'aria-checked': current[key] === value ? 'true' : 'false',
          disabled: readOnly,
          dataset: { value: String(value) },
          onclick: () => { current[key] = current[key] === value ? null : value; redraw(field, box); },
        }, label)));
    }
    if (field.type === 'text') {
      // A textarea's text is its content, not a value attribute.
      return h('textarea', { id, disabled: readOnly, maxlength: 2000, oninput: (e) => { current[key] = e.target.value; } }, show(current[key]));
    }
    const numeric = h('input', {
      id,
      type: 'text',
      inputmode: field.type === 'integer' ? 'numeric' : 'decimal',
      value: show(current[key]),
      disabled: readOnly,
      autocomplete: 'off',
      oninput: (e) => {
        current[key] = e.target.value;
        const old = box.querySelector('.fl-source');
        const fresh = note(field, box);
        if (old && fresh) old.replaceWith(fresh);
      },
    });
    return h('div.fl-number', numeric, field.unit ? h('span.fl-unit', field.unit) : null);
  }

  function redraw(field, box) {
    box.replaceChildren(...render(field, box).childNodes);
  }

  function render(field, box) {
    return h('div',
      h('label.fl-label', { for: `fl-${field.key}` }, field.label,
        field.required ? h('span.fl-req', ' *', h('span.sr', t('fl_required'))) : null),
      field.hint ? h('div.hint', field.hint) : null,
      input(field, box),
      note(field, box),
      h('div.fl-error', { role: 'alert' }));
  }

  const el = h('div.filing-editor');
  for (const field of filing.form.fields) {
    const box = h('div.fl-field', { dataset: { key: field.key, type: field.type } });
    box.replaceChildren(...render(field, box).childNodes);
    blocks.set(field.key, box);
    el.append(box);
  }

  function collect(complete) {
    const out = {};
    const errors = {};
    for (const field of filing.form.fields) {
      const [value, error] = check(field, current[field.key]);
      if (error) errors[field.key] = error;
      else if (complete && field.required && value === null) errors[field.key] = t('fl_need');
      out[field.key] = value;
      const box = blocks.get(field.key);
      box.classList.toggle('bad', Boolean(errors[field.key]));
      box.querySelector('.fl-error').textContent = errors[field.key] || '';
    }
    const first = Object.keys(errors)[0];
    if (first) blocks.get(first).scrollIntoView({ block: 'center', behavior: 'smooth' });
    return { values: out, errors };
  }

  return { el, collect };
}
