// Unit tests of the browser SDK's pure parts (codec, throttle, backoff,
// close policy, interpolation, options) and of the room handle against a
// scripted WebSocket. No browser, no server:
//
//   node --test tests/browser/sdk_unit_test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  backoffDelay, buildUrl, CloseCode, connect, decodeMessage, encodeMove, encodePress,
  fromWire, Interpolator, isFinalClose, MoveThrottle, toWire, validateIdentity,
} from '../../server/web/sdk/cursord.js';

// ---- codec -------------------------------------------------------------------

test('a move is 05 then x and y as big-endian u16', () => {
  assert.deepEqual([...encodeMove(0x1234, 0xfffe)], [0x05, 0x12, 0x34, 0xff, 0xfe]);
  assert.deepEqual([...encodePress(true)], [0x06]);
  assert.deepEqual([...encodePress(false)], [0x07]);
});

test('every server message decodes', () => {
  assert.deepEqual(decodeMessage(new Uint8Array([1, 7])), { type: 'hello', id: 7 });
  assert.deepEqual(decodeMessage(new Uint8Array([2, 0, 7, 255])), { type: 'roster', ids: [0, 7, 255] });
  assert.deepEqual(decodeMessage(new Uint8Array([3, 9])), { type: 'joined', id: 9 });
  assert.deepEqual(decodeMessage(new Uint8Array([4, 9])), { type: 'left', id: 9 });
  assert.deepEqual(decodeMessage(new Uint8Array([5, 9, 0x80, 0x01, 0xff, 0xff]).buffer),
                   { type: 'move', id: 9, x: 0x8001, y: 0xffff });
  assert.deepEqual(decodeMessage(new Uint8Array([6, 3])), { type: 'press', id: 3, pressed: true });
  assert.deepEqual(decodeMessage(new Uint8Array([7, 3])), { type: 'press', id: 3, pressed: false });
});

test('empty, short and unknown messages are ignored', () => {
  for (const bytes of [[], [1], [3], [4], [5, 1, 2, 3, 4], [6], [7], [0], [8, 1], [0xff]]) {
    assert.equal(decodeMessage(new Uint8Array(bytes)), null, `[${bytes}]`);
  }
});

test('fractions map to the full u16 range, clamped, and back within one step', () => {
  assert.equal(toWire(0), 0);
  assert.equal(toWire(1), 65535);
  assert.equal(toWire(-0.5), 0);
  assert.equal(toWire(7), 65535);
  assert.equal(toWire(NaN), 0);
  assert.equal(toWire(0.5), 32767);  // floor, the seed client's rounding
  for (const f of [0.001, 0.25, 0.3333, 0.9999]) {
    assert.ok(Math.abs(fromWire(toWire(f)) - f) <= 1 / 65535, String(f));
  }
});

// ---- close policy and backoff ------------------------------------------------

test('kicks, room closes, refused tokens and client errors are final; the rest retries', () => {
  for (const code of [4000, 4001, 4400, 4401, 4402, 4403, 4405, 4406, 4407, 4408, 4409, 4999,
                      1002, 1003, 1007, 1009, 1010]) {
    assert.equal(isFinalClose(code), true, String(code));
  }
  for (const code of [1000, 1001, 1005, 1006, 1008, 1011, 1012, 1013, 1014, 1015]) {
    assert.equal(isFinalClose(code), false, String(code));
  }
  assert.equal(isFinalClose(CloseCode.TOKEN_EXPIRED, { canRefreshToken: true }), false);
  assert.equal(isFinalClose(4403, { canRefreshToken: true }), true);
});

test('backoff is full jitter under a cap that doubles from 0.5 s to 15 s', () => {
  const caps = [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000];
  caps.forEach((cap, attempt) => {
    assert.equal(backoffDelay(attempt, {}, () => 0), 0);
    assert.equal(backoffDelay(attempt, {}, () => 0.999999), cap - 1, `attempt ${attempt}`);
    assert.equal(backoffDelay(attempt, {}, () => 0.5), cap / 2);
  });
  assert.equal(backoffDelay(1000, {}, () => 0.999999), 14999);  // no overflow
  assert.equal(backoffDelay(2, { minDelayMs: 10, maxDelayMs: 30 }, () => 0.999999), 29);
});

// ---- throttle ----------------------------------------------------------------

// Timers run by hand: `advance(ms)` fires what is due, in order.
function fakeTimers() {
  let now = 0;
  let next = 1;
  const due = new Map();
  return {
    setTimeout(fn, ms) { const id = next++; due.set(id, { at: now + ms, fn }); return id; },
    clearTimeout(id) { due.delete(id); },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let first = null;
        for (const [id, t] of due) if (t.at <= end && (!first || t.at < first[1].at)) first = [id, t];
        if (!first) break;
        due.delete(first[0]);
        now = first[1].at;
        first[1].fn();
      }
      now = end;
    },
    get now() { return now; },
  };
}

test('the throttle sends the first move at once, then at most one per interval, the last one always', () => {
  const timers = fakeTimers();
  const sent = [];
  const throttle = new MoveThrottle(50, (x, y) => { sent.push([timers.now, x, y]); return true; }, timers);
  for (let i = 0; i < 100; i++) {  // a move every 2 ms for 200 ms
    throttle.push(i, i);
    timers.advance(2);
  }
  timers.advance(500);
  assert.deepEqual(sent[0], [0, 0, 0]);
  assert.deepEqual(sent.at(-1).slice(1), [99, 99]);
  for (let i = 1; i < sent.length; i++) {
    assert.ok(sent[i][0] - sent[i - 1][0] >= 50, `gap ${sent[i][0] - sent[i - 1][0]} ms`);
  }
  assert.ok(sent.length <= 200 / 50 + 2, `${sent.length} sends in 200 ms`);
});

test('the throttle skips a repeated position and sends again at once after a quiet interval', () => {
  const timers = fakeTimers();
  const sent = [];
  const throttle = new MoveThrottle(50, (x, y) => { sent.push([timers.now, x, y]); return true; }, timers);
  throttle.push(1, 1);
  timers.advance(10);
  throttle.push(1, 1);
  timers.advance(200);
  assert.equal(sent.length, 1);
  throttle.push(2, 2);
  assert.deepEqual(sent.at(-1), [210, 2, 2]);
});

test('flush sends the pending move ahead of the interval; a failed send stays pending', () => {
  const timers = fakeTimers();
  const sent = [];
  let up = true;
  const throttle = new MoveThrottle(50, (x, y) => { if (up) sent.push([x, y]); return up; }, timers);
  throttle.push(1, 1);
  throttle.push(2, 2);
  assert.equal(throttle.flush(), true);
  assert.deepEqual(sent, [[1, 1], [2, 2]]);
  up = false;
  throttle.push(3, 3);
  timers.advance(200);
  up = true;
  throttle.reset();
  assert.equal(throttle.flush(), true);
  assert.deepEqual(sent.at(-1), [3, 3]);
});

// ---- interpolation -----------------------------------------------------------

test('interpolation shows the first point at once and settles exactly on the last', () => {
  const interp = new Interpolator({ delayMs: 80 });
  interp.add(1, 0.1, 0.2, 1000);
  assert.deepEqual(interp.sample(1, 1000), { x: 0.1, y: 0.2, settled: true });
  interp.add(1, 0.5, 0.6, 1050);
  interp.add(1, 0.9, 0.9, 1100);
  const mid = interp.sample(1, 1100);
  assert.equal(mid.settled, false);
  assert.ok(mid.x > 0.1 && mid.x < 0.9, `x ${mid.x}`);
  assert.deepEqual(interp.sample(1, 1100 + 80), { x: 0.9, y: 0.9, settled: true });
  assert.equal(interp.sample(2, 1100), null);
});

test('interpolation passes through every received point, in order', () => {
  const interp = new Interpolator({ delayMs: 80 });
  const points = [[0.1, 0.1], [0.3, 0.5], [0.6, 0.2], [0.9, 0.8]];
  points.forEach(([x, y], i) => interp.add(7, x, y, 1000 + 50 * i));
  // The first point is shown when it arrives, each later one delayMs after it arrived.
  points.forEach(([x, y], i) => {
    const s = interp.sample(7, 1000 + 50 * i + (i ? 80 : 0));
    assert.ok(Math.abs(s.x - x) < 1e-9 && Math.abs(s.y - y) < 1e-9, `point ${i}: ${s.x}, ${s.y}`);
  });
});

test('after a pause the next move starts from where the cursor rests', () => {
  const interp = new Interpolator({ delayMs: 80 });
  interp.add(1, 0.2, 0.2, 0);
  interp.add(1, 0.8, 0.8, 10000);
  const start = interp.sample(1, 10000);
  assert.ok(Math.abs(start.x - 0.2) < 1e-9, `starts at rest, got ${start.x}`);
  const half = interp.sample(1, 10040);
  assert.ok(half.x > 0.3 && half.x < 0.7, `glides, got ${half.x}`);
  assert.equal(interp.sample(1, 10080).settled, true);
});

// ---- options -----------------------------------------------------------------

test('identity is checked by the server rules before connecting', () => {
  validateIdentity({ room: 'a.b_c~d:e@f-1', name: 'Zoë 🦊', color: '#A0b1C2', user: 'u-1@x' });
  assert.throws(() => validateIdentity({ room: 'a/b' }), /room/);
  assert.throws(() => validateIdentity({ room: 'x'.repeat(129) }), /room/);
  assert.throws(() => validateIdentity({ name: '' }), /name/);
  assert.throws(() => validateIdentity({ name: 'é'.repeat(33) }), /name/);  // 66 bytes
  validateIdentity({ name: 'é'.repeat(32) });                               // 64 bytes
  assert.throws(() => validateIdentity({ name: 'a\nb' }), /name/);
  assert.throws(() => validateIdentity({ name: 'a\u0085b' }), /name/);
  assert.throws(() => validateIdentity({ color: 'red' }), /color/);
  assert.throws(() => validateIdentity({ color: '#12345' }), /color/);
  assert.throws(() => validateIdentity({ user: 'a b' }), /user/);
});

test('the URL gets the room path and the identity query; http becomes ws', () => {
  assert.equal(buildUrl('http://h:1', { room: 'r', name: 'A B', color: '#aabbcc', user: 'u' }),
               'ws://h:1/rooms/r?user=u&name=A+B&color=%23aabbcc');
  assert.equal(buildUrl('wss://h/prefix/', { room: 'r' }), 'wss://h/prefix/rooms/r');
  assert.equal(buildUrl('ws://h/rooms/x', {}), 'ws://h/rooms/x');
  assert.equal(buildUrl('', { room: 'r' }, 'https://site.example/page?q=1#f'),
               'wss://site.example/rooms/r');
  assert.equal(buildUrl('/cursors', { room: 'r' }, 'http://site.example/page'),
               'ws://site.example/cursors/rooms/r');
  assert.throws(() => buildUrl('ftp://h', {}), /url/);
});

test('connect refuses a throttle outside 16..1000 ms and unknown events', () => {
  const WebSocket = class { close() {} };
  assert.throws(() => connect('ws://h', { throttleMs: 15, WebSocket }), RangeError);
  assert.throws(() => connect('ws://h', { throttleMs: 1001, WebSocket }), RangeError);
  const room = connect('ws://h', { throttleMs: 16, WebSocket });
  assert.throws(() => room.on('typo', () => {}), /unknown event/);
  room.on('state', () => {});  // reserved for v2, accepted
  room.close();
});

// ---- the room handle against a scripted socket ---------------------------------

// A WebSocket whose server side the test plays: `sockets` lists every one
// made, `serve(bytes)` delivers a message, `drop(code, reason)` a close.
function scriptedSockets() {
  const sockets = [];
  let made;
  const madePromise = () => new Promise((resolve) => { made = resolve; });
  let waiting = madePromise();
  class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols;
      this.readyState = 1;
      this.sent = [];
      sockets.push(this);
      const resolve = made;
      waiting = madePromise();
      resolve(this);
    }
    send(bytes) { this.sent.push([...bytes]); }
    close() { this.readyState = 3; }
    serve(...bytes) { this.onmessage({ data: new Uint8Array(bytes).buffer }); }
    drop(code, reason = '') { this.readyState = 3; this.onclose({ code, reason }); }
  }
  return { FakeWebSocket, sockets, next: () => waiting };
}

function record(room) {
  const events = [];
  for (const type of ['join', 'leave', 'move', 'click', 'status']) {
    room.on(type, (e) => events.push(type === 'status'
      ? `status ${e.state}${e.code ? ' ' + e.code : ''}${e.reason ? ' ' + e.reason : ''}`
      : `${type} ${e.member.id}${type === 'move' ? ` ${e.x.toFixed(3)},${e.y.toFixed(3)}` : ''}` +
        `${type === 'click' ? ` ${e.pressed}` : ''}`));
  }
  return events;
}

test('roster members join, then moves, clicks and leaves arrive as events', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket });
  const events = record(room);
  const ws = await next();
  assert.deepEqual(ws.protocols, []);  // no token: nothing offered, as the seed client
  ws.serve(1, 2);
  ws.serve(2, 0, 2, 5);
  ws.serve(5, 5, 0xff, 0xff, 0, 0);
  ws.serve(6, 5);
  ws.serve(3, 9);
  ws.serve(7, 5);
  ws.serve(4, 0);
  assert.deepEqual(events, ['status connecting', 'join 0', 'join 5', 'status open',
                            'move 5 1.000,0.000', 'click 5 true', 'join 9', 'click 5 false',
                            'leave 0']);
  assert.deepEqual(room.others().map((m) => m.id), [5, 9]);
  assert.equal(room.selfId, 2);
  assert.equal(room.member(5).color, room.member(5).color);
  assert.equal(room.member(5).name, null);
  room.close();
  assert.deepEqual(events.slice(-3), ['leave 5', 'leave 9', 'status closed 1000 closed by the client']);
});

test('a kick is final: status closed with the reason, no new socket, everyone left', async () => {
  const { FakeWebSocket, sockets, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket,
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  const events = record(room);
  const ws = await next();
  ws.serve(1, 1);
  ws.serve(2, 1, 3);
  ws.drop(4000, 'be nice');
  assert.deepEqual(events.slice(-2), ['leave 3', 'status closed 4000 be nice']);
  // A reconnect would have been scheduled 0-1 ms out; a timer set now fires after it.
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(sockets.length, 1);
  assert.equal(room.status.state, 'closed');
});

test('a lost connection reconnects; members seen again stay, my position is sent again', async () => {
  const { FakeWebSocket, sockets, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket,
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  const events = record(room);
  let ws = await next();
  ws.serve(1, 1);
  ws.serve(2, 1, 3, 4);
  room.setCursorFraction(0.5, 0.25);
  assert.deepEqual(ws.sent, [[5, 0x7f, 0xff, 0x3f, 0xff]]);
  ws.drop(1001, 'server shutting down');
  assert.equal(room.status.state, 'reconnecting');
  assert.equal(room.status.code, 1001);
  assert.equal(room.others().length, 2, 'others kept through the grace period');
  ws = await next();
  ws.serve(1, 2);
  ws.serve(2, 2, 3, 7);
  assert.deepEqual(events.slice(-4), ['status reconnecting 1001 server shutting down',
                                      'leave 4', 'join 7', 'status open']);
  assert.deepEqual(ws.sent, [[5, 0x7f, 0xff, 0x3f, 0xff]], 'the position again, on the new connection');
  assert.equal(sockets.length, 2);
  assert.equal(room.selfId, 2);
  room.close();
});

test('a token rides as a subprotocol; a token function is asked again after 4406', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  let n = 0;
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket,
                                   token: async () => `t${++n}`,
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  let ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v1', 'cursord.token.t1']);
  assert.ok(!ws.url.includes('t1'));
  ws.drop(4406, 'token expired');
  assert.equal(room.status.state, 'reconnecting');
  ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v1', 'cursord.token.t2']);
  ws.drop(4403, 'token not valid for this room');
  assert.equal(room.status.state, 'closed');
  assert.equal(room.status.reason, 'token not valid for this room');
});

test('a token function that throws is a failed attempt, retried', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  let calls = 0;
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket,
                                   token: () => { if (++calls === 1) throw new Error('backend down'); return 'ok'; },
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  const events = record(room);
  const ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v1', 'cursord.token.ok']);
  assert.deepEqual(events, ['status connecting', 'status reconnecting 1006 token: backend down']);
  room.close();
});

test('the backoff grows while attempts fail and starts over after a stable connection', async () => {
  for (const [stableAfterMs, wantAfterOpen] of [[0, 1], [60_000, 4]]) {
    const { FakeWebSocket, next } = scriptedSockets();
    const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket, random: () => 0.999,
                                     reconnect: { minDelayMs: 4, maxDelayMs: 1000, stableAfterMs } });
    const seen = [];
    room.on('status', (s) => { if (s.state === 'reconnecting') seen.push([s.attempt, s.delayMs]); });
    for (let i = 0; i < 3; i++) (await next()).drop(1006);
    assert.deepEqual(seen, [[1, 3], [2, 7], [3, 15]]);  // caps 4, 8, 16 ms
    const ws = await next();
    ws.serve(1, 0);
    ws.serve(2, 0);
    ws.drop(1001);
    assert.equal(seen.at(-1)[0], wantAfterOpen, `stableAfterMs ${stableAfterMs}`);
    room.close();
  }
});
