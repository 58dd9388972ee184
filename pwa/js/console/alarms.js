// The emergency alarm: a full-width flashing banner with a repeating tone until someone
// acknowledges it. Browsers allow sound only after a user gesture on the page: logging in is
// one; a console reopened with a saved session has had none, so the banner asks for a click.
import { h, toast } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { api } from '../lib/api.js';

let audio = null;
let beeping = null;

function beep() {
  try {
    audio = audio || new AudioContext();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.2;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch (err) {
    // no audio device: the banner still flashes
  }
}

export function alarms(parent) {
  const text = h('span.alarm-text');
  const unmute = h('button.unmute#alarm-unmute', { type: 'button', hidden: true, onclick: () => beep() }, t('sound_off'));
  const acknowledge = h('button#acknowledge-alarm', { type: 'button' }, t('acknowledge'));
  const banner = h('div.alarm#alarm', { role: 'alert', hidden: true }, text, h('span.grow'), unmute, acknowledge);
  parent.prepend(banner);
  let current = null;

  function sound(on) {
    document.documentElement.dataset.alarmSound = on ? 'on' : 'off'; // for tests and kiosks
    if (on && !beeping) {
      beep();
      beeping = setInterval(() => {
        beep();
        unmute.hidden = !audio || audio.state !== 'suspended';
      }, 1000);
    } else if (!on && beeping) {
      clearInterval(beeping);
      beeping = null;
      unmute.hidden = true;
    }
  }

  acknowledge.addEventListener('click', async () => {
    if (!current) return;
    acknowledge.disabled = true;
    try {
      await api.post(`/alarms/${current.id}/acknowledge`, {});
    } catch (err) {
      // Someone else acknowledged it first: it is gone either way.
      if (err.code !== 'alarm_already_acknowledged') toast(err.message, 'error');
    }
    acknowledge.disabled = false;
    load();
  });

  async function load() {
    const page = await api.get('/alarms', { active: true, page_size: 10 });
    current = page.items[0] || null;
    if (!current) {
      banner.hidden = true;
      sound(false);
      return;
    }
    text.textContent = `${t('alarm')}：${current.title}` + (page.total > 1 ? `（+${page.total - 1}）` : '');
    banner.dataset.alarmId = current.id;
    banner.hidden = false;
    sound(true);
  }
  return { load };
}
