// pbxguard admin page: reads api/state, draws it with textContent only
// (never innerHTML: whatever a peer sent us stays text), unbans through
// api/unban with the CSRF token the state gave us.
'use strict';

let csrf = '';

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function fill(id, rows, build) {
  const tbody = document.querySelector('#' + id + ' tbody');
  tbody.replaceChildren();
  for (const r of rows || []) {
    const tr = document.createElement('tr');
    build(tr, r);
    tbody.appendChild(tr);
  }
  if (!rows || rows.length === 0) {
    const tr = document.createElement('tr');
    const td = cell(tr, 'none');
    td.colSpan = document.querySelectorAll('#' + id + ' th').length;
    tbody.appendChild(tr);
  }
}

function when(t) {
  return t ? new Date(t * 1000).toLocaleString() : '';
}

function chart(perMinute) {
  const svg = document.getElementById('chart');
  const ns = 'http://www.w3.org/2000/svg';
  svg.replaceChildren();
  const max = Math.max(1, ...perMinute);
  const w = 600 / perMinute.length;
  perMinute.forEach((v, i) => {
    const h = Math.round(130 * v / max);
    const r = document.createElementNS(ns, 'rect');
    r.setAttribute('class', 'bar');
    r.setAttribute('x', String(i * w + 1));
    r.setAttribute('y', String(140 - h));
    r.setAttribute('width', String(w - 2));
    r.setAttribute('height', String(h));
    const title = document.createElementNS(ns, 'title');
    title.textContent = (perMinute.length - 1 - i) + ' min ago: ' + v;
    r.appendChild(title);
    svg.appendChild(r);
  });
  const axis = document.createElementNS(ns, 'line');
  axis.setAttribute('class', 'axis');
  axis.setAttribute('x1', '0'); axis.setAttribute('x2', '600');
  axis.setAttribute('y1', '140'); axis.setAttribute('y2', '140');
  svg.appendChild(axis);
  for (const [x, label] of [[0, '-60 min'], [560, 'now']]) {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', String(x)); t.setAttribute('y', '155');
    t.textContent = label;
    svg.appendChild(t);
  }
  const t = document.createElementNS(ns, 'text');
  t.setAttribute('x', '4'); t.setAttribute('y', '12');
  t.textContent = 'max ' + max + '/min';
  svg.appendChild(t);
  svg.dataset.total = String(perMinute.reduce((a, b) => a + b, 0));
}

async function unban(address) {
  const out = document.getElementById('unban-result');
  const res = await fetch('api/unban', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'address=' + encodeURIComponent(address),
  });
  const body = await res.json().catch(() => ({}));
  out.textContent = res.ok ? 'Unbanned ' + address : 'Unban failed: ' + (body.error || res.status);
  await refresh();
}

function render(s) {
  csrf = s.csrf;
  document.getElementById('whoami').textContent = 'signed in as ' + s.user;
  chart(s.failures.per_minute);
  fill('services', s.failures.by_service, (tr, r) => {
    cell(tr, r.service); cell(tr, r.ok, 'num'); cell(tr, r.failed, 'num');
  });
  fill('bans', s.bans, (tr, b) => {
    cell(tr, b.address); cell(tr, when(b.until)); cell(tr, b.reason);
    cell(tr, b.count, 'num'); cell(tr, b.hits, 'num');
    const td = cell(tr, '');
    const btn = document.createElement('button');
    btn.textContent = 'Unban';
    btn.dataset.address = b.address;
    btn.addEventListener('click', () => unban(b.address));
    td.appendChild(btn);
  });
  fill('registrations', s.registrations, (tr, r) => {
    cell(tr, r.protocol); cell(tr, r.aor); cell(tr, r.contact); cell(tr, r.source);
    cell(tr, r.expires + ' s', 'num');
  });
  fill('listeners', (s.listeners || []).concat(s.upstreams || []), (tr, l) => {
    cell(tr, l.service); cell(tr, l.address); cell(tr, l.kind);
    cell(tr, l.state, l.state === 'up' || l.state === 'listening' ? 'ok' : 'bad');
  });
  fill('certificates', s.certificates, (tr, c) => {
    cell(tr, c.service); cell(tr, c.file); cell(tr, when(c.not_after));
    cell(tr, c.days_left, c.days_left < 30 ? 'bad num' : 'num');
  });
  document.getElementById('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  document.body.dataset.loaded = '1';
}

async function refresh() {
  try {
    const res = await fetch('api/state', { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) throw new Error('HTTP ' + res.status);
    render(await res.json());
  } catch (e) {
    document.getElementById('status').textContent = 'cannot read the state: ' + e.message;
  }
}

refresh();
setInterval(refresh, 5000);
