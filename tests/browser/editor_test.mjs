// End-to-end check of the editor example (/examples/editor): a real cursord,
// Debian's Chromium, pages of different sizes scrolled to different places.
//
//   node editor_test.mjs <path to cursord>
//
// The rules: a text selection made in one page (with the mouse) is
// highlighted over the same characters in the others, carried by the
// member's v2 state, and kept for a late joiner; a pointer resting on a word
// in one page is drawn over the same word in the others (positions are
// fractions of the document element, not of the window); neither moves off
// its text when a page scrolls or its window is resized; a selection that
// leaves the document clears the highlight; a member whose page goes is
// listed as reconnecting with its selection dimmed, both removed after the
// SDK's grace. With --no-demo the page is not served.
//
// Exit codes: 0 passed, 1 failed, 2 bad usage, 77 skipped.

import { mkdirSync } from 'node:fs';

import {
  Cursord, expect, freePort, here, launchBrowser, loadChromium, log, main, openPage, sleep,
  STEP_TIMEOUT_MS, waitIn,
} from './harness.mjs';

const OVERALL_TIMEOUT_MS = 60_000;
// The wire's resolution is 1/65535 of the document's height (about 0.2 px
// here); the rest is sub-pixel layout.
const TOLERANCE_PX = 1.5;

const binary = process.argv[2];
if (!binary) {
  console.error('usage: node editor_test.mjs <path to cursord>');
  process.exit(2);
}
const chromium = await loadChromium();

let server = null;
let browser = null;

// Opens the editor in a context of its own whose tab already has a name and
// colour (as the demo page stores them).
async function openEditor(base, room, viewport, label, identity, errors) {
  const p = await openPage(browser, viewport, label, errors);
  await p.context.addInitScript((identity) => {
    sessionStorage.setItem('cursord.identity', JSON.stringify(identity));
  }, identity);
  await p.page.goto(`${base}/examples/editor?room=${room}`);
  await p.page.waitForSelector('#status[data-state="open"]:not([data-my-id=""])');
  p.id = Number(await p.page.getAttribute('#status', 'data-my-id'));
  expect(await p.page.getAttribute('#status', 'data-protocol') === 'v2', `${label} speaks v2`);
  return p;
}

// Client rects (viewport pixels, in that page) of characters [start, end) of
// the document, and the text they hold.
function textRects(page, start, end) {
  return page.evaluate(({ start, end }) => {
    const r = document.createRange();
    const node = document.getElementById('text').firstChild;
    r.setStart(node, start);
    r.setEnd(node, end);
    return { text: r.toString(),
             rects: [...r.getClientRects()].filter((q) => q.width > 0)
               .map((q) => ({ left: q.left, top: q.top, width: q.width, height: q.height })) };
  }, { start, end });
}

// Scrolls the page's document so that character `offset` is `y` px below
// the top of the window (and `x` px to the right, where the page is
// narrower than the document).
async function scrollTo(page, offset, y, x = 0) {
  await page.evaluate(({ offset, y, x }) => {
    const r = document.createRange();
    const node = document.getElementById('text').firstChild;
    r.setStart(node, offset);
    r.setEnd(node, offset + 1);
    const scroller = document.getElementById('scroller');
    scroller.scrollTop += r.getBoundingClientRect().top - y;
    scroller.scrollLeft = x;
  }, { offset, y, x });
}

const near = (a, b) => Math.abs(a - b) <= TOLERANCE_PX;

// Waits until `member`'s highlight in `p` covers exactly characters
// [start, end): one mark per line fragment of that text in p's own layout,
// each on its fragment.
async function waitHighlight(p, member, start, end, when) {
  const want = await textRects(p.page, start, end);
  await waitIn(p.page, `${p.label} to highlight #${member}'s selection ${when}`,
               ({ member, want, tol }) => {
                 const marks = [...document.querySelectorAll(`#marks .mark[data-member-id="${member}"]`)]
                   .map((el) => el.getBoundingClientRect());
                 const close = (a, b) => Math.abs(a - b) <= tol;
                 return marks.length === want.rects.length && want.rects.every((w, i) =>
                   close(marks[i].left, w.left) && close(marks[i].top, w.top) &&
                   close(marks[i].width, w.width) && close(marks[i].height, w.height));
               }, { member, want, tol: TOLERANCE_PX },
               ({ member }) => [...document.querySelectorAll(`#marks .mark[data-member-id="${member}"]`)]
                 .map((el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.width]; }));
  return want;
}

// Waits until `member`'s cursor in `p` points at (x, y), in p's viewport.
async function waitCursorAt(p, member, want, when) {
  await waitIn(p.page, `${p.label} to draw #${member}'s cursor at (${want.x.toFixed(1)}, ${want.y.toFixed(1)}) ${when}`,
               ({ member, want, tol }) => {
                 const el = document.querySelector(`#cursors .cursor[data-member-id="${member}"]`);
                 if (!el) return false;
                 const r = el.getBoundingClientRect();
                 return Math.abs(r.left - want.x) <= tol && Math.abs(r.top - want.y) <= tol;
               }, { member, want, tol: TOLERANCE_PX },
               ({ member }) => {
                 const el = document.querySelector(`#cursors .cursor[data-member-id="${member}"]`);
                 if (!el) return 'no cursor';
                 const r = el.getBoundingClientRect();
                 return [r.left, r.top];
               });
}

// The middle of a word in the page's viewport.
async function wordCentre(page, start, word) {
  const { text, rects } = await textRects(page, start, start + word.length);
  expect(text === word && rects.length === 1, `"${word}" on one line at ${start}, got "${text}"`);
  return { x: rects[0].left + rects[0].width / 2, y: rects[0].top + rects[0].height / 2 };
}

async function run() {
  server = new Cursord(binary, { port: await freePort(), controlPort: await freePort() });
  const base = await server.start();
  log(`cursord is serving on ${base}`);
  browser = await launchBrowser(chromium);
  const room = `editor-${Date.now().toString(36)}-${process.pid}`;
  const errors = [];

  // Of different sizes: B is narrower than the document, so it also
  // scrolls sideways.
  const A = await openEditor(base, room, { width: 1200, height: 800 }, 'A',
                             { name: 'Ann', color: '#e53935' }, errors);
  const B = await openEditor(base, room, { width: 700, height: 520 }, 'B',
                             { name: 'Ben', color: null }, errors);
  log(`room ${room}: A is #${A.id}, B is #${B.id}`);
  await waitIn(B.page, "B to list Ann with her colour",
               (id) => { const li = document.querySelector(`#members li[data-member-id="${id}"]`);
                         return li && li.textContent === 'Ann' && getComputedStyle(li).getPropertyValue('--c') === '#e53935'; },
               A.id, () => document.getElementById('members').innerHTML);

  const doc = await A.page.evaluate(() => document.getElementById('text').textContent);
  const docHeight = await A.page.evaluate(() => document.getElementById('doc').offsetHeight);
  expect(docHeight > 3 * 800, `a document much longer than the window, got ${docHeight} px`);

  // ---- a selection, made with the mouse in A, highlighted in B ------------------
  const start = doc.indexOf('Entry 37.');
  const end = doc.indexOf('.', doc.indexOf('.', start + 'Entry 37.'.length) + 1) + 1;  // and its next sentence
  const phrase = doc.slice(start, end);
  await scrollTo(A.page, start, 150);
  await scrollTo(B.page, start, 380, 25);
  const inA = await textRects(A.page, start, end);
  expect(inA.rects.length >= 2, `a selection over several lines, got ${inA.rects.length}`);
  const first = inA.rects[0];
  const last = inA.rects.at(-1);
  await A.page.mouse.move(first.left + 1, first.top + first.height / 2);
  await A.page.mouse.down();
  await A.page.mouse.move(last.left + last.width - 1, last.top + last.height / 2, { steps: 8 });
  await A.page.mouse.up();
  const selected = await A.page.evaluate(() => getSelection().toString());
  expect(selected === phrase, `A's mouse selected "${phrase}", got "${selected}"`);

  await waitHighlight(B, A.id, start, end, 'scrolled elsewhere in a smaller window');
  const inB = await textRects(B.page, start, end);
  expect(inB.text === phrase, `the same characters in B, got "${inB.text}"`);
  expect(Math.abs(inB.rects[0].top - inA.rects[0].top) > 100,
         `the text at different places in the two windows (${inA.rects[0].top}, ${inB.rects[0].top})`);
  mkdirSync(here('./out/'), { recursive: true });
  await B.page.screenshot({ path: here('./out/editor_b_selection.png') });

  // A late joiner of yet another size gets it from the join sequence.
  const C = await openEditor(base, room, { width: 900, height: 600 }, 'C',
                             { name: 'Cy', color: '#43a047' }, errors);
  await scrollTo(C.page, start, 60);
  await waitHighlight(C, A.id, start, end, 'after joining late');

  // ---- a pointer on a word in A (the first "headland" after Entry 41), drawn over the same word in B
  const wordAt = doc.indexOf('headland', doc.indexOf('Entry 41.'));
  await scrollTo(A.page, wordAt, 500);
  await scrollTo(B.page, wordAt, 120, 60);
  const target = await wordCentre(A.page, wordAt, 'headland');
  await A.page.mouse.move(target.x - 40, target.y - 30);
  await A.page.mouse.move(target.x, target.y, { steps: 5 });
  await waitCursorAt(B, A.id, await wordCentre(B.page, wordAt, 'headland'), 'over "headland"');
  await waitCursorAt(C, A.id, await wordCentre(C.page, wordAt, 'headland'), 'over "headland"');
  await B.page.screenshot({ path: here('./out/editor_b_cursor.png') });

  // ---- neither moves off its text when B scrolls or its window changes ---------
  await B.page.evaluate(() => { document.getElementById('scroller').scrollTop -= 137; });
  await waitCursorAt(B, A.id, await wordCentre(B.page, wordAt, 'headland'), 'after B scrolled');
  await B.page.setViewportSize({ width: 980, height: 430 });
  await waitCursorAt(B, A.id, await wordCentre(B.page, wordAt, 'headland'), 'after B was resized');
  await scrollTo(B.page, start, 200);
  await waitHighlight(B, A.id, start, end, 'after B was resized and scrolled back');

  // ---- a selection that leaves the document clears the highlight ----------------
  await A.page.click('header h1');
  await waitIn(B.page, "A's highlight gone once A selected outside the document",
               (id) => !document.querySelector(`#marks [data-member-id="${id}"]`), A.id);
  // C's highlight goes too, and B's own selection reaches A (the other way round).
  await waitIn(C.page, "A's highlight gone in C",
               (id) => !document.querySelector(`#marks [data-member-id="${id}"]`), A.id);
  await B.page.evaluate(({ start }) => {
    const node = document.getElementById('text').firstChild;
    getSelection().setBaseAndExtent(node, start, node, start + 'Entry 37'.length);
  }, { start });
  await scrollTo(A.page, start, 300);
  await waitHighlight(A, B.id, start, start + 'Entry 37'.length, 'the other way round');

  // ---- a member whose page goes: reconnecting, dimmed, then removed ----------------
  await B.context.close();
  await waitIn(A.page, "A to list Ben as reconnecting, his selection dimmed",
               (id) => {
                 const li = document.querySelector(`#members li[data-member-id="${id}"]`);
                 const marks = [...document.querySelectorAll(`#marks [data-member-id="${id}"]`)];
                 return li?.dataset.away === 'true' && li.textContent === 'Ben (reconnecting…)' &&
                        marks.length > 0 && marks.every((el) => el.dataset.away === 'true');
               }, B.id, () => document.getElementById('members').innerHTML);
  await A.page.screenshot({ path: here('./out/editor_a_reconnecting.png') });
  // memberGraceMs (5 s) later.
  await waitIn(A.page, 'Ben and his selection gone after the grace',
               (id) => !document.querySelector(`#members li[data-member-id="${id}"]`) &&
                       !document.querySelector(`#marks [data-member-id="${id}"]`), B.id,
               () => document.getElementById('members').innerHTML);

  // ---- not served with --no-demo --------------------------------------------------
  const quiet = new Cursord(binary, { port: await freePort(), controlPort: await freePort() });
  try {
    const quietBase = await quiet.start(['--no-demo']);
    const res = await fetch(`${quietBase}/examples/editor`);
    await res.arrayBuffer();
    expect(res.status === 404, `/examples/editor 404 with --no-demo, got ${res.status}`);
  } finally {
    await quiet.stop();
  }
  const served = await fetch(`${base}/examples/editor`);
  expect(served.status === 200 && served.headers.get('content-type').startsWith('text/html'),
         `/examples/editor served as HTML, got ${served.status} ${served.headers.get('content-type')}`);
  await served.arrayBuffer();

  expect(errors.length === 0, `no page errors, got:\n  ${errors.join('\n  ')}`);
}

await main('editor', OVERALL_TIMEOUT_MS, run, {
  serverLog: () => server?.log,
  run: async () => {
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
    await server?.stop();
  },
});
