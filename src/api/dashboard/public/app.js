// evsed local dashboard: plain JS, no build step. Live state from /api/events (SSE), history and
// operator views from the JSON API. Cost and time to finish are shown when the API carries them.
'use strict';

const TOKEN_KEY = 'evsed.token';
const $ = (sel, root = document) => root.querySelector(sel);
const lang = navigator.language || 'en';
const nf = (digits) => new Intl.NumberFormat(lang, { minimumFractionDigits: digits, maximumFractionDigits: digits });
const kw = nf(2);
const kwh = nf(3);
const int = nf(0);

const state = {
  token: localStorage.getItem(TOKEN_KEY) || '',
  /** connector id -> { view, at: performance.now() when the view arrived } */
  connectors: new Map(),
  /** connector id -> { sessionId, xs, ys, plot, finished } */
  curves: new Map(),
  events: null,
  tick: null,
  /** connector id -> its charging timer state (GET /api/status, section timers) */
  timers: new Map(),
  /** The card readers (GET /api/status `readers`), refreshed with the status. */
  readers: [],
  /** The status light and buzzer (GET /api/status `signals`), or null without them. */
  signals: null,
  /** Tag names by idTagKey: the owner's names (GET /api/tags) and those the session list carries. */
  names: new Map(),
  /** connector id -> what the current control may offer ({ minA, maxA, apiLimitA }, GET /api/status currentControl). */
  control: new Map(),
};

// ---------------------------------------------------------------- API and token

class Unauthorised extends Error {}

async function api(path, init = {}) {
  const headers = { Accept: 'application/json', ...(init.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { ...init, headers, cache: 'no-store' });
  if (res.status === 401) {
    await toSignIn(res);
    throw new Unauthorised();
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

/** A write as the API takes it: a JSON object body with exactly Content-Type: application/json. */
function postJson(body) {
  return { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
}

/** Runs `fn`; when the station wants a token, asks for it once and runs `fn` again. */
async function authed(fn) {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof Unauthorised)) throw err;
      await askToken(Boolean(state.token));
    }
  }
}

let asking = null;
function askToken(refused) {
  if (asking) return asking;
  const dialog = $('#token-dialog');
  $('#token-error').hidden = !refused;
  asking = new Promise((resolve) => {
    $('#token-form').onsubmit = () => {
      state.token = $('#token-input').value.trim();
      localStorage.setItem(TOKEN_KEY, state.token);
      $('#forget-token').hidden = false;
      asking = null;
      resolve();
      if (state.events) connectEvents();
      refreshCsvLink();
      refreshReportLinks();
    };
    dialog.showModal();
  });
  return asking;
}

function withToken(path) {
  if (!state.token) return path;
  return `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(state.token)}`;
}

// ---------------------------------------------------------------- sign-in (api.passwordHash)

/**
 * A 401 that names a sign-in page (the station has a password and this browser's sign-in ended):
 * go there; the promise never settles, so nothing asks for a token meanwhile.
 */
let leaving = false;
async function toSignIn(res) {
  const body = await res.clone().json().catch(() => ({}));
  if (typeof body.signIn !== 'string' || !body.signIn.startsWith('/')) return;
  // Once: the event stream and a poll may both meet the end of the sign-in (or a sign-out under way).
  if (!leaving) location.assign(body.signIn);
  leaving = true;
  await new Promise(() => {});
}

/** Sign out is shown when this page got in by the sign-in cookie. */
async function setupSignOut() {
  const button = $('#sign-out');
  const info = await api('/api/session').catch(() => null);
  if (!info || info.via !== 'cookie') return;
  button.hidden = false;
  button.onclick = async () => {
    // The station closes this page's event stream with the session: that is no reason to go elsewhere.
    leaving = true;
    state.events?.close();
    await fetch('/api/session', { method: 'DELETE', cache: 'no-store' }).catch(() => {});
    location.assign('/signin?signed-out');
  };
}

// ---------------------------------------------------------------- formatting

const fmt = {
  kW: (w) => (w === null || w === undefined ? '–' : `${kw.format(w / 1000)} kW`),
  kWh: (wh) => (wh === null || wh === undefined ? '–' : `${kwh.format(kWhText(wh))} kWh`),
  duration(s) {
    if (s === null || s === undefined) return '–';
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    return `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  },
  time: (iso) => (iso ? new Date(iso).toLocaleString(lang, { dateStyle: 'short', timeStyle: 'short' }) : '–'),
};

/**
 * The one energy figure: whole Wh (the session's meter-register difference) as kWh with three
 * decimals, from the integer (no float rounding: 22999 Wh is 22.999 kWh on the card, in the
 * history, the details, the report and the station use alike, as `evsed report` writes it).
 */
function kWhText(wh) {
  const n = Math.round(wh);
  const abs = String(Math.abs(n)).padStart(4, '0');
  return `${n < 0 ? '-' : ''}${abs.slice(0, -3)}.${abs.slice(-3)}`;
}

/** A stop reason as the API words it (stopReasonText, one table: src/domain/types.ts), with a capital. */
function endText(s) {
  const t = s.stopReasonText ?? s.stopReason ?? '';
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/**
 * Cost as the API gives it, or null when it gives none (no tariff). Shapes understood:
 * live session `cost: { currency, grossMinor }`; session rows `costTotal` (decimal text) + `currency`;
 * `costMinor` + `currency` [+ `costExponent`]; billing's `cost: { gross, currency, exponent }`.
 */
function costOf(o) {
  if (!o) return null;
  const c = o.cost && typeof o.cost === 'object' ? o.cost : null;
  if (c && typeof c.currency === 'string' && (typeof c.grossMinor === 'number' || typeof c.gross === 'number')) {
    return minorCost(c.grossMinor ?? c.gross, c.currency, c.exponent);
  }
  if (typeof o.costMinor === 'number' && typeof o.currency === 'string') return minorCost(o.costMinor, o.currency, o.costExponent);
  if (typeof o.costTotal === 'string' && /^-?\d+(\.\d+)?$/.test(o.costTotal) && typeof o.currency === 'string') {
    const digits = (o.costTotal.split('.')[1] || '').length;
    // Intl formats decimal text exactly (no float on the way).
    return { value: o.costTotal, text: money(o.currency, digits, o.costTotal) };
  }
  return null;
}

function minorCost(minor, currency, exponent) {
  let e = exponent;
  if (typeof e !== 'number') {
    try {
      e = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
    } catch {
      e = 2;
    }
  }
  const sign = minor < 0 ? '-' : '';
  const abs = String(Math.abs(minor)).padStart(e + 1, '0');
  const text = e ? `${sign}${abs.slice(0, -e)}.${abs.slice(-e)}` : `${sign}${abs}`;
  return { value: minor, text: money(currency, e, text) };
}

function money(currency, digits, decimalText) {
  try {
    return new Intl.NumberFormat(lang, { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits }).format(decimalText);
  } catch {
    return `${decimalText} ${currency}`;
  }
}

/** Time to finish: undefined when the API does not estimate at all, null when it says unknown. */
function etaOf(o) {
  if (!o) return undefined;
  if (o.eta && typeof o.eta === 'object') return o.eta.etaS ?? null;
  if ('etaS' in o) return typeof o.etaS === 'number' ? o.etaS : null;
  return undefined;
}

// ---------------------------------------------------------------- connectors

function card(id) {
  let el = document.querySelector(`article[data-connector="${id}"]`);
  if (!el) {
    el = $('#connector-card').content.firstElementChild.cloneNode(true);
    el.dataset.connector = String(id);
    el.addEventListener('click', onAction);
    el.querySelector('[data-form="limits"]').addEventListener('submit', onLimits);
    el.querySelector('select[data-control="current"]').addEventListener('change', onCurrent);
    el.querySelector('form[data-field="simCard"]').addEventListener('submit', onSimCard);
    $('#connectors').append(el);
  }
  return el;
}

function setField(el, name, text, value) {
  const f = el.querySelector(`[data-field="${name}"]`);
  f.textContent = text;
  if (value === undefined || value === null) f.removeAttribute('data-value');
  else f.dataset.value = String(value);
  return f;
}

function showOpt(el, name, text, value) {
  const dt = el.querySelector(`[data-opt="${name}"]`);
  const dd = el.querySelector(`[data-field="${name}"]`);
  const on = text !== undefined;
  dt.hidden = dd.hidden = !on;
  if (on) setField(el, name, text, value);
}

/** Seconds since the view arrived, so durations run between status events. */
function elapsedS(entry) {
  return (performance.now() - entry.at) / 1000;
}

/** A running session's durations now: the view's, counted on since it arrived. */
function liveTimes(entry) {
  const s = entry.view.session;
  const running = elapsedS(entry);
  const charging = entry.view.status === 'Charging';
  return {
    durationS: s.durationS + running,
    chargingS: s.chargingS + (charging ? running : 0),
    idleS: s.idleS + (charging ? 0 : running),
  };
}

function renderConnector(id) {
  const entry = state.connectors.get(id);
  if (!entry) return;
  const v = entry.view;
  const el = card(id);
  setField(el, 'id', String(id));
  const badge = setField(el, 'status', v.paused ? `${v.status} (paused)` : v.status, v.status);
  badge.className = `badge s-${v.status}`;
  const faults = el.querySelector('[data-field="faults"]');
  faults.hidden = !v.faults.length;
  faults.textContent = v.faults.length ? `Fault: ${v.faults.join(', ')}` : '';
  el.querySelector('[data-field="stale"]').hidden = !v.meter.stale;
  const mine = state.readers.filter((r) => r.connectorId === id);
  const readers = el.querySelector('[data-field="readers"]');
  readers.hidden = !mine.length;
  readers.className = mine.some((r) => r.state === 'fault') ? 'warn' : 'muted';
  readers.textContent = mine.map((r) => `Reader ${r.id}: ${r.state === 'fault' ? `fault (${r.fault})` : r.state}`).join(' · ');
  // The simulator's reader: a card can be held to it from here (POST /api/sim/readers/:id/card).
  const sim = mine.find((r) => r.driver === 'sim');
  const simCard = el.querySelector('form[data-field="simCard"]');
  simCard.hidden = !sim;
  if (sim) simCard.dataset.reader = sim.id;
  renderLight(el, id);
  setField(el, 'powerW', fmt.kW(v.meter.powerW), v.meter.powerW);
  setField(el, 'registerWh', fmt.kWh(v.meter.energyWh), v.meter.energyWh);
  setField(el, 'limitA', v.currentLimitA ? `${v.currentLimitA} A (${v.limitSource})` : 'none', v.currentLimitA);
  const timer = state.timers.get(id);
  // Kept for a reservation (OCPP ReserveNow): for whom, until when.
  const r = v.reservation;
  showOpt(el, 'reserved', r ? `for ${tagLabel(r.idTag)}${r.parentIdTag ? ` or its group ${r.parentIdTag}` : ''} until ${fmt.time(r.expiresAt)}${r.station ? ' (the station is reserved: one connector is kept)' : ''}` : undefined, r ? r.idTag : undefined);
  showOpt(el, 'timer', timer && timer.applies ? `${timer.open ? 'open' : 'waiting'}${timer.until ? ` until ${fmt.time(timer.until)}` : ''}` : undefined, timer && timer.applies ? String(timer.open) : undefined);

  const s = v.session;
  el.querySelector('[data-field="session"]').hidden = !s;
  for (const x of el.querySelectorAll('[data-session-only]')) x.hidden = !s;
  renderCurrentControl(el, id);
  if (s) {
    const running = elapsedS(entry);
    const charging = v.status === 'Charging';
    const t = liveTimes(entry);
    setField(el, 'sessionId', `#${s.id}`, s.id);
    setField(el, 'idTag', s.idTag ? tagLabel(s.idTag) : '');
    setField(el, 'sessionEnergyWh', fmt.kWh(s.energyWh), s.energyWh);
    setField(el, 'durationS', fmt.duration(t.durationS), s.durationS);
    setField(el, 'chargingS', fmt.duration(t.chargingS), s.chargingS);
    setField(el, 'idleS', fmt.duration(t.idleS), s.idleS);
    const cost = costOf(s);
    showOpt(el, 'cost', cost ? cost.text : undefined, cost ? cost.value : undefined);
    const eta = etaOf(s);
    // The estimate counts down between updates, like the durations count up.
    const left = typeof eta === 'number' ? Math.max(0, eta - (charging ? running : 0)) : eta;
    showOpt(el, 'eta', left === undefined ? undefined : left === null ? 'unknown' : eta === 0 ? 'reached' : fmt.duration(left), eta ?? undefined);
    el.querySelector('[data-field="eta"]').title = s.etaBasis && s.etaBasis !== 'unknown' ? `estimated from the ${s.etaBasis === 'soc' ? 'state of charge' : 'energy target'}` : '';
    const soc = typeof s.socPercent === 'number' ? s.socPercent : undefined;
    showOpt(el, 'soc', soc === undefined ? undefined : `${Math.round(soc)} %`, soc);
    el.querySelector('[data-action="pause"]').hidden = v.paused;
    el.querySelector('[data-action="resume"]').hidden = !v.paused;
    setField(el, 'limits', limitsText(s));
    const now = el.querySelector('[data-action="charge-now"]');
    now.dataset.on = String(s.chargeNow === true);
    now.textContent = s.chargeNow ? 'Charge now: on' : 'Charge now';
    now.title = s.chargeNow ? 'Charging at full current whatever the timers say, until this session ends; press to end it' : 'Charge at full current now, whatever the timers say (for this session)';
  }
}

/** The session's stop conditions in words (and whether the energy target stops it). */
function limitsText(s) {
  const l = s.limits || {};
  const parts = [];
  if (typeof l.energyWh === 'number') parts.push(`at ${fmt.kWh(l.energyWh)}`);
  if (s.target && s.target.mode === 'stop' && typeof s.target.energyWh === 'number') parts.push(`at the target ${fmt.kWh(s.target.energyWh)}`);
  if (typeof l.durationS === 'number') parts.push(`after ${fmt.duration(l.durationS)}`);
  if (typeof l.socPercent === 'number') parts.push(`at ${l.socPercent} % battery`);
  return parts.length ? parts.join(', ') : 'when you stop it';
}

/** The limits form: empty fields stay as they are, 0 removes a limit. */
async function onLimits(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const id = form.closest('article').dataset.connector;
  const body = {};
  const kwh = form.elements.energyKWh.value;
  const min = form.elements.durationMin.value;
  if (kwh !== '') body.energyWh = Number(kwh) > 0 ? Math.round(Number(kwh) * 1000) : null;
  if (min !== '') body.durationS = Number(min) > 0 ? Math.round(Number(min)) * 60 : null;
  if (!Object.keys(body).length) return;
  try {
    await authed(() => api(`/api/connectors/${id}/limits`, postJson(body)));
    form.reset();
    await loadStatus();
  } catch (err) {
    showError(err);
  }
}

/** The status light of the connector it shows: its colour and rhythm, and in words. */
function renderLight(el, id) {
  const sig = state.signals;
  const box = el.querySelector('[data-field="light"]');
  box.hidden = !sig || sig.connectorId !== id;
  if (box.hidden) return;
  const p = sig.light.pattern;
  const lamp = el.querySelector('[data-field="lamp"]');
  lamp.className = `lamp${p.mode === 'off' ? '' : ' on'}${p.mode === 'blink' || p.mode === 'pulse' ? ` ${p.mode}` : ''}`;
  lamp.style.setProperty('--lamp', p.color);
  lamp.style.animationDuration = `${p.periodMs}ms`;
  const sound = sig.buzzer.driver !== 'none' && sig.buzzer.lastSound && sig.buzzer.lastSoundAgoMs < 5000 ? ` · buzzer: ${sig.buzzer.lastSound}` : '';
  setField(el, 'lightText', `Light (${sig.light.driver}): ${sig.light.text}${sig.feedback ? ` · card ${sig.feedback}` : ''}${sound}`, sig.light.text);
}

/** The name shown for a tag, or undefined. */
function tagName(idTag) {
  return state.names.get(idTagKey(idTag));
}

function tagLabel(idTag) {
  const name = tagName(idTag);
  return name ? `${name} (${idTag})` : `tag ${idTag}`;
}

async function loadNames() {
  const list = await authed(() => api('/api/tags'));
  for (const t of list) state.names.set(idTagKey(t.idTag), t.name);
}

/** The light changes without a status event (a card answer): poll it while it is on screen. */
async function refreshSignals() {
  const st = await authed(() => api('/api/status'));
  state.signals = st.signals ?? null;
  for (const id of state.connectors.keys()) renderConnector(id);
}

/** Learn mode: the next card at a reader is added under the name (POST /api/tags/learn waits up to 30 s). */
async function onLearn(ev) {
  ev.preventDefault();
  const input = $('#learn-name');
  const name = input.value.trim();
  const result = $('#learn-result');
  const button = ev.target.querySelector('button');
  if (!name) return;
  button.disabled = true;
  result.textContent = 'Hold the new card to the reader now (30 s) …';
  try {
    const r = await authed(() => api('/api/tags/learn', postJson({ name })));
    result.textContent = `Learned ${r.idTag} as "${r.name}"${r.addedTo === 'list' ? '' : ' (named only)'}${r.note ? `: ${r.note}` : ''}`;
    state.names.set(idTagKey(r.idTag), r.name);
    input.value = '';
    refreshData();
  } catch (err) {
    result.textContent = err instanceof Error ? err.message : String(err);
  } finally {
    button.disabled = false;
  }
}

/** Fields billing adds to a live session; kept across events that do not carry them (they come with the status poll). */
const EXTRAS = ['cost', 'costMinor', 'currency', 'costExponent', 'eta', 'etaS', 'etaBasis', 'socPercent', 'limits', 'chargeNow', 'target'];

function onStatus(view) {
  const prev = state.connectors.get(view.id);
  const before = prev && prev.view.session;
  if (before && view.session && before.id === view.session.id) {
    for (const k of EXTRAS) if (k in before && !(k in view.session)) view.session[k] = before[k];
  }
  state.connectors.set(view.id, { view, at: performance.now() });
  renderConnector(view.id);
  const sid = view.session ? view.session.id : null;
  const curve = state.curves.get(view.id);
  if (sid !== null && (!curve || curve.sessionId !== sid)) loadCurve(view.id, sid);
  if (sid === null && curve && !curve.finished) finishCurve(view.id);
  if (prev && prev.view.session && (!view.session || view.session.id !== prev.view.session.id)) refreshData();
}

function onSample(x) {
  const entry = state.connectors.get(x.connectorId);
  if (!entry) return;
  const v = entry.view;
  v.meter.energyWh = x.energyWh;
  v.meter.powerW = x.powerW;
  if (v.session && x.sessionId === v.session.id) {
    v.session.energyWh = Math.max(0, x.energyWh - v.session.meterStartWh);
    addPoint(x.connectorId, x.sessionId, x.wallMs / 1000, x.powerW);
  }
  renderConnector(x.connectorId);
  // the running row of the history shows the same figure as the card, changed by the same event
  renderRunningRows();
}

async function onAction(ev) {
  const btn = ev.target.closest('button[data-action]');
  if (!btn) return;
  const id = ev.currentTarget.dataset.connector;
  const action = btn.dataset.action;
  if (action === 'stop' && !confirm(`Stop the session on connector ${id}?`)) return;
  try {
    const body = action === 'charge-now' ? { on: btn.dataset.on !== 'true' } : {};
    await authed(() => api(`/api/connectors/${id}/${action}`, postJson(body)));
    if (action === 'charge-now') await loadStatus();
  } catch (err) {
    showError(err);
  }
}

async function onSimCard(ev) {
  ev.preventDefault();
  const form = ev.currentTarget;
  const idTag = form.elements.idTag.value.trim();
  const result = form.querySelector('[data-field="simCardResult"]');
  if (!idTag || !form.dataset.reader) return;
  try {
    const r = await authed(() => api(`/api/sim/readers/${encodeURIComponent(form.dataset.reader)}/card`, postJson({ idTag })));
    result.textContent = r.outcome ? `${r.idTag}: ${r.outcome.action} (${r.outcome.status})` : `${r.idTag}: ignored (the same card again at once, or taken by learn mode)`;
    if (state.signals) refreshSignals().catch(() => {});
  } catch (err) {
    showError(err);
  }
}

// ---------------------------------------------------------------- power curve (uPlot)

async function loadCurve(connectorId, sessionId) {
  const c = { sessionId, xs: [], ys: [], plot: null, finished: false };
  state.curves.set(connectorId, c);
  try {
    const s = await authed(() => api(`/api/sessions/${sessionId}`));
    if (state.curves.get(connectorId) !== c) return;
    const live = c.xs.map((x, i) => [x, c.ys[i]]);
    c.xs = [];
    c.ys = [];
    for (const p of s.samples) push(c, Date.parse(p.t) / 1000, p.powerW);
    for (const [x, y] of live) push(c, x, y);
  } catch (err) {
    showError(err);
  }
  drawCurve(connectorId);
}

/** A long session at one reading a second would grow without end: past this, keep every other point. */
const MAX_POINTS = 20000;

function push(c, x, w) {
  const last = c.xs[c.xs.length - 1];
  if (last !== undefined && x <= last) return;
  c.xs.push(x);
  c.ys.push(w / 1000);
  if (c.xs.length > MAX_POINTS) {
    c.xs = c.xs.filter((_, i) => i % 2 === 0 || i === c.xs.length - 1);
    c.ys = c.ys.filter((_, i) => i % 2 === 0 || i === c.ys.length - 1);
  }
}

function addPoint(connectorId, sessionId, x, w) {
  const c = state.curves.get(connectorId);
  if (!c || c.sessionId !== sessionId) return;
  push(c, x, w);
  if (c.plot) c.plot.setData([c.xs, c.ys]);
  else drawCurve(connectorId);
}

function finishCurve(connectorId) {
  const c = state.curves.get(connectorId);
  c.finished = true;
  drawCurve(connectorId);
}

function drawCurve(connectorId) {
  const c = state.curves.get(connectorId);
  const fig = card(connectorId).querySelector('[data-field="curve"]');
  fig.hidden = false;
  fig.querySelector('figcaption').textContent = `Power, session #${c.sessionId}${c.finished ? ' (finished)' : ''}`;
  if (typeof uPlot === 'undefined') return;
  const box = fig.querySelector('.curve');
  if (c.plot && c.plot.root.isConnected) {
    c.plot.setData([c.xs, c.ys]);
    return;
  }
  box.textContent = '';
  c.plot = new uPlot(
    {
      width: Math.max(240, box.clientWidth || 320),
      height: 180,
      legend: { show: false },
      scales: {
        x: { time: true, range: curveXRange },
        y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max))] },
      },
      ...curveLook(),
    },
    [c.xs, c.ys],
    box,
  );
}

/**
 * Axes, ticks, grid and line of a power curve in the page's colours (style.css, light or dark):
 * uPlot draws on a canvas, which CSS does not reach, and its default is black on any background.
 */
function curveLook() {
  const css = getComputedStyle(document.documentElement);
  const v = (name) => css.getPropertyValue(name).trim();
  const axis = { stroke: v('--fg'), grid: { stroke: v('--grid'), width: 1 }, ticks: { stroke: v('--muted'), width: 1 } };
  return {
    axes: [{ ...axis }, { ...axis, label: 'kW', size: 48 }],
    series: [{}, { label: 'Power', stroke: v('--bar'), fill: v('--bar-fill'), width: 2 }],
  };
}

/** A change between light and dark: the canvases are drawn again in the new colours. */
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  for (const [id, c] of state.curves) {
    if (!c.plot) continue;
    c.plot.destroy();
    c.plot = null;
    drawCurve(id);
  }
  if (detailPlot && detailShown) renderDetailCurve(detailShown);
});

/**
 * The x range of a power curve (seconds): the data's, at least a minute wide, so a fresh session
 * does not show millisecond ticks; a single point sits in the middle of its minute. Taken from the
 * data, not from min/max: for a single point uPlot passes a range of 1000 days.
 */
function curveXRange(u, min, max) {
  const xs = u.data[0];
  if (!xs || !xs.length) return [min, max];
  const lo = xs[0];
  const hi = xs[xs.length - 1];
  if (hi === lo) return [lo - 30, lo + 30];
  return [lo, Math.max(hi, lo + 60)];
}

addEventListener('resize', () => {
  // The bar charts are drawn at their box's width: draw them again when it changed.
  const changed = [...document.querySelectorAll('.bars')].some((box) => box.clientWidth && String(Math.max(200, Math.round(box.clientWidth))) !== box.dataset.width);
  if (lastStats && changed) drawStats(lastStats);
  for (const c of state.curves.values()) {
    if (!c.plot) continue;
    const w = c.plot.root.parentElement.clientWidth;
    if (w) c.plot.setSize({ width: w, height: 180 });
  }
  if (detailPlot) {
    const w = detailPlot.root.parentElement.clientWidth;
    if (w) detailPlot.setSize({ width: w, height: 200 });
  }
});

// ---------------------------------------------------------------- events

/**
 * The event stream's state, on the pill and on the page (body[data-link]): while it is lost the
 * cards are dimmed and the pill says their values may be out of date; the stream reconnects by
 * itself (and is asked for again below when the browser gives up).
 */
function showLink(to) {
  const link = $('#link');
  link.dataset.state = to;
  document.body.dataset.link = to;
  link.textContent = to === 'live' ? 'live' : 'offline: values may be out of date, reconnecting…';
  link.title = to === 'live' ? 'live from the station' : 'the station does not answer: what is shown is as it was when the connection was lost';
}

function connectEvents() {
  if (state.events) state.events.close();
  const es = new EventSource(withToken('/api/events'));
  state.events = es;
  let dropped = false;
  es.onopen = () => {
    showLink('live');
    // After a gap, fetch what was missed.
    if (dropped) {
      for (const [id, c] of state.curves) if (!c.finished) loadCurve(id, c.sessionId);
      refreshData();
    }
  };
  es.onerror = () => {
    dropped = true;
    showLink('offline');
    // An EventSource cannot see a 401: ask the API directly. After an HTTP error (e.g. 429, too
    // many streams) it gives up for good, so try again later ourselves.
    api('/api/status')
      .then(() => {
        if (es.readyState === EventSource.CLOSED && state.events === es) setTimeout(() => state.events === es && connectEvents(), 5000);
      })
      .catch((err) => {
        if (err instanceof Unauthorised) {
          es.close();
          askToken(true).then(loadStatus);
        } else if (es.readyState === EventSource.CLOSED && state.events === es) {
          setTimeout(() => state.events === es && connectEvents(), 5000);
        }
      });
  };
  const on = (name, fn) => es.addEventListener(name, (m) => fn(JSON.parse(m.data)));
  on('status', onStatus);
  on('sample', onSample);
  on('session-started', () => refreshData());
  on('session-stopped', () => refreshData());
  on('session-corrected', () => refreshData());
}

async function loadStatus() {
  const st = await authed(() => api('/api/status'));
  $('#station').textContent = st.id;
  document.title = `${st.id} · evsed`;
  $('#station-meta').textContent = `${st.vendor} ${st.model} · ${st.firmwareVersion}${st.clock.quality === 'unsynced' ? ' · clock not synced' : ''}`;
  state.timers = new Map(((st.timers && st.timers.connectors) || []).map((t) => [t.id, t]));
  renderTimers(st.timers);
  state.readers = Array.isArray(st.readers) ? st.readers : [];
  state.signals = st.signals ?? null;
  state.control = new Map((Array.isArray(st.currentControl) ? st.currentControl : []).map((c) => [c.connectorId, c]));
  for (const c of st.connectors) onStatus(c);
  connectorOptions(st.connectors.map((c) => c.id));
  renderPv(st.pv);
  return st;
}

/** PV surplus charging (a pv section in the config): the mode to choose, and what the logic does now. */
function renderPv(pv) {
  $('#pv').hidden = !pv;
  if (!pv) return;
  const select = $('#pv-mode');
  if (document.activeElement !== select) select.value = pv.mode;
  const surplus = typeof pv.surplusW === 'number' ? ` · surplus ${fmt.kW(pv.surplusW)}` : '';
  $('#pv-state').textContent = pv.mode === 'off' ? '' : `${pv.reason}${surplus}`;
}

async function onPvMode(ev) {
  try {
    renderPv(await authed(() => api('/api/pv', { ...postJson({ mode: ev.target.value }), method: 'PUT' })));
  } catch (err) {
    showError(err);
  }
}

/** The connector filter lists the station's connectors; with only one there is nothing to choose. */
function connectorOptions(ids) {
  const select = $('#connector');
  const have = [...select.options].map((o) => o.value).filter(Boolean);
  if (have.join() !== ids.map(String).join()) {
    const chosen = select.value;
    select.length = 1;
    for (const id of ids) select.add(new Option(String(id), String(id)));
    select.value = ids.map(String).includes(chosen) ? chosen : '';
  }
  $('#connector-filter').hidden = ids.length < 2;
}

/** The charging windows in force (config or set here), in the station's time zone. */
function renderTimers(t) {
  const el = $('#timers-now');
  if (!t) {
    $('#timers-section').hidden = true;
    return;
  }
  const list = (t.timers || []).map((w) => `${w.days.length === 7 ? 'every day' : w.days.join(', ')} ${w.start}–${w.end}${w.connectors ? ` (connector ${w.connectors.join(', ')})` : ''}${w.maxA ? `, at most ${w.maxA} A` : ''}`);
  el.textContent = list.length
    ? `Charging only ${list.join('; ')} (${t.timeZone}; ${t.source === 'api' ? 'set here or over the API' : 'from the config'}). "Charge now" on a session overrides them.`
    : `No timer: sessions charge at any time (${t.timeZone}).`;
}

async function onTimers(ev) {
  ev.preventDefault();
  const f = ev.currentTarget.elements;
  try {
    await authed(() => api('/api/timers', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ timers: [{ days: [f.days.value], start: f.start.value, end: f.end.value }] }) }));
    await loadStatus();
  } catch (err) {
    showError(err);
  }
}

async function onTimersClear() {
  try {
    await authed(() => api('/api/timers', { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ timers: null }) }));
    await loadStatus();
  } catch (err) {
    showError(err);
  }
}

// ---------------------------------------------------------------- period, history, operator views

function localDate(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** The chosen days as instants: local midnight of `from`, local midnight after `to`. */
function period() {
  const [fy, fm, fd] = $('#from').value.split('-').map(Number);
  const [ty, tm, td] = $('#to').value.split('-').map(Number);
  return { from: new Date(fy, fm - 1, fd).toISOString(), to: new Date(ty, tm - 1, td + 1).toISOString() };
}

/** The connector and tag chosen for the session list and the CSV export (empty = all). */
function filters() {
  const f = {};
  const connector = $('#connector').value;
  const idTag = $('#idTag').value.trim();
  if (connector && !$('#connector-filter').hidden) f.connector = connector;
  if (idTag) f.idTag = idTag;
  return f;
}

function query(extra = {}) {
  return new URLSearchParams({ ...period(), ...extra }).toString();
}

function refreshCsvLink() {
  $('#csv').href = withToken(`/api/sessions.csv?${query(filters())}`);
}

let refreshing = null;
function refreshData() {
  refreshCsvLink();
  // Coalesce bursts (stop + status events) into one round of requests.
  refreshing ??= new Promise((r) => setTimeout(r, 150)).then(() => {
    refreshing = null;
    return Promise.all([loadHistory(), loadStats()]).catch(showError);
  });
  return refreshing;
}

async function loadHistory() {
  const f = filters();
  const rows = await authed(() => api(`/api/sessions?${query({ ...f, limit: '200' })}`));
  const body = $('#sessions');
  body.textContent = '';
  let anyCost = false;
  for (const s of rows) {
    const tr = document.createElement('tr');
    tr.dataset.sessionId = String(s.id);
    const cost = costOf(s);
    anyCost ||= cost !== null;
    // A running session's stored durations and energy lag (checkpoints): the live view has them,
    // and the row follows it every second (renderRunningRows), like the connector card.
    const running = s.status === 'active';
    if (running) tr.dataset.running = '';
    const cells = [
      [fmt.time(s.startTime)],
      [String(s.connectorId)],
      [s.idTag ? (s.tagName ?? tagName(s.idTag) ?? s.idTag) : ''],
      [running ? '–' : fmt.duration(s.durationS), 'duration'],
      [running ? '–' : fmt.duration(s.chargingS), 'charging'],
      [s.energyWh === null ? 'running' : fmt.kWh(s.energyWh), 'num energy', s.energyWh],
      [cost ? cost.text : '', 'num cost-col'],
      [s.status === 'active' ? 'running' : endText(s), 'end'],
    ];
    const labels = ['Start', 'Connector', 'Tag', 'Duration', 'Charging', 'Energy', 'Cost', 'End'];
    cells.forEach(([text, cls, value], i) => {
      const td = document.createElement('td');
      td.dataset.label = labels[i];
      td.textContent = text;
      if (cls) td.className = cls;
      if (value !== undefined && value !== null) td.dataset.value = String(value);
      tr.append(td);
    });
    tr.tabIndex = 0;
    tr.title = 'Details and power curve';
    if (s.idTag) tr.children[2].title = s.idTag;
    body.append(tr);
    if (s.idTag && s.tagName) state.names.set(idTagKey(s.idTag), s.tagName);
    if (s.idTag && !f.idTag) knownTag(s.idTag);
  }
  $('#history').classList.toggle('with-cost', anyCost);
  // The list brings tag names (config and owner's): the cards show them at once.
  for (const id of state.connectors.keys()) renderConnector(id);
  renderRunningRows();
  const filtered = Object.keys(f).length > 0;
  $('#filter-note').hidden = !filtered;
  $('#sessions-note').textContent = rows.length
    ? (rows.length === 200 ? 'Showing the latest 200 sessions; narrow the dates or export CSV for all.' : '')
    : filtered ? 'No sessions in this period for this connector and tag.' : 'No sessions in this period.';
}

/** Running sessions in the history count on with the live view, as the connector card does. */
function renderRunningRows() {
  for (const tr of document.querySelectorAll('#sessions tr[data-running]')) {
    const id = Number(tr.dataset.sessionId);
    const entry = [...state.connectors.values()].find((e) => e.view.session && e.view.session.id === id);
    if (!entry) continue;
    const t = liveTimes(entry);
    tr.querySelector('td.duration').textContent = fmt.duration(t.durationS);
    tr.querySelector('td.charging').textContent = fmt.duration(t.chargingS);
    tr.querySelector('td.energy').textContent = fmt.kWh(entry.view.session.energyWh);
    const cost = costOf(entry.view.session);
    tr.querySelector('td.cost-col').textContent = cost ? `${cost.text} so far` : '';
    if (cost) $('#history').classList.add('with-cost');
  }
}

/** idTags are case-insensitive: ASCII letters folded to upper case, as the station compares them (src/domain/tags.ts). */
function idTagKey(idTag) {
  return idTag.replace(/[a-z]+/g, (s) => s.toUpperCase());
}

/** Tags seen in the history, offered in the tag filter (one entry per tag, whatever the case). */
function knownTag(idTag) {
  const list = $('#known-tags');
  if ([...list.options].some((o) => idTagKey(o.value) === idTagKey(idTag))) return;
  list.append(new Option('', idTag));
}

/** The last /api/stats answer drawn. */
let lastStats = null;

async function loadStats() {
  const st = await authed(() => api(`/api/stats?${query({ tz: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' })}`));
  const u = st.utilisation;
  $('#util-occupied').value = u.occupiedPercent;
  $('#util-charging').value = u.chargingPercent;
  const a = st.averages;
  const put = (name, text, value) => {
    const el = document.querySelector(`[data-stat="${name}"]`);
    el.textContent = text;
    el.dataset.value = String(value);
  };
  put('occupiedPercent', `${u.occupiedPercent} %`, u.occupiedPercent);
  put('chargingPercent', `${u.chargingPercent} %`, u.chargingPercent);
  put('sessions', int.format(a.sessions), a.sessions);
  put('totalEnergyWh', fmt.kWh(a.totalEnergyWh), a.totalEnergyWh);
  put('avgEnergyWh', fmt.kWh(a.avgEnergyWh), a.avgEnergyWh);
  put('avgDurationS', fmt.duration(a.avgDurationS), a.avgDurationS);
  put('avgChargingS', fmt.duration(a.avgChargingS), a.avgChargingS);
  lastStats = st;
  drawStats(st);
}

function drawStats(st) {
  bars($('#chart-days'), st.energyPerDay.map((d) => ({ label: d.day.slice(5), value: d.energyWh, tip: `${d.day}: ${fmt.kWh(d.energyWh)}, ${d.sessions} sessions` })), fmt.kWh);
  bars($('#chart-hours'), st.sessionsByHour.map((h) => ({ label: String(h.hour), value: h.sessions, tip: `${h.hour}:00–${h.hour + 1}:00: ${h.sessions} sessions, ${fmt.kWh(h.energyWh)}` })), (n) => `${int.format(n)} sessions`);
}

/** A small SVG bar chart; labels thinned so they never overlap; the scale says the tallest bar in `unit`'s words. */
function bars(box, items, unit) {
  const NS = 'http://www.w3.org/2000/svg';
  // Drawn at the box's own width, so the labels keep the page's text size (a 600-wide drawing
  // scaled into a phone column made them a few pixels high).
  const W = Math.max(200, Math.round(box.clientWidth || 600)), H = 170, B = 20, T = 18;
  box.dataset.width = String(W);
  const max = Math.max(0, ...items.map((i) => i.value));
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  const bw = W / Math.max(1, items.length);
  // A label every `every` bars, about 60 px apart at the page's text size; none cut at the right edge.
  const every = Math.ceil(items.length / Math.max(2, Math.floor(W / 60)));
  const el = (name, attrs, text) => {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  items.forEach((it, i) => {
    const h = max > 0 ? ((H - B - T) * it.value) / max : 0;
    const r = el('rect', { x: i * bw + bw * 0.1, y: H - B - h, width: bw * 0.8, height: Math.max(h, it.value > 0 ? 1 : 0), class: 'bar' });
    r.append(el('title', {}, it.tip));
    svg.append(r);
    if (i % every === 0 && (i === 0 || i * bw + bw / 2 < W - 24)) svg.append(el('text', { x: i === 0 ? 0 : i * bw + bw / 2, y: H - 4, 'text-anchor': i === 0 ? 'start' : 'middle', class: 'axis' }, it.label));
  });
  svg.append(el('text', { x: 2, y: 13, class: 'axis scale' }, max > 0 ? `max ${unit(max)}` : 'no data'));
  box.textContent = '';
  box.append(svg);
}

// ---------------------------------------------------------------- current control

/**
 * The current the connector may offer, as a choice of legal values only: no limit of ours (the
 * other claims decide), 0 A (pause), or 6 A (the IEC 61851 minimum) up to the connector's rating.
 */
function renderCurrentControl(el, id) {
  const c = state.control.get(id);
  const select = el.querySelector('select[data-control="current"]');
  select.closest('label').hidden = !c || typeof c.maxA !== 'number';
  if (!c || typeof c.maxA !== 'number') return;
  const want = ['', '0'];
  for (let a = c.minA; a <= c.maxA; a++) want.push(String(a));
  if ([...select.options].map((o) => o.value).join() !== want.join()) {
    select.length = 0;
    for (const v of want) select.add(new Option(v === '' ? `no limit (up to ${c.maxA} A)` : v === '0' ? '0 A: pause' : `${v} A`, v));
  }
  // Not while the choice is being sent: the answer's status sets it.
  if (!select.dataset.sending) select.value = c.apiLimitA === null ? '' : String(c.apiLimitA);
}

async function onCurrent(ev) {
  const select = ev.currentTarget;
  const id = select.closest('article').dataset.connector;
  const maxA = select.value === '' ? null : Number(select.value);
  select.dataset.sending = '1';
  try {
    await authed(() => api(`/api/connectors/${id}/limit`, postJson({ maxA })));
    await loadStatus();
  } catch (err) {
    showError(err);
  } finally {
    delete select.dataset.sending;
  }
}

// ---------------------------------------------------------------- session details

/** The details' power curve (uPlot) and the session it shows. */
let detailPlot = null;
let detailShown = null;

async function showDetails(id) {
  const box = $('#session-details');
  try {
    const [s, curve] = await Promise.all([authed(() => api(`/api/sessions/${id}`)), authed(() => api(`/api/sessions/${id}/samples`))]);
    const put = (name, text) => ($(`[data-detail="${name}"]`, box).textContent = text);
    put('id', `#${s.id}`);
    put('start', fmt.time(s.startTime));
    put('stop', s.status === 'active' ? 'running' : fmt.time(s.stopTime));
    put('connector', String(s.connectorId));
    const name = s.tagName ?? (s.idTag ? tagName(s.idTag) : undefined);
    put('tag', s.idTag ? (name ? `${name} (${s.idTag})` : s.idTag) : 'none');
    put('energy', s.energyWh === null ? 'running' : fmt.kWh(s.energyWh));
    const cost = costOf(s);
    put('cost', cost ? cost.text : '');
    $('[data-detail-opt="cost"]', box).hidden = $('[data-detail="cost"]', box).hidden = !cost;
    put('duration', fmt.duration(s.durationS));
    put('charging', fmt.duration(s.chargingS));
    put('idle', fmt.duration(s.idleS));
    put('end', s.status === 'active' ? 'running' : endText(s));
    put('curveTitle', curve.points.length ? `Power (kW), ${curve.samples} samples${curve.samples > curve.points.length ? `, shown as ${curve.points.length} points` : ''}` : 'Power: no samples stored');
    box.hidden = false;
    detailShown = curve;
    renderDetailCurve(curve);
    box.scrollIntoView({ block: 'nearest' });
  } catch (err) {
    showError(err);
  }
}

function renderDetailCurve(curve) {
  const box = $('#session-details [data-detail="curve"]');
  if (detailPlot) detailPlot.destroy();
  detailPlot = null;
  box.textContent = '';
  if (typeof uPlot === 'undefined' || !curve.points.length) return;
  const xs = curve.points.map((p) => Date.parse(p.t) / 1000);
  const ys = curve.points.map((p) => (p.powerW === null ? null : p.powerW / 1000));
  detailPlot = new uPlot(
    {
      width: Math.max(240, box.clientWidth || 320),
      height: 200,
      legend: { show: false },
      scales: { x: { time: true, range: curveXRange }, y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max))] } },
      ...curveLook(),
    },
    [xs, ys],
    box,
  );
}

function onHistoryClick(ev) {
  const tr = ev.target.closest('tr[data-session-id]');
  if (tr && (ev.type === 'click' || ev.key === 'Enter')) showDetails(Number(tr.dataset.sessionId));
}

/** Plots the page draws besides the live curves (the contrast test checks their axes too). */
function pagePlots() {
  return detailPlot ? [detailPlot] : [];
}

// ---------------------------------------------------------------- monthly report per tag

function reportQuery() {
  return `month=${encodeURIComponent($('#report-month').value)}`;
}

function refreshReportLinks() {
  const ok = /^\d{4}-\d{2}$/.test($('#report-month').value);
  for (const [sel, path] of [['#report-csv', '/api/report.csv'], ['#report-html', '/api/report.html']]) {
    $(sel).href = withToken(ok ? `${path}?${reportQuery()}` : path);
    $(sel).hidden = !ok;
  }
}

/** The per-tag report of `evsed report` for a month, with the CSV's own figures (GET /api/report). */
async function loadReport(ev) {
  if (ev) ev.preventDefault();
  refreshReportLinks();
  try {
    const r = await authed(() => api(`/api/report?${reportQuery()}`));
    const money = (text) => (text === null || r.currency === null ? '–' : moneyText(r.currency, text));
    const body = $('#report-tags');
    body.textContent = '';
    for (const t of r.tags) {
      const tr = document.createElement('tr');
      const cells = [
        [t.name ?? t.idTag ?? '(no tag)', '', ''],
        [t.idTag ?? '', 'tag', 'Tag'],
        [String(t.sessions), 'num', 'Sessions'],
        [fmt.kWh(t.energyWh), 'num', 'Energy'],
        [money(t.text.net), 'num', 'Net'],
        [money(t.text.tax), 'num', 'Tax'],
        [money(t.text.gross), 'num', 'Total'],
      ];
      for (const [text, cls, label] of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        if (cls) td.className = cls;
        td.dataset.label = label;
        tr.append(td);
      }
      body.append(tr);
    }
    const total = $('#report-total');
    const put = (name, text) => ($(`[data-report="${name}"]`, total).textContent = text);
    put('sessions', String(r.total.sessions));
    put('energy', fmt.kWh(r.total.energyWh));
    put('net', money(r.total.text.net));
    put('tax', money(r.total.text.tax));
    put('gross', money(r.total.text.gross));
    $('#report-table').hidden = false;
    const notes = [`Sessions that started in ${r.month} (${r.timeZone}), as \`evsed report\` gives them.`];
    if (!r.tags.length) notes.push('No completed sessions in this month.');
    if (r.total.uncosted) notes.push(`${r.total.uncosted} session(s) had no tariff and carry no cost.`);
    if (r.activeExcluded) notes.push(`${r.activeExcluded} session(s) still running are not included.`);
    $('#report-note').textContent = notes.join(' ');
  } catch (err) {
    showError(err);
  }
}

/** An amount given as decimal text (the report's), in the page's currency format. */
function moneyText(currency, text) {
  return money(currency, (text.split('.')[1] || '').length, text);
}

// ---------------------------------------------------------------- start

function showError(err) {
  const el = $('#error');
  el.hidden = false;
  el.textContent = err instanceof Error ? err.message : String(err);
  clearTimeout(showError.t);
  showError.t = setTimeout(() => (el.hidden = true), 8000);
}

async function main() {
  const today = new Date();
  $('#to').value = localDate(today);
  $('#from').value = localDate(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 29));
  $('#forget-token').hidden = !state.token;
  $('#forget-token').onclick = () => {
    localStorage.removeItem(TOKEN_KEY);
    state.token = '';
    location.reload();
  };
  $('#timers').addEventListener('submit', onTimers);
  $('#timers-clear').addEventListener('click', onTimersClear);
  $('#period').addEventListener('submit', (e) => {
    e.preventDefault();
    refreshData();
  });
  $('#period').addEventListener('change', refreshCsvLink);
  $('#pv-mode').addEventListener('change', onPvMode);
  $('#period').addEventListener('input', refreshCsvLink);
  refreshCsvLink();
  $('#learn').addEventListener('submit', onLearn);
  $('#sessions').addEventListener('click', onHistoryClick);
  $('#sessions').addEventListener('keydown', onHistoryClick);
  $('#details-close').addEventListener('click', () => {
    $('#session-details').hidden = true;
    if (detailPlot) detailPlot.destroy();
    detailPlot = detailShown = null;
  });
  $('#report-month').value = localDate(today).slice(0, 7);
  $('#report-form').addEventListener('submit', loadReport);
  $('#report-month').addEventListener('input', refreshReportLinks);
  refreshReportLinks();
  $('#tags-csv').href = withToken('/api/tags.csv');
  setupSignOut();
  try {
    await loadNames().catch(() => {});
    await loadStatus();
    connectEvents();
    await refreshData();
  } catch (err) {
    showError(err);
  }
  // Durations run on between events; a slow full refresh picks up cost and time to finish.
  state.tick = setInterval(() => {
    for (const id of state.connectors.keys()) renderConnector(id);
    renderRunningRows();
  }, 1000);
  setInterval(() => {
    if (document.visibilityState === 'visible' && [...state.connectors.values()].some((e) => e.view.session)) loadStatus().catch(() => {});
  }, 15000);
  setInterval(() => {
    if (document.visibilityState === 'visible' && state.signals) refreshSignals().catch(() => {});
  }, 1000);
}

main();
