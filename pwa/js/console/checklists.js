// Checklist dispatch 清单派发 in the console: build a checklist, send it to grids, watch its
// progress roll up grid → village → township. (Being built.)
import { h, mount } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';

addStrings({ checklists: '清单派发' }, { checklists: 'Checklists' });

export async function checklistsPane(root) {
  mount(root, h('h2', t('checklists')));
}
