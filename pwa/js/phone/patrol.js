// Patrols 巡查 on the phone: start, a GPS track recorded at an interval (offline too), stop.
// (Being built.)
import { h, mount } from '../lib/dom.js';
import { t, addStrings } from '../lib/i18n.js';

addStrings({ patrol: '巡查' }, { patrol: 'Patrol' });

// The home screen's patrol button: start one, or show the one running.
export function patrolButton() {
  return null;
}

export async function patrolScreen(root) {
  mount(root, h('h1', t('patrol')));
}
