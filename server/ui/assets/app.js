// proclet's live page: the connection, the key, the state and the log.
// Plain JavaScript, no framework. Read-only: it only GETs the REST API and
// listens to the watch WebSocket. Every value from the daemon is inserted
// as text (view.js builds the rows), never as HTML.

import { age, syncRows, appRow, instanceRow, eventRow, ordinal, jobRow, cronJobRow } from './view.js';

const KEY_STORE = 'proclet.apiKey';
const WATCH_PROTOCOL = 'proclet.v1';
const KEY_PROTOCOL_PREFIX = 'proclet.key.';
const LOG_TAIL = 200;
const LOG_MAX_CHARS = 256 * 1024;
const EVENTS_LIMIT = 30;
// How often usage (CPU, memory) and events are read again while live.
const USAGE_EVERY = 5000;
const BACKOFF_MIN = 500;
const BACKOFF_MAX = 15000;
// An entry the watch has not re-sent this long after a reconnect was
// deleted while the page was away.
const RESYNC_GRACE = 2000;

const state = {
  apps: new Map(), // name -> App
  instances: new Map(), // name -> Instance
  jobs: new Map(), // name -> Job
  cronJobs: new Map(), // name -> CronJob
  stale: new Set(), // "kind/name" not re-sent since the last reconnect
  events: [],
  selected: null, // {app, name}
};

const $ = (id) => document.getElementById(id);

// --- the key ----------------------------------------------------------

const getKey = () => sessionStorage.getItem(KEY_STORE) || '';

function authHeaders() {
  const k = getKey();
  return k ? { Authorization: 'Bearer ' + k } : {};
}

// b64url encodes the key for the WebSocket subprotocol (a token: no
// padding, URL-safe alphabet), from its UTF-8 bytes.
function b64url(s) {
  let bin = '';
  for (const b of new TextEncoder().encode(s)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

class Unauthorized extends Error {}

async function api(path, signal) {
  const resp = await fetch(path, { headers: authHeaders(), cache: 'no-store', signal });
  if (resp.status === 401) throw new Unauthorized('unauthorized');
  if (!resp.ok) {
    let msg = 'HTTP ' + resp.status;
    try { msg = (await resp.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(msg);
  }
  return resp;
}

function showKeyPrompt(reason) {
  clearTimeout(retryTimer);
  clearInterval(countdown);
  closeWatch();
  stopLogs();
  $('key-reason').textContent = reason;
  $('key-prompt').hidden = false;
  $('main').hidden = true;
  setConn('auth', 'API key needed');
  $('key-input').focus();
}

// authFailed asks for a key after a 401, and drops the key refused (the
// daemon may have restarted with other keys).
function authFailed() {
  const had = getKey() !== '';
  sessionStorage.removeItem(KEY_STORE);
  showKeyPrompt(had ? 'The daemon refused this key.' : 'This daemon needs an API key.');
}

function onKeySubmit(ev) {
  ev.preventDefault();
  const k = $('key-input').value.trim();
  if (!k) return;
  sessionStorage.setItem(KEY_STORE, k);
  $('key-input').value = '';
  $('key-prompt').hidden = true;
  $('main').hidden = false;
  backoff = BACKOFF_MIN;
  connect();
}

function forgetKey() {
  sessionStorage.removeItem(KEY_STORE);
  showKeyPrompt('The key was forgotten.');
}

// --- connection -------------------------------------------------------

let ws = null;
let backoff = BACKOFF_MIN;
let retryTimer = null;
let countdown = null;
let eventsTimer = null;
let livePoll = null;

function setConn(kind, text) {
  const c = $('conn');
  c.className = 'conn conn-' + kind;
  c.textContent = text;
  $('forget-key').hidden = !getKey();
}

function scheduleRetry(why) {
  clearTimeout(retryTimer);
  clearInterval(countdown);
  const wait = backoff;
  backoff = Math.min(backoff * 2, BACKOFF_MAX);
  const until = Date.now() + wait;
  const tick = () => {
    const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    setConn('down', why + ' — retrying in ' + s + ' s');
  };
  tick();
  countdown = setInterval(tick, 1000);
  retryTimer = setTimeout(() => { clearInterval(countdown); connect(); }, wait);
}

// connect checks the key with a REST read (a browser cannot see a
// WebSocket's 401), then opens the watch.
async function connect() {
  clearTimeout(retryTimer);
  setConn('connecting', 'connecting…');
  let sys;
  try {
    sys = await (await api('/api/v1/system')).json();
  } catch (e) {
    if (e instanceof Unauthorized) {
      authFailed();
      return;
    }
    scheduleRetry('daemon unreachable');
    return;
  }
  const host = sys && sys.host ? sys.host.hostname : '';
  const version = sys && sys.daemon ? sys.daemon.version : '';
  $('host').textContent = [host, version].filter(Boolean).join(' · ');
  openWatch();
}

function closeWatch() {
  clearInterval(livePoll);
  if (ws) {
    const s = ws;
    ws = null;
    s.close();
  }
}

function openWatch() {
  closeWatch();
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/v1/watch';
  const protocols = [WATCH_PROTOCOL];
  const k = getKey();
  if (k) protocols.push(KEY_PROTOCOL_PREFIX + b64url(k));
  const sock = new WebSocket(url, protocols);
  ws = sock;
  sock.onopen = () => {
    if (ws !== sock) return;
    backoff = BACKOFF_MIN;
    setConn('live', 'live');
    markStale();
    refreshEvents();
    setTimeout(refreshUsage, 500); // once the initial ADDED events are in
    livePoll = setInterval(() => { refreshEvents(); refreshUsage(); }, USAGE_EVERY);
    if (state.selected && !logAbort) openLogs(state.selected.app, state.selected.name);
  };
  sock.onmessage = (m) => {
    if (ws !== sock) return;
    let ev;
    try { ev = JSON.parse(m.data); } catch (_) { return; }
    applyEvent(ev);
    scheduleRender();
    scheduleEvents();
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    clearInterval(livePoll);
    scheduleRetry('disconnected');
  };
}

// byKind maps a watch event's kind to the map that holds its objects.
const byKind = () => ({ App: state.apps, Instance: state.instances, Job: state.jobs, CronJob: state.cronJobs });

function markStale() {
  state.stale.clear();
  for (const [kind, m] of Object.entries(byKind())) for (const n of m.keys()) state.stale.add(kind + '/' + n);
  setTimeout(() => {
    for (const k of state.stale) {
      const [kind, name] = k.split('/');
      byKind()[kind].delete(name);
    }
    state.stale.clear();
    scheduleRender();
  }, RESYNC_GRACE);
}

function applyEvent(ev) {
  const o = ev.object || {};
  if (ev.kind === 'App' || ev.kind === 'Job' || ev.kind === 'CronJob') {
    const name = o.metadata && o.metadata.name;
    if (!name) return;
    state.stale.delete(ev.kind + '/' + name);
    const m = byKind()[ev.kind];
    if (ev.type === 'DELETED') m.delete(name);
    else m.set(name, o);
  } else if (ev.kind === 'Instance') {
    if (!o.name) return;
    state.stale.delete('Instance/' + o.name);
    if (ev.type === 'DELETED') state.instances.delete(o.name);
    else state.instances.set(o.name, o);
  }
}

// --- usage ------------------------------------------------------------

// The watch sends no event for a new CPU or memory sample (that would be
// every instance at every sample): the usage is read from the instance
// list, and copied into the instances the watch gave, by uid and pid.
async function refreshUsage() {
  try {
    const body = await (await api('/api/v1/instances')).json();
    for (const u of body.items || []) {
      const i = state.instances.get(u.name);
      if (!i || i.uid !== u.uid || i.pid !== u.pid) continue;
      i.cpuPercent = u.cpuPercent;
      i.memoryBytes = u.memoryBytes;
      i.cpuSeconds = u.cpuSeconds;
      i.listening = u.listening;
      i.message = u.message;
    }
    scheduleRender();
  } catch (e) {
    if (e instanceof Unauthorized) authFailed();
  }
}

// --- events -----------------------------------------------------------

function scheduleEvents() {
  if (eventsTimer) return;
  eventsTimer = setTimeout(() => { eventsTimer = null; refreshEvents(); }, 1000);
}

async function refreshEvents() {
  try {
    const body = await (await api('/api/v1/events?limit=' + EVENTS_LIMIT)).json();
    state.events = body.items || [];
    renderEvents();
  } catch (e) {
    if (e instanceof Unauthorized) authFailed();
  }
}

// --- rendering --------------------------------------------------------

const appRows = new Map();
const instanceRows = new Map();
const jobRows = new Map();
const cronJobRows = new Map();

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => { renderPending = false; renderApps(); renderJobs(); renderInstances(); });
}

function renderApps() {
  const apps = [...state.apps.values()].sort((x, y) => x.metadata.name.localeCompare(y.metadata.name));
  const items = apps.map((a) => ({
    key: a.metadata.name,
    sig: JSON.stringify([a.spec && a.spec.replicas, a.status]),
    build: () => appRow(a),
  }));
  syncRows($('apps').tBodies[0], appRows, items);
  $('apps-count').textContent = String(apps.length);
  $('apps-empty').hidden = apps.length > 0 || !ws;
}

// renderJobs shows the Jobs and CronJobs, each card only when the daemon
// has some (a daemon of apps alone shows the page it always did).
function renderJobs() {
  const byName = (x, y) => x.metadata.name.localeCompare(y.metadata.name);
  const jobs = [...state.jobs.values()].sort(byName);
  syncRows($('jobs').tBodies[0], jobRows, jobs.map((j) => ({
    key: j.metadata.name,
    sig: JSON.stringify([j.spec && j.spec.completions, j.status, age((j.status || {}).startTime)]),
    build: () => jobRow(j),
  })));
  $('jobs-count').textContent = String(jobs.length);
  $('jobs-card').hidden = jobs.length === 0;
  const cjs = [...state.cronJobs.values()].sort(byName);
  syncRows($('cronjobs').tBodies[0], cronJobRows, cjs.map((c) => ({
    key: c.metadata.name,
    sig: JSON.stringify([c.spec, c.status, Math.floor(Date.now() / 5000)]),
    build: () => cronJobRow(c),
  })));
  $('cronjobs-count').textContent = String(cjs.length);
  $('cronjobs-card').hidden = cjs.length === 0;
}

function renderInstances() {
  const insts = [...state.instances.values()].sort((x, y) =>
    x.app === y.app ? ordinal(x) - ordinal(y) : x.app.localeCompare(y.app));
  const sel = state.selected ? state.selected.name : '';
  const items = insts.map((i) => ({
    key: i.name,
    sig: JSON.stringify([i, i.name === sel, age(i.startedAt)]),
    build: () => instanceRow(i, i.name === sel),
  }));
  syncRows($('instances').tBodies[0], instanceRows, items);
  $('instances-count').textContent = String(insts.length);
}

function renderEvents() {
  $('events').tBodies[0].replaceChildren(...state.events.map(eventRow));
}

// --- logs -------------------------------------------------------------

let logAbort = null;

function stopLogs() {
  if (logAbort) { logAbort.abort(); logAbort = null; }
}

function appendLog(pre, text) {
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  let all = pre.textContent + text;
  if (all.length > LOG_MAX_CHARS) all = all.slice(all.length - LOG_MAX_CHARS);
  pre.textContent = all;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}

async function openLogs(app, name) {
  stopLogs();
  const ctl = new AbortController();
  logAbort = ctl;
  state.selected = { app, name };
  scheduleRender();
  const pre = $('log');
  pre.textContent = '';
  $('log-title').textContent = '— ' + name;
  const q = new URLSearchParams({ stream: $('log-stream').value, tail: String(LOG_TAIL) });
  if ($('log-follow').checked) q.set('follow', 'true');
  const path = '/api/v1/apps/' + encodeURIComponent(app) + '/instances/' + encodeURIComponent(name) + '/logs?' + q;
  try {
    const resp = await api(path, ctl.signal);
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      appendLog(pre, value);
    }
    if (!pre.textContent) pre.textContent = '(no output)';
  } catch (e) {
    if (ctl.signal.aborted) return;
    if (e instanceof Unauthorized) { authFailed(); return; }
    appendLog(pre, '\n[' + e.message + ']\n');
  } finally {
    if (logAbort === ctl) logAbort = null;
  }
}

function onInstanceClick(ev) {
  const tr = ev.target.closest('tr[data-instance]');
  if (!tr) return;
  if (ev.type === 'keydown' && ev.key !== 'Enter' && ev.key !== ' ') return;
  if (ev.type === 'keydown') ev.preventDefault();
  openLogs(tr.getAttribute('data-app'), tr.getAttribute('data-instance'));
}

function reopenLogs() {
  if (state.selected) openLogs(state.selected.app, state.selected.name);
}

// --- start ------------------------------------------------------------

document.addEventListener('DOMContentLoaded', () => {
  $('key-form').addEventListener('submit', onKeySubmit);
  $('forget-key').addEventListener('click', forgetKey);
  const tbody = $('instances').tBodies[0];
  tbody.addEventListener('click', onInstanceClick);
  tbody.addEventListener('keydown', onInstanceClick);
  $('log-stream').addEventListener('change', reopenLogs);
  $('log-follow').addEventListener('change', reopenLogs);
  // Ages move on without events.
  setInterval(() => { scheduleRender(); renderEvents(); }, 5000);
  connect();
});
