// "一表通" on the phone: the report forms my grid or village must fill, with what the system
// already knows prefilled. (Being built.)
import { h, mount } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';

addStrings({ forms: '一表通' }, { forms: 'Reports' });

// Forms still to fill (the home screen's count).
export async function formCount() {
  return 0;
}

export async function formsScreen(root) {
  mount(root, h('h1', t('forms')), h('p.hint', t('no_tasks')));
}

export async function formScreen(root) {
  mount(root, h('h1', t('forms')), h('p.hint', t('no_tasks')));
}
