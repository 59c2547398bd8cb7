// Strata admin page. Plain JavaScript, no dependencies, served under a CSP without inline
// script. Every string that comes from traffic or configuration reaches the DOM through
// textContent (the el() helper), never through innerHTML.
'use strict';

(function () {
  const TOKEN_KEY = 'strata.adminToken';  // sessionStorage only: never a cookie, no CSRF vector.
  const REFRESH_MS = 1000;
  const SLOW_EVERY = 3;  // Backends, purges and top URLs: every third refresh.

  const $ = (id) => document.getElementById(id);
  let timer = null;
  let tick = 0;
  let busy = false;

  // ---- DOM helpers -------------------------------------------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === 'class') node.className = value;
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function setText(id, text) { $(id).textContent = text; }
  function fillBody(table, rows) { $(table).querySelector('tbody').replaceChildren(...rows); }

  // ---- Formatting ---------------------------------------------------------------------------
  function fmtNum(n) {
    if (n === null || n === undefined || Number.isNaN(n)) return '–';
    return Number(n).toLocaleString('en-US', { maximumFractionDigits: n < 10 ? 2 : 0 });
  }
  function fmtBytes(n) {
    if (n === null || n === undefined) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(Math.round(n)) : n.toFixed(n < 10 ? 2 : 1)) + ' ' + units[i];
  }
  function fmtPct(r) { return r === null || r === undefined ? '–' : (r * 100).toFixed(1) + '%'; }
  function fmtDuration(s) {
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
  }

  // ---- API ----------------------------------------------------------------------------------
  class AuthError extends Error {}

  async function api(path, options = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = { Authorization: 'Bearer ' + token };
    if (options.body) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method: options.method || 'GET', headers, body: options.body,
      credentials: 'omit', cache: 'no-store',
    });
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (response.status === 401 || response.status === 403) {
      throw new AuthError((body && body.error) || `HTTP ${response.status}`);
    }
    return { status: response.status, body };
  }

  // ---- Sign in and out ----------------------------------------------------------------------
  function clearData() {
    for (const id of ['backends-table', 'purges-table', 'top-requests', 'top-bytes']) fillBody(id, []);
    for (const node of document.querySelectorAll('.card .value, .card .sub span')) node.textContent = '–';
    for (const svg of document.querySelectorAll('.chart svg')) svg.replaceChildren();
    setText('config-json', '');
    setText('node-name', '');
    setText('uptime', '');
  }

  function showLogin(message) {
    if (timer) clearInterval(timer);
    timer = null;
    sessionStorage.removeItem(TOKEN_KEY);
    clearData();
    $('dashboard').hidden = true;
    $('logout').hidden = true;
    $('live').hidden = true;
    $('login').hidden = false;
    setText('login-error', message || '');
  }

  async function signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    try {
      const stats = await api('/api/stats');
      if (stats.status !== 200) throw new Error(`HTTP ${stats.status}`);
    } catch (e) {
      showLogin(e instanceof AuthError ? `Sign-in failed: ${e.message}.` : `Sign-in failed: ${e.message}`);
      return;
    }
    $('login').hidden = true;
    setText('login-error', '');
    $('dashboard').hidden = false;
    $('logout').hidden = false;
    tick = 0;
    await refresh();
    loadConfig();
    timer = setInterval(refresh, REFRESH_MS);
  }

  // ---- Overview and charts ------------------------------------------------------------------
  function renderStats(s) {
    setText('node-name', s.node);
    setText('uptime', 'up ' + fmtDuration(s.uptime_seconds));
    setText('stat-requests', fmtNum(s.requests));
    setText('stat-hit-ratio-total', fmtPct(s.hit_ratio));
    setText('stat-bytes', fmtBytes(s.bytes_to_clients));
    setText('stat-origin-fetches', fmtNum(s.origin_fetches));
    setText('stat-origin-errors', fmtNum(s.origin_errors));
    setText('stat-coalesced', fmtNum(s.coalesced));
    setText('stat-fills', fmtNum(s.fills_in_flight));
    setText('stat-in-flight', fmtNum(s.in_flight));
    setText('stat-stale', fmtNum(s.stale_served));
    for (const tier of ['memory', 'disk']) {
      const t = s[tier];
      if (!t) continue;
      setText(`stat-${tier}`, `${fmtBytes(t.bytes)} / ${fmtBytes(t.capacity_bytes)}`);
      setText(`stat-${tier}-entries`, fmtNum(t.entries));
      const pct = t.capacity_bytes ? Math.min(100, 100 * t.bytes / t.capacity_bytes) : 0;
      $(`bar-${tier}`).style.width = pct.toFixed(1) + '%';  // CSSOM, allowed by the CSP.
    }
  }

  function polyline(points, max, cls) {
    const n = points.length;
    const coords = points.map((v, i) => {
      const x = n === 1 ? 300 : (300 * i) / (n - 1);
      const y = 78 - (max > 0 ? (76 * (v || 0)) / max : 0);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    line.setAttribute('points', coords.join(' '));
    if (cls) line.setAttribute('class', cls);
    return line;
  }

  function chart(id, series, fixedMax) {
    const all = series.flatMap((s) => s.values);
    const max = fixedMax || Math.max(1e-9, ...all.map((v) => v || 0)) * 1.1;
    $(id).replaceChildren(...series.filter((s) => s.values.length).map((s) => polyline(s.values, max, s.cls)));
  }

  function renderHistory(h) {
    const points = h.points.slice(-300);  // Five minutes.
    const last = points[points.length - 1];
    const pick = (key) => points.map((p) => p[key]);
    chart('chart-rps', [{ values: pick('requests_per_s') }]);
    chart('chart-hit', [{ values: pick('hit_ratio') }], 1);
    chart('chart-bps', [{ values: pick('bytes_per_s') }]);
    chart('chart-origin', [{ values: pick('origin_fetches_per_s') },
      { values: pick('origin_errors_per_s'), cls: 'errors' }]);
    if (!last) return;
    setText('stat-rps', fmtNum(last.requests_per_s));
    setText('stat-hit-ratio', fmtPct(last.hit_ratio));
    setText('stat-bps', fmtBytes(last.bytes_per_s) + '/s');
    setText('chart-rps-now', fmtNum(last.requests_per_s));
    setText('chart-hit-now', fmtPct(last.hit_ratio));
    setText('chart-bps-now', fmtBytes(last.bytes_per_s) + '/s');
    setText('chart-origin-now', `${fmtNum(last.origin_fetches_per_s)} / ${fmtNum(last.origin_errors_per_s)}`);
  }

  // ---- Backends (GET /api/backends, POST /api/backends/POOL/BACKEND/drain|enable) ----------
  function renderBackends(result) {
    const table = $('backends-table');
    if (result.status !== 200 || !result.body || !Array.isArray(result.body.pools)) {
      table.hidden = true;
      fillBody('backends-table', []);
      $('backends-empty').hidden = false;
      setText('backends-empty', result.status === 404
        ? 'No backend data: this node does not report backends.'
        : `No backend data (HTTP ${result.status}).`);
      return;
    }
    $('backends-empty').hidden = true;
    table.hidden = false;
    const rows = [];
    for (const pool of result.body.pools) {
      for (const b of pool.backends || []) {
        const draining = b.state === 'draining';
        const action = draining ? 'enable' : 'drain';
        rows.push(el('tr', { dataset: { pool: pool.name, backend: b.name } },
          el('td', {}, pool.name, el('div', { class: 'muted' }, `${pool.policy || ''} · ${fmtNum(pool.healthy)} healthy`)),
          el('td', {}, b.name),
          el('td', { class: 'url' }, b.url),
          el('td', { class: 'state state-' + String(b.state).replace(/[^a-z]/g, '') }, b.state),
          el('td', { class: b.healthy ? 'state-up' : 'state-down' }, b.healthy ? 'healthy' : 'unhealthy'),
          el('td', { class: 'num' }, fmtNum(b.weight)),
          el('td', { class: 'num' }, fmtNum(b.in_flight)),
          el('td', { class: 'num' }, fmtNum(b.requests)),
          el('td', { class: 'num' }, fmtNum(b.errors)),
          el('td', { class: 'num' }, b.latency_ms === undefined ? '–' : `${Number(b.latency_ms).toFixed(1)} ms`),
          el('td', {}, el('button', {
            type: 'button', class: 'backend-action', dataset: { action },
            onclick: () => backendAction(pool.name, b.name, action),
          }, draining ? 'Enable' : 'Drain'))));
      }
    }
    fillBody('backends-table', rows);
  }

  async function loadBackends() {
    renderBackends(await api('/api/backends'));
  }

  async function backendAction(pool, backend, action) {
    const path = `/api/backends/${encodeURIComponent(pool)}/${encodeURIComponent(backend)}/${action}`;
    const message = $('backends-message');
    try {
      const r = await api(path, { method: 'POST' });
      if (r.status === 200) {
        message.className = 'note ok';
        message.textContent = `${pool}/${backend}: ${r.body && r.body.state ? r.body.state : action}`;
      } else {
        message.className = 'note bad';
        message.textContent = `${pool}/${backend}: ${(r.body && r.body.error) || 'HTTP ' + r.status}`;
      }
      await loadBackends();
    } catch (e) {
      handleError(e);
    }
  }

  // ---- Purge --------------------------------------------------------------------------------
  async function submitPurge(event) {
    event.preventDefault();
    const kind = $('purge-kind').value;
    const targets = $('purge-targets').value.split('\n').map((s) => s.trim()).filter(Boolean);
    const request = { soft: $('purge-soft').checked };
    if (kind === 'all') request.all = true;
    else request[kind] = targets;
    const result = $('purge-result');
    try {
      const r = await api('/api/purge', { method: 'POST', body: JSON.stringify(request) });
      if (r.status === 200) {
        result.className = 'note ok';
        result.textContent = `Purged ${r.body.purged} (id ${r.body.id})`;
        $('purge-targets').value = '';
      } else {
        result.className = 'note bad';
        result.textContent = `Purge failed: ${(r.body && r.body.error) || 'HTTP ' + r.status}`;
      }
      await loadPurges();
    } catch (e) {
      handleError(e);
    }
  }

  async function loadPurges() {
    const r = await api('/api/purges');
    if (r.status !== 200 || !r.body) return;
    fillBody('purges-table', (r.body.purges || []).slice(0, 20).map((p) => el('tr', {},
      el('td', {}, new Date(p.at_micros / 1000).toLocaleTimeString()),
      el('td', { class: 'url' }, p.what),
      el('td', {}, `${p.actor} (${p.client})`),
      el('td', { class: 'muted' }, p.id))));
  }

  // ---- Top URLs and config ------------------------------------------------------------------
  async function loadTop() {
    const r = await api('/api/top?n=15');
    if (r.status !== 200 || !r.body) return;
    const rows = (items, field, fmt) => items.map((item) => el('tr', {},
      el('td', { class: 'url' }, item.url),
      el('td', { class: 'num', title: item.error ? `may be overcounted by up to ${fmt(item.error)}` : '' },
        fmt(item[field]) + (item.error ? ' ±' : ''))));
    fillBody('top-requests', rows(r.body.by_requests || [], 'requests', fmtNum));
    fillBody('top-bytes', rows(r.body.by_bytes || [], 'bytes', fmtBytes));
  }

  async function loadConfig() {
    try {
      const r = await api('/api/config');
      if (r.status === 200) setText('config-json', JSON.stringify(r.body, null, 2));
    } catch (e) {
      handleError(e);
    }
  }

  // ---- Refresh loop -------------------------------------------------------------------------
  function handleError(e) {
    if (e instanceof AuthError) {
      showLogin(`Signed out: ${e.message}.`);
      return;
    }
    const banner = $('error-banner');
    banner.hidden = false;
    banner.textContent = `The node did not answer: ${e.message}`;
    $('live').classList.add('stale');
  }

  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const [stats, history] = await Promise.all([api('/api/stats'), api('/api/history')]);
      if (stats.status === 200) renderStats(stats.body);
      if (history.status === 200) renderHistory(history.body);
      if (tick % SLOW_EVERY === 0) await Promise.all([loadBackends(), loadPurges(), loadTop()]);
      tick++;
      $('error-banner').hidden = true;
      $('live').hidden = false;
      $('live').classList.remove('stale');
    } catch (e) {
      handleError(e);
    } finally {
      busy = false;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token').value.trim();
      $('token').value = '';
      if (token) signIn(token);
    });
    $('logout').addEventListener('click', () => showLogin('Signed out.'));
    $('purge-form').addEventListener('submit', submitPurge);
    $('purge-kind').addEventListener('change', () => {
      $('purge-targets').disabled = $('purge-kind').value === 'all';
    });
    const saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved);
  });
})();
