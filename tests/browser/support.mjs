// Helpers for the browser tests: scripted origins, the real strata binary on free ports, plain
// HTTP requests, a strict Prometheus text-format check, and Chromium through playwright-core.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const sourceDir = path.resolve(here, '../..');
export const strataBin = process.env.STRATA_BIN || path.join(sourceDir, 'build/bin/strata');
export const artifactsDir = process.env.STRATA_ARTIFACTS || path.join(sourceDir, 'build/artifacts');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// Polls `probe` until it returns a truthy value or `timeoutMs` passes (then throws `what`).
export async function waitFor(what, probe, timeoutMs = 10000, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// An origin on 127.0.0.1:0 answering every path with a cacheable body naming itself.
export async function startOrigin(name) {
  const origin = { name, requests: [] };
  origin.server = http.createServer((req, res) => {
    origin.requests.push(req.url);
    const body = `hello from ${name} for ${req.url}\n`;
    res.writeHead(200, {
      'Content-Type': 'text/plain',
      'Cache-Control': 'public, max-age=300',
      'Content-Length': Buffer.byteLength(body),
    });
    res.end(body);
  });
  await new Promise((resolve) => origin.server.listen(0, '127.0.0.1', resolve));
  origin.port = origin.server.address().port;
  origin.url = `http://127.0.0.1:${origin.port}`;
  origin.close = () => new Promise((resolve) => origin.server.close(resolve));
  return origin;
}

// The real strata binary with a generated config, on free ports; resolves once it listens.
export async function startStrata({ token, backends }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-browser-'));
  const yaml = [
    'node: {name: browser-edge}',
    'listen: 127.0.0.1:0',
    'admin:',
    '  listen: 127.0.0.1:0',
    `  tokens: [{name: browser-test, token: "${token}"}]`,
    'cache:',
    '  memory: 64MiB',
    `  disk: {path: "${dir}/cache", size: 1GiB}`,
    'server: {threads: 16, fetch_threads: 4, shutdown_grace: 1s}',
    'pools:',
    '  - name: primary',
    '    backends:',
    ...backends.map((b) => `      - {name: ${b.name}, url: "${b.url}"}`),
    'logging:',
    `  access_log: "${dir}/access.log"`,
    '  access_log_format: json',
    `  error_log: "${dir}/error.log"`,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'strata.yaml'), yaml);
  if (!fs.existsSync(strataBin)) throw new Error(`${strataBin} not found: build it first (./scripts/build)`);
  const child = spawn(strataBin, ['--config', path.join(dir, 'strata.yaml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const ports = await waitFor('strata to listen', () => {
    if (child.exitCode !== null) throw new Error(`strata exited ${child.exitCode}: ${output}`);
    const proxy = /proxy listening on port (\d+)/.exec(output);
    const admin = /admin listening on port (\d+)\n/.exec(output);
    return proxy && admin && { proxy: Number(proxy[1]), admin: Number(admin[1]) };
  }, 30000);
  return {
    ...ports,
    dir,
    child,
    output: () => output,
    adminUrl: `http://127.0.0.1:${ports.admin}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// One request on a new connection; resolves {status, headers, body}.
export function request(port, urlPath, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, method, headers, agent: false },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => { data += c; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
      });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('request timed out')));
    if (body) req.write(body);
    req.end();
  });
}

// Sends the request line's target byte for byte (no client-side URL validation or escaping).
export function rawGet(port, target, host = `127.0.0.1:${port}`) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (c) => { data += c; });
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
    socket.setTimeout(10000, () => socket.destroy(new Error('raw request timed out')));
  });
}

// A strict reading of the Prometheus text exposition format 0.0.4: every sample line matches
// the grammar and belongs to the family of the closest # TYPE line; families appear once;
// no series twice; counters and histogram buckets are non-negative; a histogram's buckets are
// cumulative, end with le="+Inf", and its _count equals the +Inf bucket. Returns the families
// {name: {type, samples: [{name, labels, value}]}}; throws on the first problem.
export function strictPrometheusParse(text) {
  const families = {};
  const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*';
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/y;
  const sampleRe = new RegExp(`^(${metricName})(\\{.*\\})? (\\S+)( -?\\d+)?$`);
  let current = null;
  const seen = new Set();
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  text.split('\n').slice(0, -1).forEach((line, i) => {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      if (!new RegExp(`^# HELP ${metricName} `).test(line)) throw new Error(`bad HELP, ${where}`);
      return;
    }
    if (line.startsWith('# TYPE ')) {
      const m = new RegExp(`^# TYPE (${metricName}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
      if (!m) throw new Error(`bad TYPE, ${where}`);
      if (families[m[1]]) throw new Error(`family ${m[1]} declared twice, ${where}`);
      current = families[m[1]] = { type: m[2], samples: [] };
      current.name = m[1];
      return;
    }
    if (line.startsWith('#') || line === '') throw new Error(`unexpected line, ${where}`);
    const m = sampleRe.exec(line);
    if (!m) throw new Error(`bad sample, ${where}`);
    const [, name, labelText, valueText] = m;
    if (!current) throw new Error(`sample before any TYPE, ${where}`);
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count']
      : current.type === 'summary' ? ['', '_sum', '_count'] : [''];
    if (!suffixes.some((s) => name === current.name + s)) {
      throw new Error(`sample outside its family ${current.name}, ${where}`);
    }
    const labels = {};
    if (labelText) {
      const inner = labelText.slice(1, -1);
      let pos = 0;
      while (pos < inner.length) {
        labelRe.lastIndex = pos;
        const l = labelRe.exec(inner);
        if (!l) throw new Error(`bad labels, ${where}`);
        if (l[1] in labels) throw new Error(`label ${l[1]} twice, ${where}`);
        labels[l[1]] = l[2];
        pos = labelRe.lastIndex;
        if (pos < inner.length) {
          if (inner[pos] !== ',') throw new Error(`bad label separator, ${where}`);
          pos++;
        }
      }
    }
    if (!/^(?:[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)|[-+]?Inf|NaN)$/.test(valueText)) {
      throw new Error(`bad value, ${where}`);
    }
    const value = valueText.endsWith('Inf') ? (valueText.startsWith('-') ? -Infinity : Infinity) : Number(valueText);
    const series = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(series)) throw new Error(`series twice, ${where}`);
    seen.add(series);
    if ((current.type === 'counter' || name.endsWith('_bucket') || name.endsWith('_count')) && !(value >= 0)) {
      throw new Error(`negative or NaN counter, ${where}`);
    }
    current.samples.push({ name, labels, value });
  });
  for (const f of Object.values(families)) {
    if (f.type !== 'histogram') continue;
    const groups = new Map();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      if (!groups.has(key)) groups.set(key, { buckets: [], count: null, sum: null });
      const g = groups.get(key);
      if (s.name.endsWith('_bucket')) {
        if (le === undefined) throw new Error(`${f.name}: bucket without le`);
        g.buckets.push({ le: le === '+Inf' ? Infinity : Number(le), value: s.value });
      } else if (s.name.endsWith('_count')) g.count = s.value;
      else g.sum = s.value;
    }
    for (const [key, g] of groups) {
      if (g.count === null || g.sum === null) throw new Error(`${f.name}${key}: missing _count or _sum`);
      for (let i = 1; i < g.buckets.length; i++) {
        if (!(g.buckets[i].le > g.buckets[i - 1].le)) throw new Error(`${f.name}${key}: buckets out of order`);
        if (g.buckets[i].value < g.buckets[i - 1].value) throw new Error(`${f.name}${key}: buckets not cumulative`);
      }
      const last = g.buckets[g.buckets.length - 1];
      if (!last || last.le !== Infinity) throw new Error(`${f.name}${key}: no +Inf bucket`);
      if (last.value !== g.count) throw new Error(`${f.name}${key}: _count ${g.count} != +Inf bucket ${last.value}`);
    }
  }
  return families;
}

export async function launchChromium() {
  const { chromium } = await import('playwright-core');
  if (!fs.existsSync(chromiumPath)) throw new Error(`${chromiumPath} not found: run ./scripts/setup`);
  // playwright-core gives launch() a fresh temporary --user-data-dir of its own (and refuses
  // one in `args`); the other flags keep Chromium off the network this machine does not have.
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
