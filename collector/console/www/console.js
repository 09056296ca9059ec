// The staff console's page: sign-in, station states, silent stations, validation decisions and
// the audit log, all from /console/api/ (same origin; the session cookie is HttpOnly, every
// change carries the X-CSRF-Token the sign-in answer gave).
'use strict';
const API = '/console/api/';
let csrf = '';
let timer = null;

const $ = (id) => document.getElementById(id);
const fmt = (ms) => (ms ? new Date(ms).toLocaleString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh' })
  : '—');

function say(text, kind) {
  $('msg').textContent = text;
  $('msg').className = kind || 'error';
}

async function call(method, path, body) {
  const opt = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) opt.headers['X-CSRF-Token'] = csrf;
  const r = await fetch(API + path, opt);
  let data = {};
  try { data = await r.json(); } catch (e) { data = {}; }
  if (r.status === 401 && path !== 'login') signedOut(data.error || 'You are not signed in.');
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}

function signedOut(why) {
  csrf = '';
  if (timer) clearInterval(timer);
  timer = null;
  $('app').hidden = true;
  $('who').hidden = true;
  $('login-view').hidden = false;
  if (why) say(why);
}

function signedIn(me) {
  csrf = me.csrf;
  $('who-name').textContent = me.user;
  $('who-role').textContent = me.role;
  $('who').hidden = false;
  $('login-view').hidden = true;
  $('app').hidden = false;
  document.body.dataset.role = me.role;
  refresh();
  if (!timer) timer = setInterval(refresh, 2000);
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text == null ? '' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function fillSelect(sel, stations) {
  const keep = sel.value;
  if (sel.options.length === stations.length) return;
  sel.textContent = '';
  for (const s of stations) {
    const o = document.createElement('option');
    o.value = s.id;
    o.textContent = `${s.id} — ${s.name}`;
    sel.appendChild(o);
  }
  if (keep) sel.value = keep;
}

async function refresh() {
  try {
    const d = await call('GET', 'stations');
    const tb = $('stations').querySelector('tbody');
    tb.textContent = '';
    for (const s of d.stations) {
      const tr = document.createElement('tr');
      tr.dataset.id = s.id;
      tr.dataset.state = s.state;
      cell(tr, s.id);
      cell(tr, s.name);
      cell(tr, s.kind);
      cell(tr, s.district);
      cell(tr, s.state, `state st-${s.state}`);
      cell(tr, fmt(s.since));
      cell(tr, fmt(s.last_seen));
      const p = cell(tr, '');
      for (const x of s.params) {
        const span = document.createElement('span');
        span.className = `lv lv-${x.level}`;
        const mean = x.mean == null ? '—' : Number(x.mean).toPrecision(3);
        span.textContent = `${x.param} ${x.avg_h}h ${mean} (${x.bound} ${x.limit}): ${x.level}`;
        p.appendChild(span);
      }
      cell(tr, s.staff_by ? `${s.staff_by}: ${s.staff_why}` : '');
      tb.appendChild(tr);
    }
    for (const id of ['ss-id', 'iv-id', 'ap-id', 'cp-id']) fillSelect($(id), d.stations);
    fillSelect($('aq-id'), d.stations.filter((s) => s.kind === 'air'));
    const sl = $('silent').querySelector('tbody');
    sl.textContent = '';
    for (const s of d.stations.filter((x) => x.state === 'silent')) {
      const tr = document.createElement('tr');
      tr.dataset.id = s.id;
      cell(tr, s.id);
      cell(tr, s.name);
      cell(tr, fmt(s.last_seen));
      cell(tr, fmt(s.since));
      sl.appendChild(tr);
    }
    if (current === 'audit' || current === 'decisions') loadTab(current);
  } catch (e) { /* a refusal was already shown */ }
}

function rows(influx) {
  const out = [];
  for (const r of (influx.results || [])) {
    for (const s of (r.series || [])) {
      for (const v of s.values) {
        const o = {};
        s.columns.forEach((c, i) => { o[c] = v[i]; });
        out.push(o);
      }
    }
  }
  return out;
}

async function loadTable(path, table, cols) {
  const d = await call('GET', path);
  const tb = $(table).querySelector('tbody');
  tb.textContent = '';
  for (const o of rows(d)) {
    const tr = document.createElement('tr');
    for (const c of cols) cell(tr, ['time', 'from', 'to'].includes(c) ? (o[c] ? fmt(o[c]) : '') : o[c]);
    tb.appendChild(tr);
  }
}

let current = 'stations';

function show(tab) {
  current = tab;
  for (const b of document.querySelectorAll('nav .tab')) {
    b.classList.toggle('active', b.dataset.tab === tab);
  }
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `tab-${tab}`;
  loadTab(tab);
}

// The store's tables (audit, decisions) are read again with every refresh while shown.
function loadTab(tab) {
  if (tab === 'audit') {
    loadTable('audit', 'audit', ['time', 'user', 'role', 'action', 'target', 'why', 'detail'])
      .catch((e) => say(e.message));
  }
  if (tab === 'alerts') loadAlerts().catch((e) => say(e.message));
  if (tab === 'parking') loadParking().catch((e) => say(e.message));
  if (tab === 'decisions') loadDecisions().catch((e) => say(e.message));
}

// The decision the withdraw form names (POST revoke: station, action, param and time).
let withdrawing = null;

function askWithdraw(o) {
  withdrawing = { id: o.station, action: o.action, param: o.param || '', time: o.time };
  $('rv-what').textContent = o.action === 'invalid'
    ? `${o.station} ${o.param}: ${fmt(o.from)} – ${fmt(o.to)} (${o.reason}), ${o.by}: ${o.why}`
    : `${o.station} ${o.day} approved, ${o.by}: ${o.why}`;
  $('rv-why').value = '';
  $('revoke').hidden = false;
  $('rv-why').focus();
}

// The decisions: a withdrawn one struck through with who withdrew it, why and when; an active
// one with its Withdraw control.
async function loadDecisions() {
  const d = await call('GET', 'decisions');
  const tb = $('decisions').querySelector('tbody');
  tb.textContent = '';
  for (const o of rows(d)) {
    const tr = document.createElement('tr');
    tr.dataset.time = o.time;
    tr.dataset.revoked = o.revoked ? 'yes' : 'no';
    if (o.revoked) tr.className = 'revoked';
    for (const c of ['time', 'action', 'station', 'param', 'reason', 'from', 'to', 'day', 'by',
      'why']) cell(tr, ['time', 'from', 'to'].includes(c) ? (o[c] ? fmt(o[c]) : '') : o[c]);
    cell(tr, o.revoked ? `${o.revoked_by}: ${o.revoked_why} (${fmt(o.revoked_at)})` : '',
      'withdrawn');
    const td = cell(tr, '');
    if (!o.revoked) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'revoke-go';
      b.textContent = 'Gỡ bỏ / Withdraw';
      b.addEventListener('click', () => askWithdraw(o));
      td.appendChild(b);
    }
    tb.appendChild(tr);
  }
}

const ms = (v) => (v ? String(new Date(v).getTime()) : '');

async function loadAlerts() {
  const q = new URLSearchParams({ type: $('af-type').value, district: $('af-district').value,
    from: ms($('af-from').value), to: ms($('af-to').value) });
  const d = await call('GET', `alerts?${q}`);
  const res = d.results || [];
  const acks = rows({ results: [res[1] || {}] });
  const tb = $('alerts').querySelector('tbody');
  tb.textContent = '';
  for (const a of rows({ results: [res[0] || {}] })) {
    const tr = document.createElement('tr');
    tr.dataset.device = a.device;
    tr.dataset.type = a.type;
    const ack = acks.find((k) => k.device === a.device && k.type === a.type
      && k.alert_time === a.time);
    tr.dataset.acked = ack ? 'yes' : 'no';
    for (const c of ['time', 'type', 'device', 'district', 'level', 'label', 'value']) {
      cell(tr, c === 'time' ? fmt(a.time) : a[c]);
    }
    cell(tr, ack ? `${ack.by}: ${ack.note}` : '');
    const td = cell(tr, '');
    if (!ack) {
      const note = document.createElement('input');
      note.className = 'ack-note';
      note.placeholder = 'note';
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'ack-go';
      b.textContent = 'Acknowledge';
      b.addEventListener('click', async () => {
        try {
          await call('POST', 'ack', { device: a.device, type: a.type, time: a.time,
            note: note.value });
          say(`Acknowledged the ${a.type} alert of ${a.device}.`, 'info');
          // The store has it within a flush; until the next reading of the table, show it here.
          tr.dataset.acked = 'yes';
          tr.children[7].textContent = `${$('who-name').textContent}: ${note.value}`;
          td.textContent = '';
        } catch (e) { say(e.message); }
      });
      td.appendChild(note);
      td.appendChild(b);
    }
    // An alert raised over data staff later marked invalid is kept, and marked (never deleted).
    tr.dataset.overInvalid = a.over_invalid ? 'yes' : 'no';
    if (a.over_invalid) tr.classList.add('over-invalid');
    cell(tr, a.over_invalid ? 'Cảnh báo dựa trên số liệu sau đó bị đánh dấu không hợp lệ. '
      + 'Raised over data later marked invalid.' : '', a.over_invalid ? 'mark-invalid' : '');
    tb.appendChild(tr);
  }
}

async function loadMonth() {
  const q = new URLSearchParams({ id: $('cp-id').value, month: $('mo-month').value });
  $('mo-csv').href = `${API}completeness?${q}&format=csv`;
  const d = await call('GET', `completeness?${q}`);
  const tb = $('month-table').querySelector('tbody');
  tb.textContent = '';
  for (const x of d.days) {
    const tr = document.createElement('tr');
    for (const v of [x.day, x.expected, x.received, x.accepted, x.completeness_pct, x.valid_hours,
      x.valid ? 'yes' : 'no']) cell(tr, v);
    tb.appendChild(tr);
  }
}

async function loadCompleteness() {
  const q = new URLSearchParams({ id: $('cp-id').value, day: $('cp-day').value });
  $('cp-csv').href = `${API}completeness?${q}&format=csv`;
  const d = await call('GET', `completeness?${q}`);
  const tb = $('completeness').querySelector('tbody');
  tb.textContent = '';
  for (const h of d.hours) {
    const tr = document.createElement('tr');
    cell(tr, `${String(h.hour).padStart(2, '0')}:00`);
    cell(tr, h.expected);
    cell(tr, h.received);
    cell(tr, h.accepted);
    cell(tr, h.completeness_pct);
    cell(tr, h.valid ? 'yes' : 'no');
    tb.appendChild(tr);
  }
  const t = d.day_total;
  $('cp-summary').textContent = `${d.station} ${d.day}: ${t.accepted} of ${t.expected} expected `
    + `readings accepted (${t.received} received); ${t.valid_hours} valid hours; day `
    + `${t.valid ? 'valid' : 'not valid'}.`;
  const dc = $('disconnects').querySelector('tbody');
  dc.textContent = '';
  for (const g of d.disconnects) {
    const tr = document.createElement('tr');
    cell(tr, fmt(g.from));
    cell(tr, fmt(g.to));
    dc.appendChild(tr);
  }
}

async function loadAqi() {
  const q = new URLSearchParams({ id: $('aq-id').value, day: $('aq-day').value });
  const d = await call('GET', `aqi?${q}`);
  const tb = $('aqi-table').querySelector('tbody');
  tb.textContent = '';
  for (const h of d.hours) {
    if (h.aqi_raw == null && h.aqi_validated == null) continue;
    const tr = document.createElement('tr');
    tr.dataset.hour = h.hour;
    cell(tr, `${String(h.hour).padStart(2, '0')}:00`);
    cell(tr, h.aqi_raw ?? '—');
    cell(tr, h.aqi_validated ?? '—');
    tb.appendChild(tr);
  }
}

const hourOf = (ms) => new Date(ms + 7 * 3600000).getUTCHours(); // Asia/Ho_Chi_Minh

async function loadParking() {
  const d = await call('GET', `parking?day=${$('pk-day').value}`);
  const res = d.results || [];
  const series = (i) => (res[i] && res[i].series) || [];
  const busy = {};
  for (const s of series(2)) {
    const by = Array.from({ length: 24 }, () => []);
    for (const [t, r] of s.values) if (r != null) by[hourOf(t)].push(r);
    busy[s.tags.lot] = by.map((v, h) => [h, v.length ? v.reduce((a, b) => a + b) / v.length : -1])
      .filter((x) => x[1] >= 0).sort((a, b) => b[1] - a[1]).slice(0, 3)
      .map(([h, r]) => `${String(h).padStart(2, '0')}:00 (${Math.round(r * 100)}%)`).join(', ');
  }
  const now = $('park-now').querySelector('tbody');
  now.textContent = '';
  for (const s of series(0)) {
    const [, free, capacity, occupied] = s.values[0];
    const tr = document.createElement('tr');
    tr.dataset.lot = s.tags.lot;
    for (const v of [s.tags.lot, free, capacity, occupied, busy[s.tags.lot] || '']) cell(tr, v);
    now.appendChild(tr);
  }
  const head = $('park-day').querySelector('thead tr');
  head.textContent = '';
  cell(head, 'Lot');
  for (let h = 0; h < 24; h++) cell(head, String(h).padStart(2, '0'));
  const day = $('park-day').querySelector('tbody');
  day.textContent = '';
  for (const s of series(1)) {
    const tr = document.createElement('tr');
    const row = Array(24).fill('');
    for (const [t, v] of s.values) row[hourOf(t)] = v == null ? '' : Math.round(v);
    cell(tr, s.tags.lot);
    for (const v of row) cell(tr, v);
    day.appendChild(tr);
  }
}

function submit(form, fn) {
  $(form).addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await fn();
    } catch (e) {
      say(e.message);
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  submit('login', async () => {
    const me = await call('POST', 'login', { user: $('user').value, password: $('password').value });
    $('password').value = '';
    say(`Signed in as ${me.user} (${me.role}).`, 'info');
    signedIn(me);
  });
  $('logout').addEventListener('click', async () => {
    try { await call('POST', 'logout', {}); } catch (e) { /* signed out anyway */ }
    signedOut('');
    say('Signed out.', 'info');
  });
  for (const b of document.querySelectorAll('nav .tab')) {
    b.addEventListener('click', () => show(b.dataset.tab));
  }
  submit('set-state', async () => {
    await call('POST', 'station-state',
      { id: $('ss-id').value, state: $('ss-state').value, why: $('ss-why').value });
    say(`${$('ss-id').value} is now ${$('ss-state').value}.`, 'info');
    refresh();
  });
  submit('invalid', async () => {
    const from = new Date($('iv-from').value).getTime();
    const to = new Date($('iv-to').value).getTime();
    await call('POST', 'invalid', { id: $('iv-id').value, param: $('iv-param').value, from, to,
      reason: $('iv-reason').value, why: $('iv-why').value });
    say(`Marked ${$('iv-param').value} of ${$('iv-id').value} invalid.`, 'info');
    show('decisions');
  });
  submit('approve', async () => {
    await call('POST', 'approve', { id: $('ap-id').value, day: $('ap-day').value,
      why: $('ap-why').value });
    say(`Approved ${$('ap-day').value} of ${$('ap-id').value}.`, 'info');
    show('decisions');
  });
  submit('revoke', async () => {
    await call('POST', 'revoke', { ...withdrawing, why: $('rv-why').value });
    say(`Withdrew the ${withdrawing.action} decision of ${withdrawing.id}.`, 'info');
    $('revoke').hidden = true;
    withdrawing = null;
    loadDecisions().catch((e) => say(e.message));
  });
  $('rv-cancel').addEventListener('click', () => {
    $('revoke').hidden = true;
    withdrawing = null;
  });
  const exportLink = () => {
    $('ap-csv').href = `${API}export?${new URLSearchParams({ id: $('ap-id').value,
      day: $('ap-day').value })}`;
  };
  $('ap-id').addEventListener('change', exportLink);
  $('ap-day').addEventListener('change', exportLink);
  submit('alert-filter', loadAlerts);
  submit('comp', loadCompleteness);
  submit('month', loadMonth);
  $('mo-print').addEventListener('click', () => window.print());
  submit('aqi', loadAqi);
  submit('park', loadParking);
  const today = new Date(Date.now() + 7 * 3600000).toISOString().slice(0, 10);
  $('cp-day').value = today;
  $('mo-month').value = today.slice(0, 7);
  $('aq-day').value = today;
  $('pk-day').value = today;
  show('stations');
  call('GET', 'me').then(signedIn).catch(() => signedOut(''));
});
