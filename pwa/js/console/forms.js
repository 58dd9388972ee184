// "一表通" smart report forms in the console: define a form, fill it (known fields prefilled),
// see it rolled up the hierarchy, export to Excel. (Being built.)
import { h, mount } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';

addStrings({ forms: '一表通' }, { forms: 'Reports' });

export async function formsPane(root) {
  mount(root, h('h2', t('forms')));
}
