// Patrols 巡查 in the console: tracks on the map and how much of each grid was covered per
// day. (Being built.)
import { h, mount } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';

addStrings({ patrols: '巡查' }, { patrols: 'Patrols' });

export async function patrolsPane(root) {
  mount(root, h('h2', t('patrols')));
}
