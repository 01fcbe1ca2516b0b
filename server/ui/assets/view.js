// The page's rows, built from the daemon's objects. Every value goes in as
// text: el makes text nodes of strings and sets properties, never HTML.

// el builds an element; children are nodes or strings (made text nodes).
export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'title') e.title = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

export function age(t) {
  if (!t) return '';
  const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
  if (s < 60) return Math.floor(s) + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm';
  if (s < 86400) return Math.floor(s / 3600) + 'h' + (Math.floor(s / 60) % 60 ? Math.floor(s / 60) % 60 + 'm' : '');
  return Math.floor(s / 86400) + 'd';
}

function bytes(n) {
  if (!n) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

const short = (rev) => (rev || '').slice(0, 10);

// syncRows makes tbody show items in order, building a row only when its
// item is new or changed (sig), and leaving the others in place: a row
// under the mouse or keyboard focus is not replaced for nothing.
export function syncRows(tbody, cache, items) {
  const next = new Map();
  for (const it of items) {
    let c = cache.get(it.key);
    if (!c || c.sig !== it.sig) c = { tr: it.build(), sig: it.sig };
    next.set(it.key, c);
  }
  const keep = new Set([...next.values()].map((c) => c.tr));
  for (const tr of [...tbody.children]) if (!keep.has(tr)) tr.remove();
  items.forEach((it, idx) => {
    const tr = next.get(it.key).tr;
    if (tbody.children[idx] !== tr) tbody.insertBefore(tr, tbody.children[idx] || null);
  });
  cache.clear();
  for (const [k, c] of next) cache.set(k, c);
}

function condChip(c) {
  const cls = c.status === 'True' ? 'ok' : c.status === 'False' ? 'bad' : 'unknown';
  const text = c.status === 'True' ? c.type : c.type + ': ' + (c.reason || c.status);
  return el('span', { class: 'chip chip-' + cls, title: [c.reason, c.message].filter(Boolean).join(' — ') }, text);
}

function rollout(a) {
  const st = a.status || {};
  const want = (a.spec && a.spec.replicas !== undefined) ? a.spec.replicas : st.replicas || 0;
  const updated = st.updatedReplicas || 0;
  const ready = st.readyReplicas || 0;
  const done = updated >= want && ready >= want && (st.replicas || 0) === want;
  const pct = want > 0 ? Math.min(100, Math.round((updated / want) * 100)) : 100;
  const fill = el('span', { class: 'fill' });
  fill.style.width = pct + '%'; // CSSOM, which the CSP allows (a style attribute it would not)
  const bar = el('span', { class: 'bar' + (done ? ' bar-done' : '') }, fill);
  const label = done ? 'complete' : 'updated ' + updated + '/' + want;
  return el('div', { class: 'rollout' }, bar, el('span', { class: 'small' }, label));
}

export function appRow(a) {
  const st = a.status || {};
  const want = a.spec && a.spec.replicas !== undefined ? a.spec.replicas : st.replicas;
  const conds = st.conditions || [];
  const problems = conds.filter((c) => c.status === 'False' && c.message);
  const readyCls = (st.readyReplicas || 0) >= want ? 'ok-text' : 'warn-text';
  return el('tr', { 'data-app': a.metadata.name },
    el('td', { class: 'name' }, a.metadata.name),
    el('td', { class: readyCls }, (st.readyReplicas || 0) + '/' + want),
    el('td', null, rollout(a)),
    el('td', { class: 'mono' }, short(st.revision)),
    el('td', null, el('div', { class: 'chips' }, ...conds.map(condChip)),
      ...problems.map((c) => el('div', { class: 'problem' }, c.message))),
    el('td', { class: 'muted' }, st.source || ''));
}

function phaseClass(i) {
  if (i.phase === 'Running') return i.ready ? 'phase-ok' : 'phase-warn';
  if (i.phase === 'Succeeded') return 'phase-ok'; // a job's process that completed
  if (i.phase === 'Failed' || i.reason === 'CrashLoopBackOff') return 'phase-bad';
  return 'phase-warn';
}

export function instanceRow(i, selected) {
  const ports = Object.entries(i.ports || {}).map(([n, p]) => n + ':' + p).join(' ');
  const phase = i.phase + (i.reason ? ' (' + i.reason + ')' : '');
  let msg = i.message || '';
  if (!msg && i.lastExit) msg = 'last exit ' + (i.lastExit.signal || 'code ' + i.lastExit.code) + ' ' + (i.lastExit.reason || '');
  return el('tr', { class: 'clickable' + (selected ? ' selected' : ''), 'data-instance': i.name, 'data-app': i.app, tabIndex: 0 },
    el('td', { class: 'name' }, i.name),
    el('td', null, el('span', { class: 'phase ' + phaseClass(i) }, phase)),
    el('td', { class: i.ready ? 'ok-text' : 'muted' }, i.ready ? 'yes' : 'no'),
    el('td', { class: 'mono' }, i.pid ? String(i.pid) : '—'),
    el('td', { class: 'mono' }, ports || '—'),
    el('td', { class: 'num' + (i.restarts ? ' warn-text' : '') }, String(i.restarts || 0)),
    el('td', { class: 'num' }, i.pid ? (i.cpuPercent || 0).toFixed(1) + '%' : '—'),
    el('td', { class: 'num' }, bytes(i.memoryBytes)),
    el('td', { class: 'mono' }, short(i.revision)),
    el('td', null, i.startedAt ? age(i.startedAt) : ''),
    el('td', { class: 'message', title: msg }, msg));
}

export function ordinal(i) {
  const n = Number(i.name.slice(i.name.lastIndexOf('-') + 1));
  return Number.isFinite(n) ? n : 0;
}

export function eventRow(e) {
  return el('tr', { class: e.type === 'Warning' ? 'warning' : '' },
    el('td', { class: 'nowrap', title: e.time }, age(e.time)),
    el('td', { class: e.type === 'Warning' ? 'warn-text' : 'muted' }, e.type),
    el('td', null, e.reason),
    el('td', { class: 'name' }, e.object),
    el('td', { class: 'message' }, e.message));
}

// --- Jobs and CronJobs -------------------------------------------------
// The pure parts (no DOM) are exported for the tests: jobState,
// completions, lastRun, until.

// jobState is a Job's status: Complete, Failed (REASON), Running once its
// current run started, else Pending.
export function jobState(j) {
  const st = j.status || {};
  for (const c of st.conditions || []) {
    if (c.status !== 'True') continue;
    if (c.type === 'Complete') return 'Complete';
    if (c.type === 'Failed') return c.reason ? 'Failed (' + c.reason + ')' : 'Failed';
  }
  const cur = (st.runs || []).find((r) => r.run === st.run);
  if (cur && cur.result) return runState(cur);
  return st.startTime || st.active ? 'Running' : 'Pending';
}

export function runState(r) {
  if (r.result === 'Complete') return 'Complete';
  if (r.result === 'Failed') return r.reason ? 'Failed (' + r.reason + ')' : 'Failed';
  return 'Running';
}

// completions is succeeded/completions of the current run: "1/3".
export function completions(j) {
  const st = j.status || {};
  const want = j.spec && j.spec.completions !== undefined ? j.spec.completions : 1;
  return (st.succeeded || 0) + '/' + want;
}

// lastRun is the newest run kept, as "NAME STATE, AGE ago", or "".
export function lastRun(runs) {
  const r = (runs || [])[0];
  if (!r) return '';
  const at = r.finishedAt || r.completionTime || r.startTime || r.scheduledTime;
  return r.name + ' ' + runState(r) + (at ? ', ' + age(at) + ' ago' : '');
}

// until is "in 5m" for a time to come, "now" once passed, "" for none.
export function until(t) {
  if (!t) return '';
  const s = (Date.parse(t) - Date.now()) / 1000;
  if (s <= 0) return 'now';
  return 'in ' + age(new Date(Date.now() - s * 1000).toISOString());
}

function stateClass(s) {
  if (s === 'Complete') return 'phase-ok';
  if (s.startsWith('Failed')) return 'phase-bad';
  return 'phase-warn';
}

export function jobRow(j) {
  const st = j.status || {};
  const s = jobState(j);
  const end = st.completionTime || ((st.runs || []).find((r) => r.run === st.run) || {}).finishedAt;
  const took = st.startTime ? span(st.startTime, end) : '';
  return el('tr', { 'data-job': j.metadata.name },
    el('td', { class: 'name' }, j.metadata.name),
    el('td', { class: 'num' }, completions(j)),
    el('td', null, el('span', { class: 'phase ' + stateClass(s) }, s)),
    el('td', null, took),
    el('td', null, lastRun(st.runs)),
    el('td', { class: 'muted' }, st.source || ''));
}

export function cronJobRow(c) {
  const st = c.status || {};
  const spec = c.spec || {};
  const zone = spec.timeZone ? ' (' + spec.timeZone + ')' : '';
  return el('tr', { 'data-cronjob': c.metadata.name },
    el('td', { class: 'name' }, c.metadata.name),
    el('td', { class: 'mono' }, (spec.schedule || '') + zone),
    el('td', { class: spec.suspend ? 'warn-text' : 'muted' }, spec.suspend ? 'suspended' : 'no'),
    el('td', { class: 'num' }, String((st.active || []).length)),
    el('td', null, st.lastScheduleTime ? age(st.lastScheduleTime) + ' ago' : '—'),
    el('td', null, until(st.nextScheduleTime) || '—'),
    el('td', null, lastRun(st.runs)),
    el('td', { class: 'muted' }, st.source || ''));
}

// span is the time from start to end (now when end is not set).
function span(start, end) {
  const ms = (end ? Date.parse(end) : Date.now()) - Date.parse(start);
  return age(new Date(Date.now() - Math.max(0, ms)).toISOString());
}
