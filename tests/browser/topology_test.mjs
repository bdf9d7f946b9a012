// The compose topology (deploy/docker-compose.yml) with real browsers:
// redis-server, two cursord with --redis, Debian's nginx running
// deploy/nginx/cursord.conf rendered as the compose file renders it (both
// instances as upstreams, the room hash dropped: round-robin) with a
// throwaway self-signed certificate, and Debian's Chromium.
//
//   node topology_test.mjs <path to cursord> <path to cursorctl>
//
// Each page is loaded from nginx over https:// (cursord's own page at "/",
// the room picker, which opens no WebSocket), imports /sdk/cursord.js
// through nginx and joins with the SDK over wss:// through nginx. Chromium
// trusts the throwaway certificate by its public key only
// (--ignore-certificate-errors-spki-list), not by ignoring certificate
// errors. Which instance a page is on is what the cluster's control plane
// says (`cursorctl -o json rooms show`, each member's instanceId).
//
// The rules: two pages on different instances see each other (join, roster,
// positions both ways); SIGTERM to one instance closes its page with 1001,
// the SDK reconnects through nginx to the other instance, and the two see
// each other again (the other page shows it away, then back under its new
// id: the same member); the drained instance exits 0.
//
// tests/deploy/topology_test.cc checks the same topology with C++ TLS
// clients (client addresses, probes, a drain of eight members).
//
// Exit codes: 0 passed, 1 failed, 2 bad usage, 77 skipped (no Chromium, no
// node_modules, no nginx, openssl or redis-server).

import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import {
  CHROMIUM, cursorctl, EXIT_SKIP, expect, freePort, here, loadChromium, log, main, openPage, sleep,
  STEP_TIMEOUT_MS, waitIn,
} from './harness.mjs';

const OVERALL_TIMEOUT_MS = 60_000;
const HOST_NAME = 'localhost';  // in the certificate
// As tests/deploy/topology_test.cc: short enough for a test, the same shape
// as the defaults (2 s, 5 s).
const DRAIN_DELAY = '300ms';
const DRAIN_SPREAD = '500ms';

const [cursordBinary, cursorctlBinary] = process.argv.slice(2);
if (!cursordBinary || !cursorctlBinary) {
  console.error('usage: node topology_test.mjs <path to cursord> <path to cursorctl>');
  process.exit(2);
}

// A program on PATH or in the sbin folders (nginx is in /usr/sbin), or null.
function findProgram(name) {
  const folders = (process.env.PATH ?? '').split(':').filter(Boolean);
  folders.push('/usr/local/sbin', '/usr/sbin', '/sbin');
  for (const folder of folders) {
    const candidate = path.join(folder, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return null;
}

const programs = {};
for (const name of ['nginx', 'openssl', 'redis-server']) {
  programs[name] = findProgram(name);
  if (!programs[name]) {
    console.log(`browser: SKIP: ${name} is not installed (deploy/setup.sh installs it as a test package)`);
    process.exit(EXIT_SKIP);
  }
}
// Children die with this process even if it is killed before its cleanup
// (util-linux's setpriv sets PR_SET_PDEATHSIG and execs the program).
const setpriv = findProgram('setpriv');
const chromium = await loadChromium();

// ---- processes -----------------------------------------------------------------

// A child process started by this test, ended by its pid. Its output is
// kept (the tail) for the failure report and for waits on a line.
class Child {
  constructor(label, argv) {
    this.label = label;
    this.output = '';
    this.waiters = [];
    const full = setpriv ? [setpriv, '--pdeathsig', 'KILL', '--', ...argv] : argv;
    this.proc = spawn(full[0], full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => {
      this.proc.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.proc.once('error', (err) => this.keep(`\nspawn error: ${err.message}\n`));
    this.proc.stdout.on('data', (chunk) => this.keep(chunk));
    this.proc.stderr.on('data', (chunk) => this.keep(chunk));
  }

  keep(chunk) {
    this.output = (this.output + chunk).slice(-16_000);
    for (const w of [...this.waiters]) {
      const m = w.re.exec(this.output);
      if (m) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  // Resolves with the first match of `re` in the output, or null if the
  // process exits or `timeoutMs` passes first.
  waitFor(re, timeoutMs = STEP_TIMEOUT_MS) {
    const m = re.exec(this.output);
    if (m) return Promise.resolve(m);
    let waiter;
    const seen = new Promise((resolve) => {
      waiter = { re, resolve };
      this.waiters.push(waiter);
    });
    const drop = (v) => { this.waiters.splice(this.waiters.indexOf(waiter), 1); return v; };
    return Promise.race([seen, this.exited.then(() => drop(re.exec(this.output))),
                         sleep(timeoutMs).then(() => drop(null))]);
  }

  running() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  signal(sig) {
    if (this.running()) {
      try { process.kill(this.proc.pid, sig); } catch { /* already gone */ }
    }
  }

  // The exit, or null if it takes longer than `timeoutMs`.
  waitExit(timeoutMs) {
    return Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
  }

  // SIGTERM, then SIGKILL if it lingers.
  async stop() {
    if (!this.running()) return;
    this.signal('SIGTERM');
    if (await this.waitExit(5000)) return;
    this.signal('SIGKILL');
    await this.waitExit(2000);
  }

  tail(lines = 20) {
    return this.output.trimEnd().split('\n').slice(-lines).join('\n');
  }
}

const children = [];
function start(label, argv) {
  const child = new Child(label, argv);
  children.push(child);
  return child;
}

// `start` on a port that was free a moment ago; another try if it was taken
// meanwhile (nginx and redis-server cannot be given port 0 and say what they
// got). `ready(child)` resolves true once it serves, false if it could not
// bind, and throws on any other failure.
async function startOnFreePort(label, argvFor, ready) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = start(label, argvFor(port));
    if (await ready(child)) return { child, port };
    await child.stop();
  }
  throw new Error(`${label}: no free port after 5 tries`);
}

function run(argv, input) {
  return execFileSync(argv[0], argv.slice(1), { input, timeout: STEP_TIMEOUT_MS });
}

// A self-signed certificate for HOST_NAME, as deploy/docker-compose.yml
// tells operators to make one, and the base64 SHA-256 of its public key
// (SubjectPublicKeyInfo, DER): what Chromium is told to trust.
function makeCertificate(dir) {
  const cert = path.join(dir, 'fullchain.pem');
  const key = path.join(dir, 'privkey.pem');
  const openssl = programs.openssl;
  run([openssl, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
       '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${HOST_NAME}`,
       '-addext', `subjectAltName=DNS:${HOST_NAME}`]);
  const publicKey = run([openssl, 'x509', '-in', cert, '-noout', '-pubkey']);
  const der = run([openssl, 'pkey', '-pubin', '-outform', 'der'], publicKey);
  const digest = run([openssl, 'dgst', '-sha256', '-binary'], der);
  const spki = run([openssl, 'base64', '-A'], digest).toString().trim();
  expect(/^[A-Za-z0-9+/]{43}=$/.test(spki), `a base64 SHA-256 from openssl, got "${spki}"`);
  return { cert, key, spki };
}

async function startRedis() {
  const { child, port } = await startOnFreePort('redis', (p) => [
    programs['redis-server'], '--port', String(p), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--daemonize', 'no', '--dir', dir,
  ], async (c) => {
    if (await c.waitFor(/Ready to accept connections/)) return true;
    if (/in use|bind/i.test(c.output)) return false;
    throw new Error(`redis-server did not start:\n${c.tail()}`);
  });
  return { child, url: `redis://127.0.0.1:${port}` };
}

// One cursord as the compose file runs it (--redis, nginx the one trusted
// proxy), on ports it picks itself.
async function startCursord(name, redisUrl) {
  const child = start(name, [
    cursordBinary, '--listen', '127.0.0.1:0', '--control-listen', '127.0.0.1:0',
    '--redis', redisUrl, '--instance-id', name, '--trusted-proxies', '127.0.0.1',
    '--drain-delay', DRAIN_DELAY, '--drain-spread', DRAIN_SPREAD,
  ]);
  const listening = await child.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  const control = await child.waitFor(/control plane \(gRPC\) on (127\.0\.0\.1:\d+)/);
  if (!listening || !control) throw new Error(`${name} did not start:\n${child.tail()}`);
  const instance = { name, child, port: Number(listening[1]), control: control[1] };
  // Ready: serving, its backplane connected (what /readyz says), and its
  // gRPC health following (cursord polls readiness for it, so it can lag
  // /readyz a little; cursorctl status fails while it says NOT_SERVING).
  await until(`${name} /readyz 200`, async () => {
    const res = await fetch(`http://127.0.0.1:${instance.port}/readyz`).catch(() => null);
    if (res) await res.arrayBuffer();
    return res?.status === 200;
  });
  // The first object is the status; a health line follows.
  const [status] = await until(`${name}'s gRPC health SERVING`, () =>
    cursorctl(cursorctlBinary, instance, ['-o', 'json', 'status']).then(jsonLines, () => null));
  instance.id = status.cluster?.instanceId;
  expect(instance.id?.startsWith(`${name}-`), `${name}'s cluster instance id, got ${instance.id}`);
  return instance;
}

// deploy/nginx/cursord.conf with each production line replaced by the
// test's; every one must be there exactly once, or the test would not run
// what operators install.
function renderConfig(config, substitutions) {
  for (const [production, test] of substitutions) {
    const at = config.indexOf(production);
    if (at < 0 || config.indexOf(production, at + 1) >= 0) {
      throw new Error(`deploy/nginx/cursord.conf must contain ${JSON.stringify(production)} exactly once`);
    }
    config = config.slice(0, at) + test + config.slice(at + production.length);
  }
  return config;
}

async function startNginx(upstreams, tls) {
  const production = readFileSync(here('../../deploy/nginx/cursord.conf'), 'utf8');
  const pidFile = path.join(dir, 'nginx.pid');
  const { child, port } = await startOnFreePort('nginx', (p) => {
    // As deploy/docker-compose.yml renders it: both instances, round-robin.
    writeFileSync(path.join(dir, 'cursord.conf'), renderConfig(production, [
      ['listen 443 ssl http2;', `listen 127.0.0.1:${p} ssl http2;`],
      ['server 127.0.0.1:8080;', upstreams.map((u) => `server 127.0.0.1:${u.port};`).join('\n    ')],
      ['    hash $cursord_room consistent;\n', ''],
      ['/etc/letsencrypt/live/cursor.example.com/fullchain.pem', tls.cert],
      ['/etc/letsencrypt/live/cursor.example.com/privkey.pem', tls.key],
    ]));
    // Debian's nginx.conf around conf.d/, with every path nginx writes here.
    writeFileSync(path.join(dir, 'nginx.conf'), [
      `pid ${pidFile};`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${dir}/access.log;`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/${t};`),
      `  include ${dir}/cursord.conf;`,
      '}',
      '',
    ].join('\n'));
    rmSync(pidFile, { force: true });
    // One process in the foreground: the pid started is all of nginx, and
    // with one worker round-robin alternates request by request.
    return [programs.nginx, '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', 'stderr',
            '-g', 'daemon off; master_process off;'];
  }, async (c) => {
    // The pid file appears once the socket is bound; [emerg] and an exit if
    // nginx cannot start.
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        if (statSync(pidFile).size > 0) return true;
      } catch {
        // Not yet.
      }
      if (await c.waitFor(/\[emerg\]/, 20)) {
        if (/Address already in use/.test(c.output)) return false;
        throw new Error(`nginx did not start:\n${c.tail()}`);
      }
    }
    throw new Error(`nginx wrote no pid file within ${STEP_TIMEOUT_MS / 1000} s:\n${c.tail()}`);
  });
  return { child, port, origin: `https://${HOST_NAME}:${port}` };
}

// Polls `fn` (a question to a process, not a browser event) until it is
// truthy, for at most STEP_TIMEOUT_MS; returns its value.
async function until(what, fn) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// cursorctl -o json prints one object per line.
const jsonLines = (out) => out.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));

// ---- the browser side -----------------------------------------------------------

// Runs in a page loaded from nginx: imports the SDK through nginx, and
// defines `join`, which starts a named SDK client whose statuses, events
// and WebSocket URLs are recorded for the test to wait on.
async function installSdk() {
  const sdk = await import('/sdk/cursord.js');
  window.clients = {};
  window.join = (name, options) => {
    const urls = [];
    class RecordingWebSocket extends WebSocket {
      constructor(...args) { super(...args); urls.push(this.url); }
    }
    // location.origin is https://localhost:PORT: the SDK turns it into wss://.
    const room = sdk.connect(location.origin, { ...options, WebSocket: RecordingWebSocket });
    const c = { room, events: [], statuses: [], urls };
    for (const type of ['join', 'leave', 'move', 'away', 'back']) {
      room.on(type, (e) => c.events.push({ type, id: e.member.id, x: e.x, y: e.y,
                                            previous: e.previous?.id }));
    }
    room.on('status', (s) => c.statuses.push(s));
    window.clients[name] = c;
  };
}

const wire = (f) => Math.floor(f * 65535) / 65535;

// A Chromium page on nginx's origin with the SDK loaded through nginx.
async function sdkPage(browser, label, origin, errors) {
  const p = await openPage(browser, { width: 800, height: 600 }, label, errors);
  const response = await p.page.goto(`${origin}/`, { waitUntil: 'load' });
  expect(response.status() === 200, `${label}: ${origin}/ 200, got ${response.status()}`);
  const security = await response.securityDetails();
  expect(security?.subjectName === HOST_NAME,
         `${label}: the page over TLS with the test's certificate, got ${JSON.stringify(security)}`);
  await p.page.evaluate(installSdk);
  return p;
}

// Client `name` of page `p`: joins `room` and waits for its `n`th open; its
// member id.
async function joinRoom(p, name, room) {
  await p.page.evaluate(({ name, room }) => window.join(name, { room, name }), { name, room });
  return waitOpen(p, name, 1);
}

async function waitOpen(p, name, n) {
  await waitIn(p.page, `${p.label}.${name} open (#${n})`,
               ({ name, n }) => window.clients[name].statuses.filter((s) => s.state === 'open').length >= n,
               { name, n }, ({ name }) => window.clients[name].statuses);
  return p.page.evaluate((name) => window.clients[name].room.selfId, name);
}

async function waitStatus(p, name, want) {
  await waitIn(p.page, `${p.label}.${name} status ${JSON.stringify(want)}`,
               ({ name, want }) => window.clients[name].statuses.some(
                 (s) => Object.entries(want).every(([k, v]) => s[k] === v)),
               { name, want }, ({ name }) => window.clients[name].statuses);
}

// Waits for an event matching `want` from index `from` on (ids are reused:
// an earlier member's event must not count).
async function waitEvent(p, name, want, from = 0) {
  await waitIn(p.page, `${p.label}.${name} event ${JSON.stringify(want)}`,
               ({ name, want, from }) => window.clients[name].events.slice(from).some(
                 (e) => Object.entries(want).every(([k, v]) => e[k] === v)),
               { name, want, from }, ({ name }) => window.clients[name].events.slice(-8));
}

const eventCount = (p, name) => p.page.evaluate((name) => window.clients[name].events.length, name);
// The others here (not those shown away after a leave: a b that left for
// another instance is named, so it stays away for the SDK's grace).
const others = (p, name) => p.page.evaluate(
  (name) => window.clients[name].room.others().filter((m) => !m.away).map((m) => m.id), name);
const urls = (p, name) => p.page.evaluate((name) => window.clients[name].urls, name);

// A moves to (x, y) and B gets exactly that position for A's id.
async function seesMove(from, fromName, fromId, to, toName, x, y) {
  const mark = await eventCount(to, toName);
  await from.page.evaluate(({ fromName, x, y }) => window.clients[fromName].room.setCursorFraction(x, y),
                           { fromName, x, y });
  await waitEvent(to, toName, { type: 'move', id: fromId, x: wire(x), y: wire(y) }, mark);
}

// The instance id the cluster names for member `id` of `room`, asking
// `instance`'s control plane (which answers for every instance), or null
// while it is not listed.
async function instanceOf(instance, room, id) {
  let shown;
  try {
    shown = jsonLines(await cursorctl(cursorctlBinary, instance, ['-o', 'json', 'rooms', 'show', room]))[0];
  } catch {
    return null;  // the room not there yet
  }
  const members = shown.members ?? shown.room?.members ?? [];
  return members.find((m) => (m.id ?? 0) === id)?.instanceId ?? null;
}

// ---- the test ------------------------------------------------------------------

let dir = null;
let browser = null;
let failedSoFar = false;

async function test() {
  dir = mkdtempSync(path.join(tmpdir(), 'cursord-browser-topology-'));
  const tls = makeCertificate(dir);
  const redis = await startRedis();
  const instances = [];
  for (const name of ['cursord-1', 'cursord-2']) instances.push(await startCursord(name, redis.url));
  const nginx = await startNginx(instances, tls);
  log(`nginx on ${nginx.origin} in front of ${instances.map((i) => `${i.name} (:${i.port})`).join(' and ')}`);
  const byId = (id) => instances.find((i) => i.id === id);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_TIMEOUT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           // The throwaway certificate is trusted by its key, and only it.
           `--ignore-certificate-errors-spki-list=${tls.spki}`,
           // localhost is nginx's 127.0.0.1 (not ::1, where it does not listen).
           `--host-resolver-rules=MAP ${HOST_NAME} 127.0.0.1`],
  });
  const errors = [];
  const A = await sdkPage(browser, 'A', nginx.origin, errors);
  const B = await sdkPage(browser, 'B', nginx.origin, errors);

  // ---- two pages on different instances see each other --------------------------
  const room = `topology-${Date.now().toString(36)}-${process.pid}`;
  const idA = await joinRoom(A, 'a', room);
  const onA = byId(await until(`a (#${idA}) listed`, () => instanceOf(instances[0], room, idA)));
  expect(onA, 'a on one of the two instances');
  // Round-robin with one nginx worker: the next upgrade goes to the other
  // instance unless a request of the page's came in between; then b leaves
  // and joins again (one upgrade, nothing else in flight).
  let idB = null;
  let onB = null;
  let nameB = null;
  for (let attempt = 0; attempt < 3 && (!onB || onB === onA); attempt++) {
    if (nameB) {
      await B.page.evaluate((n) => window.clients[n].room.close(), nameB);
      await waitStatus(B, nameB, { state: 'closed', code: 1000 });
    }
    nameB = `b${attempt}`;
    idB = await joinRoom(B, nameB, room);
    onB = byId(await until(`${nameB} (#${idB}) listed`, () => instanceOf(instances[0], room, idB)));
  }
  expect(onB && onB !== onA, `a and b on different instances, both on ${onA.name}`);
  log(`room ${room}: a is #${idA} on ${onA.name}, ${nameB} is #${idB} on ${onB.name}`);
  for (const [p, n] of [[A, 'a'], [B, nameB]]) {
    const made = await urls(p, n);
    expect(made.length === 1 && made[0] === `wss://${HOST_NAME}:${nginx.port}/rooms/${room}?name=${n}`,
           `${p.label}.${n} connected once over wss:// through nginx, got ${JSON.stringify(made)}`);
  }
  // b has a in its roster; a gets b's join.
  await waitEvent(B, nameB, { type: 'join', id: idA });
  await waitEvent(A, 'a', { type: 'join', id: idB });
  expect(JSON.stringify(await others(A, 'a')) === JSON.stringify([idB]), `a's others() [${idB}]`);
  expect(JSON.stringify(await others(B, nameB)) === JSON.stringify([idA]), `${nameB}'s others() [${idA}]`);
  await seesMove(A, 'a', idA, B, nameB, 0.25, 0.75);
  await seesMove(B, nameB, idB, A, 'a', 0.625, 0.125);

  // ---- drain a's instance: a reconnects through nginx to the other -----------------
  const markB = await eventCount(B, nameB);
  const drained = onA;
  const other = onB;
  log(`SIGTERM to ${drained.name}`);
  drained.child.signal('SIGTERM');
  await waitStatus(A, 'a', { state: 'reconnecting', code: 1001 });
  const idA2 = await waitOpen(A, 'a', 2);
  // Asked of the instance that stays: the drained one is on its way out.
  const onA2 = byId(await until(`a (#${idA2}) listed again`, () => instanceOf(other, room, idA2)));
  expect(onA2 === other, `a back on ${other.name}, got ${onA2?.name}`);
  const aUrls = await urls(A, 'a');
  expect(aUrls.every((u) => u === aUrls[0]), `every attempt of a through nginx, got ${JSON.stringify(aUrls)}`);
  log(`a is back as #${idA2} on ${onA2.name} after ${aUrls.length - 1} reconnect attempt(s)`);
  // b sees a's old id go and a under its new id, one a at a time. a's leave
  // crosses the backplane from the drained instance while its join is on
  // b's: leave first, a is away, then back under its new id (the same
  // member by name and colour: no leave, no join); join first (a retry
  // within a few ms), the old a leaves at once, being here already.
  await waitIn(B.page, `${nameB} to show a once, as #${idA2}`,
               ({ n, id }) => { const shown = window.clients[n].room.others().filter((m) => m.name === 'a');
                                return shown.length === 1 && !shown[0].away && shown[0].id === id; },
               { n: nameB, id: idA2 }, ({ n }) => window.clients[n].room.others());
  const ofA = (await B.page.evaluate((n) => window.clients[n].events, nameB)).slice(markB)
    .filter((e) => e.type !== 'move').map((e) => `${e.type} ${e.id}`);
  expect([`away ${idA},back ${idA2}`, `join ${idA2},leave ${idA}`].includes(ofA.join()),
         `${nameB}: a away then back, or a's join then its old leave; got ${JSON.stringify(ofA)}`);
  log(`${nameB} saw ${ofA.join(', ')}`);
  expect(JSON.stringify(await others(A, 'a')) === JSON.stringify([idB]), `a's others() [${idB}] again`);
  await seesMove(A, 'a', idA2, B, nameB, 0.5, 0.5);
  await seesMove(B, nameB, idB, A, 'a', 0.875, 0.375);
  const exit = await drained.child.waitExit(STEP_TIMEOUT_MS);
  expect(exit?.code === 0, `${drained.name} exits 0 after its drain, got ${JSON.stringify(exit)}`);

  // Chromium logs an upgrade the draining instance refused; that is the
  // reconnect under test, not a page error.
  const unexpected = errors.filter((e) => !/console: WebSocket connection to 'wss:[^']*' failed/.test(e));
  expect(unexpected.length === 0, `no page errors, got:\n  ${unexpected.join('\n  ')}`);
}

await main('topology', OVERALL_TIMEOUT_MS, test, {
  serverLog: () => {
    failedSoFar = true;  // main asks for the logs only on a failure (a timeout too)
    return children.map((c) => `--- ${c.label} ---\n${c.tail()}`).join('\n');
  },
  run: async () => {
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
    for (const c of [...children].reverse()) await c.stop();
    if (dir && !failedSoFar) rmSync(dir, { recursive: true, force: true });
    if (dir && failedSoFar) console.error(`browser: files kept in ${dir}`);
  },
});
