// The physical world around a gpio board on a fake sysfs tree, in a thread of its own so that it
// keeps running (and keeps time) while the daemon's main thread is blocked: the EV on the pilot
// (its resistor on the high level, its diode on the low one while PWM runs), the contactor's aux
// contact following the coil, the RDC-DD module (trips while tested, or when told), the cable
// lock's motor and feedback. It records every change of the contactor coil line with a timestamp
// comparable across threads (performance.timeOrigin + performance.now()).
// Plain JavaScript: worker threads load it without the test transform.
import { parentPort, workerData } from 'node:worker_threads';
import { readFileSync, writeFileSync } from 'node:fs';

const d = workerData;
const now = () => performance.timeOrigin + performance.now();
const world = { ev: 'A', diode: true, welded: false, rcdTrip: false, lockJam: false, chatterRcdMs: 0 };
const log = [];
let lastCoil = null;
let lastFb = null;
let lockedAt = null;
let chatterUntil = 0;

const read = (p) => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
};
const write = (p, v) => {
  try {
    if (read(p) !== v) writeFileSync(p, `${v}\n`);
  } catch {
    // the line is not exported yet
  }
};
const counts = (v, gain) => String(Math.round((v / gain / 0.125) * 1000));

function pilot() {
  const enable = read(d.pwm.enable);
  const period = Number(read(d.pwm.period));
  const duty = Number(read(d.pwm.duty));
  const high = { A: 12, B: 9, C: 6 }[world.ev];
  let hi;
  let lo;
  if (enable !== '1' || duty === 0) {
    hi = -12; // our own -12 V: state F
    lo = -12;
  } else {
    // The low level as with PWM running, also in X1 (where the driver ignores it: no diode check
    // without PWM): so the moment PWM starts never depends on this thread's next tick.
    hi = high;
    lo = world.ev === 'A' || world.diode ? -12 : -high;
  }
  write(d.iio.high, counts(hi, 4.3));
  write(d.iio.low, counts(lo, -4.3));
}

function tick() {
  pilot();
  const coil = read(d.contactor);
  if (coil !== lastCoil && coil !== '') {
    log.push({ what: 'coil', value: coil, at: now() });
    lastCoil = coil;
  }
  const fb = world.welded ? '1' : coil === '1' ? '1' : '0';
  if (fb !== lastFb) {
    write(d.feedback, fb);
    lastFb = fb;
  }
  // RDC-DD: fault output active low; asserted while its test input is driven, when told to trip,
  // and toggling every 8 ms while chattering.
  const testing = read(d.rcdTest) === '1';
  let tripped = world.rcdTrip || testing;
  if (now() < chatterUntil) tripped = Math.floor(now() / 8) % 2 === 0;
  write(d.rcdFault, tripped ? '0' : '1');
  // Lock: motor A locks, motor B unlocks; the feedback follows 30 ms after the motor runs (not when jammed).
  const a = read(d.lock.motorA) === '1';
  const b = read(d.lock.motorB) === '1';
  if ((a || b) && !world.lockJam) {
    lockedAt ??= now();
    if (now() - lockedAt > 30) write(d.lock.feedback, a ? '1' : '0');
  } else lockedAt = null;
}

setInterval(tick, 1);

parentPort.on('message', (m) => {
  if (m.t === 'set') {
    const delay = m.delayMs ?? 0;
    const apply = () => {
      Object.assign(world, m.world);
      if (m.world.chatterRcdMs) chatterUntil = now() + m.world.chatterRcdMs;
      pilot();
      log.push({ what: 'world', world: { ...world }, at: now() });
      parentPort.postMessage({ t: 'applied', id: m.id, at: now() });
    };
    if (delay > 0) setTimeout(apply, delay);
    else apply();
  } else if (m.t === 'log') {
    parentPort.postMessage({ t: 'log', id: m.id, log: log.slice() });
  }
});
