// End-to-end check of the demo page: a real cursord, Debian's Chromium, two
// pages in one room with different viewport sizes.
//
//   node demo_test.mjs <path to cursord>
//
// Exit codes: 0 passed, 1 failed, 2 bad usage, 77 skipped (no Chromium or no
// node_modules; ctest treats 77 as SKIP).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const CHROMIUM = '/usr/bin/chromium';
const EXIT_SKIP = 77;
const OVERALL_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 10_000;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node demo_test.mjs <path to cursord>');
  process.exit(2);
}
if (!existsSync(CHROMIUM)) {
  console.log(`browser: SKIP: ${CHROMIUM} is not installed`);
  process.exit(EXIT_SKIP);
}
if (!existsSync(here('./node_modules/playwright-core/package.json'))) {
  console.log('browser: SKIP: tests/browser/node_modules is missing (run `npm ci` there)');
  process.exit(EXIT_SKIP);
}
const { chromium } = await import('playwright-core');

// The two viewports differ in both axes so the test notices a page that sends
// pixels instead of the 0..65535 fraction.
const VIEW_A = { width: 1000, height: 700 };
const VIEW_B = { width: 640, height: 480 };
const TOLERANCE_PX = 3;

let server = null;
let serverLog = '';
let browser = null;

function log(msg) {
  console.log(`browser: ${msg}`);
}

async function freePort() {
  // Something else may take the port between close and cursord's bind; on a
  // test machine that race is rare enough that a retry by hand is acceptable.
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function startServer(port) {
  const args = ['--listen', `127.0.0.1:${port}`, '--control-listen', '127.0.0.1:0'];
  server = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (chunk) => { serverLog = (serverLog + chunk).slice(-8000); };
  server.stdout.on('data', keep);
  server.stderr.on('data', keep);
  const exited = new Promise((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
  server.once('error', (err) => { serverLog += `\nspawn error: ${err.message}`; });

  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const early = await Promise.race([exited, sleep(100).then(() => null)]);
    if (early) throw new Error(`cursord exited before serving (code ${early.code}, signal ${early.signal})`);
    try {
      const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return base;
    } catch {
      // Not listening yet.
    }
  }
  throw new Error(`cursord did not answer on ${base} within 10 s`);
}

async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const gone = new Promise((resolve) => server.once('exit', resolve));
  try { process.kill(server.pid, 'SIGTERM'); } catch { return; }
  if (await Promise.race([gone.then(() => true), sleep(3000).then(() => false)])) return;
  log('cursord ignored SIGTERM for 3 s; sending SIGKILL');
  try { process.kill(server.pid, 'SIGKILL'); } catch { /* already gone */ }
  await Promise.race([gone, sleep(2000)]);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function expect(cond, what) {
  if (!cond) throw new Error(`expected ${what}`);
}

// Where a page with viewport `to` should draw a pointer at (x, y) in a page
// with viewport `from`: the sender's encoding, then the receiver's decoding.
function mapped(x, y, from = VIEW_A, to = VIEW_B) {
  const nx = Math.floor(x / from.width * 65535);
  const ny = Math.floor(y / from.height * 65535);
  return { x: nx / 65535 * to.width, y: ny / 65535 * to.height };
}

async function cursorBox(page, id) {
  return page.evaluate((id) => {
    const el = document.querySelector(`.cursor[data-member-id="${id}"]`);
    if (!el) return null;
    const r = el.getBoundingClientRect();
    return { x: r.left, y: r.top, clicking: el.dataset.clicking };
  }, id);
}

async function waitCursorNear(page, id, want, label = 'B') {
  try {
    await page.waitForFunction(({ id, want, tol }) => {
      const el = document.querySelector(`.cursor[data-member-id="${id}"]`);
      if (!el) return false;
      const r = el.getBoundingClientRect();
      return Math.abs(r.left - want.x) <= tol && Math.abs(r.top - want.y) <= tol;
    }, { id, want, tol: TOLERANCE_PX }, { timeout: STEP_TIMEOUT_MS, polling: 'raf' });
  } catch {
    const got = await cursorBox(page, id);
    throw new Error(`cursor ${id} should be near (${want.x.toFixed(1)}, ${want.y.toFixed(1)}) ` +
                    `in page ${label}, but it is ${got ? `at (${got.x}, ${got.y})` : 'absent'}`);
  }
}

async function waitAttr(page, selector, attr, value) {
  try {
    await page.waitForFunction(({ selector, attr, value }) => {
      const el = document.querySelector(selector);
      return el !== null && el.getAttribute(attr) === value;
    }, { selector, attr, value }, { timeout: STEP_TIMEOUT_MS });
  } catch {
    const got = await page.evaluate(({ selector, attr }) => {
      const el = document.querySelector(selector);
      return el ? el.getAttribute(attr) : '(no element)';
    }, { selector, attr });
    throw new Error(`${selector} [${attr}] should become "${value}", but it is "${got}"`);
  }
}

async function openPage(viewport, label, errors) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('pageerror', (err) => errors.push(`${label}: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`${label} console: ${msg.text()}`); });
  return { context, page };
}

async function waitOpen(page) {
  await page.waitForSelector('#status[data-state="open"]:not([data-my-id=""])');
  expect(await page.isHidden('#picker'), 'the room picker hidden on a room page');
  return Number(await page.getAttribute('#status', 'data-my-id'));
}

async function run() {
  const port = await freePort();
  const base = await startServer(port);
  log(`cursord is serving on ${base}`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_TIMEOUT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });

  const room = `browser-${Date.now().toString(36)}-${process.pid}`;
  const errors = [];

  // Page A arrives through the room picker at "/", which must carry the name
  // and colour through to the room URL.
  const a = await openPage(VIEW_A, 'A', errors);
  await a.page.goto(`${base}/?name=alice`);
  await a.page.fill('#room-input', room);
  await a.page.click('#picker button[type="submit"]');
  await a.page.waitForURL((url) => url.pathname === `/rooms/${room}`);
  const aUrl = new URL(a.page.url());
  expect(aUrl.searchParams.get('name') === 'alice', `?name=alice kept, got ${aUrl.search}`);
  const idA = await waitOpen(a.page);

  const b = await openPage(VIEW_B, 'B', errors);
  await b.page.goto(`${base}/rooms/${room}`);
  const idB = await waitOpen(b.page);
  log(`room ${room}: A is #${idA}, B is #${idB}`);
  expect(idA !== idB, `distinct ids, got ${idA} twice`);
  await waitAttr(a.page, '#members', 'data-count', '2');
  await waitAttr(b.page, '#members', 'data-count', '2');

  // Several moves, each in small steps so the 50 ms throttle has something to
  // hold back; the last position of each burst must still arrive.
  const points = [[120, 90], [500, 350], [930, 640], [260, 560], [733, 211]];
  for (const [x, y] of points) {
    await a.page.mouse.move(x, y, { steps: 6 });
    await waitCursorNear(b.page, idA, mapped(x, y));
  }
  expect(await a.page.locator('.cursor').count() === 0, 'A draws no cursor for itself');

  const sel = `.cursor[data-member-id="${idA}"]`;
  await a.page.mouse.down();
  await waitAttr(b.page, sel, 'data-clicking', 'true');
  mkdirSync(here('./out/'), { recursive: true });
  await b.page.screenshot({ path: here('./out/page_b_clicking.png') });
  await a.page.mouse.up();
  await waitAttr(b.page, sel, 'data-clicking', 'false');

  // B's own moves reach A, so the relay works in both directions.
  await b.page.mouse.move(320, 240, { steps: 3 });
  await waitCursorNear(a.page, idB, mapped(320, 240, VIEW_B, VIEW_A), 'A');
  await a.page.screenshot({ path: here('./out/page_a.png') });

  await a.context.close();
  await b.page.waitForSelector(sel, { state: 'detached' });
  await waitAttr(b.page, '#members', 'data-count', '1');
  await waitAttr(b.page, '#status', 'data-state', 'open');
  await b.page.screenshot({ path: here('./out/page_b_after_leave.png') });

  expect(errors.length === 0, `no page errors, got:\n  ${errors.join('\n  ')}`);
}

async function main() {
  let failed = false;
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${OVERALL_TIMEOUT_MS / 1000} s`)),
                       OVERALL_TIMEOUT_MS);
  });
  try {
    await Promise.race([run(), deadline]);
  } catch (err) {
    failed = true;
    console.error(`browser: FAIL: ${err.message}`);
    if (serverLog) console.error(`--- cursord output (tail) ---\n${serverLog.trimEnd()}\n---`);
  } finally {
    clearTimeout(timer);
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
    await stopServer();
  }
  console.log(`browser: ${failed ? 0 : 1} passed, ${failed ? 1 : 0} failed`);
  process.exit(failed ? 1 : 0);
}

await main();
