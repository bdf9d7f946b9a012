// End-to-end check of the demo page: a real cursord, Debian's Chromium, two
// pages in one room with different viewport sizes: positions, clicks, names
// and colours (protocol v2) on cursors and in the member list, an identity
// edited on the page and kept across a reload, bad input explained; a page
// that reloads is shown reconnecting and keeps its cursor, one that goes is
// shown reconnecting and removed after the SDK's grace.
//
//   node demo_test.mjs <path to cursord>
//
// Exit codes: 0 passed, 1 failed, 2 bad usage, 77 skipped (no Chromium or no
// node_modules; ctest treats 77 as SKIP).

import { mkdirSync } from 'node:fs';

import {
  Cursord, expect, freePort, here, launchBrowser, loadChromium, log, main, openPage, sleep,
  STEP_TIMEOUT_MS,
} from './harness.mjs';

const OVERALL_TIMEOUT_MS = 60_000;

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node demo_test.mjs <path to cursord>');
  process.exit(2);
}
const chromium = await loadChromium();

// The two viewports differ in both axes so the test notices a page that sends
// pixels instead of the 0..65535 fraction.
const VIEW_A = { width: 1000, height: 700 };
const VIEW_B = { width: 640, height: 480 };
const TOLERANCE_PX = 3;

let server = null;
let browser = null;

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

// The member list as the page shows it.
function memberList(page) {
  return page.evaluate(() => [...document.querySelectorAll('#member-list li')].map((li) => ({
    id: Number(li.dataset.memberId), name: li.dataset.name, color: li.dataset.color,
    self: li.dataset.self === 'true', away: li.dataset.away === 'true', text: li.textContent,
  })));
}

// Records, in the page, the SDK's away, back and leave events with what the
// page shows at that moment (its own listeners ran first): the member's
// cursor and list entry.
async function recordPresence(page) {
  await page.evaluate(() => {
    window.presence = [];
    const shown = (member) => {
      const cursor = document.querySelector(`.cursor[data-member-key="${member.key}"]`);
      const li = document.querySelector(`#member-list li[data-member-key="${member.key}"]`);
      return { cursor: cursor ? { id: cursor.dataset.memberId, away: cursor.dataset.away,
                                  probe: cursor.dataset.probe ?? null } : null,
               listed: li ? { away: li.dataset.away, text: li.textContent } : null };
    };
    for (const type of ['away', 'back', 'leave']) {
      window.cursordRoom.on(type, (e) => window.presence.push({
        type, id: e.member.id, name: e.member.name, previous: e.previous?.id, ...shown(e.member) }));
    }
  });
}

async function waitPresence(page, want, label) {
  try {
    await page.waitForFunction((want) => window.presence.some(
      (e) => Object.entries(want).every(([k, v]) => e[k] === v)), want, { timeout: STEP_TIMEOUT_MS });
  } catch {
    throw new Error(`page ${label} should see ${JSON.stringify(want)}, but saw ` +
                    JSON.stringify(await page.evaluate(() => window.presence)));
  }
}

// Waits until the member list has an entry matching every field of `want`.
async function waitMember(page, want, label) {
  try {
    await page.waitForFunction((want) => [...document.querySelectorAll('#member-list li')].some((li) => {
      const m = { id: Number(li.dataset.memberId), name: li.dataset.name, color: li.dataset.color,
                  self: li.dataset.self === 'true' };
      return Object.entries(want).every(([k, v]) => m[k] === v);
    }), want, { timeout: STEP_TIMEOUT_MS });
  } catch {
    throw new Error(`page ${label}'s member list should show ${JSON.stringify(want)}, ` +
                    `but it is ${JSON.stringify(await memberList(page))}`);
  }
}

async function waitOpen(page) {
  await page.waitForSelector('#status[data-state="open"]:not([data-my-id=""])');
  expect(await page.isHidden('#picker'), 'the room picker hidden on a room page');
  return Number(await page.getAttribute('#status', 'data-my-id'));
}

async function run() {
  server = new Cursord(binary, { port: await freePort(), controlPort: await freePort() });
  const base = await server.start();
  log(`cursord is serving on ${base}`);

  browser = await launchBrowser(chromium);

  const room = `browser-${Date.now().toString(36)}-${process.pid}`;
  const errors = [];

  // Page A arrives through the room picker at "/", which must carry the name
  // and colour through to the room URL.
  const a = await openPage(browser, VIEW_A, 'A', errors);
  await a.page.goto(`${base}/?name=alice`);
  await a.page.fill('#room-input', room);
  await a.page.click('#picker button[type="submit"]');
  await a.page.waitForURL((url) => url.pathname === `/rooms/${room}`);
  const aUrl = new URL(a.page.url());
  expect(aUrl.searchParams.get('name') === 'alice', `?name=alice kept, got ${aUrl.search}`);
  const idA = await waitOpen(a.page);

  const b = await openPage(browser, VIEW_B, 'B', errors);
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

  // ---- names and colours (protocol v2) ----------------------------------------
  expect(await a.page.getAttribute('#status', 'data-protocol') === 'v2', 'the demo speaks v2');
  // B gave no name: a guest name, with the colour the server derives from it.
  const selfB = await b.page.evaluate(() => window.cursordRoom.self);
  expect(/^Guest \d{3}$/.test(selfB.name), `B named as a guest, got ${JSON.stringify(selfB.name)}`);
  expect(/^#[0-9a-f]{6}$/.test(selfB.color), `B's colour from the server, got ${selfB.color}`);
  await waitMember(a.page, { id: idA, name: 'alice', self: true }, 'A');
  await waitMember(a.page, { id: idB, name: selfB.name, color: selfB.color, self: false }, 'A');
  await waitMember(b.page, { id: idA, name: 'alice', self: false }, 'B');
  await waitMember(b.page, { id: idB, name: selfB.name, self: true }, 'B');
  const tagOfA = await b.page.textContent(`.cursor[data-member-id="${idA}"] .tag`);
  expect(tagOfA === 'alice', `A's cursor in B tagged "alice", got "${tagOfA}"`);
  expect((await memberList(b.page)).find((m) => m.self).text.includes('(you)'), 'B marked as you');

  // A changes name and colour on the page: bad values are explained there
  // and change nothing; good ones reach B.
  await a.page.click('#edit-identity');
  await a.page.fill('#identity-name', 'é'.repeat(33));  // 66 bytes
  await a.page.click('#identity-form button[type="submit"]');
  let problem = await a.page.textContent('#identity-error');
  expect(/name must be 1-64 bytes/i.test(problem), `a long name explained, got "${problem}"`);
  await a.page.fill('#identity-name', 'Ada');
  await a.page.fill('#identity-color', 'blue');
  await a.page.click('#identity-form button[type="submit"]');
  problem = await a.page.textContent('#identity-error');
  expect(/color must be #rrggbb/i.test(problem), `a bad colour explained, got "${problem}"`);
  expect(await a.page.getAttribute('#status', 'data-state') === 'open', 'A still in the room meanwhile');
  await a.page.fill('#identity-color', '#1e88e5');
  await a.page.click('#identity-form button[type="submit"]');
  expect(await a.page.isHidden('#identity-form'), 'the form closed once saved');
  await waitMember(b.page, { name: 'Ada', color: '#1e88e5', self: false }, 'B');
  await waitMember(a.page, { name: 'Ada', color: '#1e88e5', self: true }, 'A');

  // ---- a reload: shown reconnecting, then back on the same cursor --------------
  // Ada's cursor in B, marked, so that B keeping that very element shows.
  const idAda = await a.page.evaluate(() => window.cursordRoom.selfId);
  await a.page.mouse.move(200, 150, { steps: 2 });
  await waitCursorNear(b.page, idAda, mapped(200, 150));
  await b.page.evaluate((id) => {
    document.querySelector(`.cursor[data-member-id="${id}"]`).dataset.probe = 'kept';
  }, idAda);
  await recordPresence(b.page);
  await a.page.reload();
  const idA2 = await waitOpen(a.page);
  await waitPresence(b.page, { type: 'back', id: idA2, previous: idAda }, 'B');
  const reload = (await b.page.evaluate(() => window.presence)).filter((e) => e.name === 'Ada');
  expect(reload.length === 2 && reload[0].type === 'away' && reload[0].cursor?.away === 'true' &&
         reload[0].cursor.probe === 'kept' && reload[0].listed?.away === 'true' &&
         /Ada\s*reconnecting…/.test(reload[0].listed.text),
         `B to show Ada reconnecting (cursor dimmed, listed as reconnecting…), got ${JSON.stringify(reload)}`);
  expect(reload[1].cursor?.id === String(idA2) && reload[1].cursor.away === 'false' &&
         reload[1].cursor.probe === 'kept' && reload[1].listed?.away === 'false',
         `B to keep Ada's cursor for her new id ${idA2}, no longer dimmed, got ${JSON.stringify(reload[1])}`);
  const adas = (await memberList(b.page)).filter((m) => m.name === 'Ada');
  expect(adas.length === 1 && adas[0].id === idA2 && !adas[0].away,
         `Ada listed once in B, as #${idA2}, got ${JSON.stringify(adas)}`);
  await b.page.screenshot({ path: here('./out/page_b_back.png') });

  // B reloads too: each keeps its name and colour (kept for the tab), and
  // each sees the other's again.
  await b.page.reload();
  const idB2 = await waitOpen(b.page);
  expect(!new URL(a.page.url()).searchParams.has('name'), 'the edited name is not in the URL');
  await waitMember(a.page, { id: idA2, name: 'Ada', color: '#1e88e5', self: true }, 'A');
  await waitMember(a.page, { id: idB2, name: selfB.name, color: selfB.color, self: false }, 'A');
  await waitMember(b.page, { id: idA2, name: 'Ada', color: '#1e88e5', self: false }, 'B');
  await waitMember(b.page, { id: idB2, name: selfB.name, color: selfB.color, self: true }, 'B');
  await a.page.mouse.move(400, 300, { steps: 2 });
  await waitCursorNear(b.page, idA2, mapped(400, 300));
  const tagOfAda = await b.page.textContent(`.cursor[data-member-id="${idA2}"] .tag`);
  expect(tagOfAda === 'Ada', `A's cursor tagged "Ada" after the reload, got "${tagOfAda}"`);
  await b.page.screenshot({ path: here('./out/page_b_names.png') });

  // ---- a page that goes: reconnecting for the SDK's grace, then removed ------------
  await recordPresence(b.page);
  await a.context.close();
  await waitPresence(b.page, { type: 'away', id: idA2, name: 'Ada' }, 'B');
  await waitAttr(b.page, `.cursor[data-member-id="${idA2}"]`, 'data-away', 'true');
  await waitAttr(b.page, `#member-list li[data-member-id="${idA2}"]`, 'data-away', 'true');
  await waitAttr(b.page, '#members', 'data-count', '1');  // here: B alone; Ada listed, not counted
  await b.page.screenshot({ path: here('./out/page_b_reconnecting.png') });
  // memberGraceMs (5 s) later: gone.
  await b.page.waitForSelector(`.cursor[data-member-id="${idA2}"]`, { state: 'detached' });
  await waitPresence(b.page, { type: 'leave', id: idA2, name: 'Ada' }, 'B');
  const gone = await b.page.evaluate(() => window.presence);
  expect(JSON.stringify(gone.map((e) => e.type)) === '["away","leave"]' && gone[1].cursor === null &&
         gone[1].listed === null, `Ada away, then removed from cursors and list, got ${JSON.stringify(gone)}`);
  expect((await memberList(b.page)).length === 1, 'B alone in its list');
  await waitAttr(b.page, '#status', 'data-state', 'open');
  await b.page.screenshot({ path: here('./out/page_b_after_leave.png') });

  expect(errors.length === 0, `no page errors, got:\n  ${errors.join('\n  ')}`);
}

await main('demo', OVERALL_TIMEOUT_MS, run, {
  serverLog: () => server?.log,
  run: async () => {
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
    await server?.stop();
  },
});
