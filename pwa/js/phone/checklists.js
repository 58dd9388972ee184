// Checklist dispatch 清单派发 on the phone: the checklists sent to my grids, each item answered
// offline (photo, GPS fix, yes/no or a value) through the write queue. (Being built.)
import { h, mount } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';

addStrings({ checklists: '清单任务' }, { checklists: 'Checklists' });

// Items still to answer in my open checklists (the home screen's count).
export async function checklistCount() {
  return 0;
}

export async function checklistsScreen(root) {
  mount(root, h('h1', t('checklists')), h('p.hint', t('no_tasks')));
}

export async function checklistScreen(root) {
  mount(root, h('h1', t('checklists')), h('p.hint', t('no_tasks')));
}
