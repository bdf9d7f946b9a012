// What the browser tests share: a real cursord as a child process (started,
// stopped and restarted on the same port), Debian's Chromium through
// playwright-core, waits that say what they waited for, and the exit-code
// contract with ctest (0 passed, 1 failed, 2 bad usage, 77 skipped).

import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const EXIT_SKIP = 77;
export const STEP_TIMEOUT_MS = 10_000;
export const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export function log(msg) {
  console.log(`browser: ${msg}`);
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function expect(cond, what) {
  if (!cond) throw new Error(`expected ${what}`);
}

// Exits 77 (skip) when Chromium or node_modules is missing; else returns
// playwright-core's chromium.
export async function loadChromium() {
  if (!existsSync(CHROMIUM)) {
    console.log(`browser: SKIP: ${CHROMIUM} is not installed`);
    process.exit(EXIT_SKIP);
  }
  if (!existsSync(here('./node_modules/playwright-core/package.json'))) {
    console.log('browser: SKIP: tests/browser/node_modules is missing (run `npm ci` there)');
    process.exit(EXIT_SKIP);
  }
  const { chromium } = await import('playwright-core');
  return chromium;
}

export async function freePort() {
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

// One cursord process at a time on fixed ports, so a restart comes back
// where the clients reconnect to.
export class Cursord {
  constructor(binary, { port, controlPort }) {
    this.binary = binary;
    this.port = port;
    this.controlPort = controlPort;
    this.base = `http://127.0.0.1:${port}`;
    this.control = `127.0.0.1:${controlPort}`;
    this.log = '';
    this.proc = null;
  }

  async start(extraArgs = []) {
    // A stop closes every page with 1001 at once (the drain's delay and
    // spread are for load balancers and other instances, not for tests).
    const args = ['--listen', `127.0.0.1:${this.port}`, '--control-listen', this.control,
                  '--drain-delay', '0', '--drain-spread', '0', ...extraArgs];
    const proc = spawn(this.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const keep = (chunk) => { this.log = (this.log + chunk).slice(-8000); };
    proc.stdout.on('data', keep);
    proc.stderr.on('data', keep);
    proc.once('error', (err) => { this.log += `\nspawn error: ${err.message}`; });
    const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    for (let i = 0; i < 100; i++) {
      const early = await Promise.race([exited, sleep(100).then(() => null)]);
      if (early) throw new Error(`cursord exited before serving (code ${early.code}, signal ${early.signal})`);
      try {
        const res = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        return this.base;
      } catch {
        // Not listening yet.
      }
    }
    throw new Error(`cursord did not answer on ${this.base} within 10 s`);
  }

  // SIGTERM: cursord closes every session with 1001 and exits. SIGKILL: the
  // connections just drop (the browser sees 1006).
  async stop(signal = 'SIGTERM') {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise((resolve) => proc.once('exit', resolve));
    try { process.kill(proc.pid, signal); } catch { return; }
    if (await Promise.race([gone.then(() => true), sleep(3000).then(() => false)])) return;
    log(`cursord ignored ${signal} for 3 s; sending SIGKILL`);
    try { process.kill(proc.pid, 'SIGKILL'); } catch { /* already gone */ }
    await Promise.race([gone, sleep(2000)]);
  }
}

// Runs cursorctl against `server`'s control plane; resolves with its stdout,
// rejects with its stderr when it exits non-zero.
export function cursorctl(binary, server, args) {
  return new Promise((resolve, reject) => {
    execFile(binary, ['--server', server.control, ...args], { timeout: STEP_TIMEOUT_MS },
             (err, stdout, stderr) => {
               if (err) reject(new Error(`cursorctl ${args.join(' ')}: ${stderr || err.message}`));
               else resolve(stdout);
             });
  });
}

export async function launchBrowser(chromium) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: STEP_TIMEOUT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page in its own context (its own cookies and storage, as another person's
// browser), whose errors are collected into `errors`.
export async function openPage(browser, viewport, label, errors) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on('pageerror', (err) => errors.push(`${label}: ${err.message}`));
  page.on('console', (msg) => { if (msg.type() === 'error') errors.push(`${label} console: ${msg.text()}`); });
  return { context, page, label };
}

// Waits for `fn(arg)` to be truthy in the page; on timeout the error names
// `what` and shows `describe(arg)`'s value from the page.
export async function waitIn(page, what, fn, arg, describe) {
  try {
    return await page.waitForFunction(fn, arg, { timeout: STEP_TIMEOUT_MS });
  } catch (err) {
    let got = '';
    if (describe) got = ` (now: ${JSON.stringify(await page.evaluate(describe, arg).catch((e) => e.message))})`;
    throw new Error(`timed out waiting for ${what}${got}`);
  }
}

// Runs `run` within `timeoutMs`, prints the verdict and the server's log on
// failure, cleans up, and exits with ctest's codes.
export async function main(name, timeoutMs, run, cleanup) {
  let failed = false;
  let timer;
  const deadline = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([run(), deadline]);
  } catch (err) {
    failed = true;
    console.error(`browser: FAIL: ${err.message}`);
    const serverLog = cleanup.serverLog?.();
    if (serverLog) console.error(`--- cursord output (tail) ---\n${serverLog.trimEnd()}\n---`);
  } finally {
    clearTimeout(timer);
    await cleanup.run().catch((err) => console.error(`browser: cleanup: ${err.message}`));
  }
  console.log(`browser: ${name}: ${failed ? 0 : 1} passed, ${failed ? 1 : 0} failed`);
  process.exit(failed ? 1 : 0);
}
