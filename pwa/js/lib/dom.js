// A tiny element builder: h('button.big', {onclick}, 'text', child…). No framework needed for
// a handful of screens, and nothing to download on a weak connection.
export function h(tag, attrs = {}, ...children) {
  // Attributes are optional: a text, a node or a list in their place is the first child.
  if (attrs === null || typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs)) {
    children.unshift(attrs);
    attrs = {};
  }
  // 'tag.class.class#id' (the id may also come before classes).
  const [base, idPart = ''] = tag.split('#');
  const [id, ...idClasses] = idPart.split('.');
  const [name, ...baseClasses] = base.split('.');
  const classes = [...baseClasses, ...idClasses];
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  if (id) el.id = id;
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function mount(root, ...children) {
  root.replaceChildren(...children.flat().filter(Boolean));
}

export function toast(message, kind = 'info') {
  const el = h('div.toast.' + kind, { role: 'status' }, message);
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getMonth() + 1}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
