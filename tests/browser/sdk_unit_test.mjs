// Unit tests of the browser SDK's pure parts (codec v1 and v2, throttle,
// backoff, close policy, interpolation, options, state encoding) and of the
// room handle against a scripted WebSocket (v2 negotiation and fallback,
// member info, state). No browser, no server:
//
//   node --test tests/browser/sdk_unit_test.mjs

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  backoffDelay, buildUrl, CloseCode, connect, decodeMessage, encodeMove, encodePress,
  encodeState, fromWire, Interpolator, isFinalClose, LatestThrottle, MoveThrottle,
  parseStateJson, sameBytes, stateBytes, toWire, validateIdentity,
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
  room.on('state', () => {});
  assert.throws(() => connect('ws://h', { maxStateBytes: -1, WebSocket }), RangeError);
  assert.throws(() => connect('ws://h', { maxStateBytes: 1.5, WebSocket }), RangeError);
  assert.throws(() => connect('ws://h', { protocol: 'v3', WebSocket }), TypeError);
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
      this.protocol = '';
      this.readyState = 1;
      this.sent = [];
      sockets.push(this);
      const resolve = made;
      waiting = madePromise();
      resolve(this);
    }
    send(bytes) { this.sent.push([...bytes]); }
    close() { this.readyState = 3; }
    // The 101, selecting `protocol` ('' for none), as a browser reports it.
    accept(protocol = '') { this.protocol = protocol; this.onopen?.(); }
    serve(...bytes) { this.onmessage({ data: new Uint8Array(bytes).buffer }); }
    drop(code, reason = '') { this.readyState = 3; this.onclose({ code, reason }); }
  }
  return { FakeWebSocket, sockets, next: () => waiting };
}

function record(room) {
  const events = [];
  for (const type of ['join', 'leave', 'move', 'click', 'status', 'away', 'back']) {
    room.on(type, (e) => events.push(type === 'status'
      ? `status ${e.state}${e.code ? ' ' + e.code : ''}${e.reason ? ' ' + e.reason : ''}`
      : `${type} ${e.member.id}${type === 'move' ? ` ${e.x.toFixed(3)},${e.y.toFixed(3)}` : ''}` +
        `${type === 'click' ? ` ${e.pressed}` : ''}${type === 'back' ? ` was ${e.previous.id}` : ''}`));
  }
  return events;
}

test('roster members join, then moves, clicks and leaves arrive as events', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket });
  const events = record(room);
  const ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1']);
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
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1', 'cursord.token.t1']);
  assert.ok(!ws.url.includes('t1'));
  ws.accept('cursord.v2');
  ws.drop(4406, 'token expired');
  assert.equal(room.status.state, 'reconnecting');
  ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1', 'cursord.token.t2']);
  ws.accept('cursord.v2');
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
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1', 'cursord.token.ok']);
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
    // Each failed attempt is two sockets: one offering cursord.v2 and, at
    // once, one without it (the v1 fallback's probe).
    for (let i = 0; i < 6; i++) (await next()).drop(1006);
    assert.deepEqual(seen, [[1, 3], [2, 7], [3, 15]]);  // caps 4, 8, 16 ms
    const ws = await next();
    ws.serve(1, 0);
    ws.serve(2, 0);
    ws.drop(1001);
    assert.equal(seen.at(-1)[0], wantAfterOpen, `stableAfterMs ${stableAfterMs}`);
    room.close();
  }
});

// ---- protocol v2: codec ------------------------------------------------------

// `08 id rr gg bb ulen user… nlen name…`, as the server sends it.
function info(id, [r, g, b], user, name) {
  const u = new TextEncoder().encode(user);
  const n = new TextEncoder().encode(name);
  return [8, id, r, g, b, u.length, ...u, n.length, ...n];
}

test("member info decodes: docs/PROTOCOL.md's example, empty fields, UTF-8 names", () => {
  assert.deepEqual(
    decodeMessage(new Uint8Array([0x08, 0x03, 0x1e, 0x88, 0xe5, 0x03, 0x61, 0x64, 0x61, 0x03, 0x41, 0x64, 0x61])),
    { type: 'info', id: 3, color: '#1e88e5', user: 'ada', name: 'Ada' });
  assert.deepEqual(decodeMessage(new Uint8Array(info(255, [0, 10, 255], '', ''))),
                   { type: 'info', id: 255, color: '#000aff', user: null, name: null });
  assert.deepEqual(decodeMessage(new Uint8Array(info(1, [1, 2, 3], 'u-1@x', 'Zoë 🦊'))),
                   { type: 'info', id: 1, color: '#010203', user: 'u-1@x', name: 'Zoë 🦊' });
  assert.deepEqual(decodeMessage(new Uint8Array(info(1, [1, 2, 3], '', 'é'.repeat(32)))).name,
                   'é'.repeat(32));
});

test('member info that is truncated, overlong or not UTF-8 is ignored', () => {
  const good = info(4, [9, 9, 9], 'bob', 'Bob');
  for (let n = 1; n < good.length; n++) {
    assert.equal(decodeMessage(new Uint8Array(good.slice(0, n))), null, `first ${n} bytes`);
  }
  assert.equal(decodeMessage(new Uint8Array([...good, 0])), null, 'a trailing byte');
  assert.equal(decodeMessage(new Uint8Array([8, 4, 9, 9, 9, 200, 0x61])), null, 'ulen past the end');
  assert.equal(decodeMessage(new Uint8Array([8, 4, 9, 9, 9, 0, 5, 0x61])), null, 'nlen past the end');
  assert.equal(decodeMessage(new Uint8Array([8, 4, 9, 9, 9, 0, 2, 0xc3, 0x28])), null, 'a name not UTF-8');
  assert.equal(decodeMessage(new Uint8Array([8, 4, 9, 9, 9, 1, 0xff, 0])), null, 'a user not UTF-8');
});

test('member state decodes to bytes of its own; empty is no state; 09 alone is ignored', () => {
  const wire = new Uint8Array([9, 4, 1, 2, 255]);
  const msg = decodeMessage(wire);
  assert.equal(msg.type, 'state');
  assert.equal(msg.id, 4);
  assert.deepEqual([...msg.state], [1, 2, 255]);
  wire[2] = 7;
  assert.deepEqual([...msg.state], [1, 2, 255], 'a copy, not a view of the message');
  assert.deepEqual([...decodeMessage(new Uint8Array([9, 4])).state], []);
  assert.equal(decodeMessage(new Uint8Array([9])), null);
});

test('setState values: bytes as they are, everything else as UTF-8 JSON', () => {
  assert.deepEqual([...encodeState(new Uint8Array([1, 2]))], [9, 1, 2]);
  assert.deepEqual([...encodeState(new Uint8Array(0))], [9]);
  const bytes = new Uint8Array([5, 6, 7]);
  const copied = stateBytes(bytes);
  bytes[0] = 0;
  assert.deepEqual([...copied], [5, 6, 7], 'copied: a later change is not sent');
  assert.deepEqual([...stateBytes(new Uint8Array([1, 2, 3, 4]).buffer)], [1, 2, 3, 4]);
  assert.deepEqual([...stateBytes(new Uint8Array([1, 2, 3, 4]).subarray(1, 3))], [2, 3]);
  assert.deepEqual([...stateBytes(new DataView(new Uint8Array([1, 2, 3]).buffer, 2))], [3]);
  const text = (v) => new TextDecoder().decode(stateBytes(v));
  assert.equal(text({ a: 1, s: [2, 3] }), '{"a":1,"s":[2,3]}');
  assert.equal(text('é'), '"é"');
  assert.equal(stateBytes('é').length, 4);
  assert.equal(text(null), 'null');
  assert.equal(text(0), '0');
  const cycle = {};
  cycle.self = cycle;
  for (const bad of [undefined, () => 1, Symbol('s'), 1n, cycle]) {
    assert.throws(() => stateBytes(bad), TypeError, String(typeof bad));
  }
});

test('a state reads back as JSON; none, empty or not JSON is undefined', () => {
  assert.deepEqual(parseStateJson(stateBytes({ a: [1, 'é'] })), { a: [1, 'é'] });
  assert.equal(parseStateJson(stateBytes(null)), null);
  assert.equal(parseStateJson(null), undefined);
  assert.equal(parseStateJson(new Uint8Array(0)), undefined);
  assert.equal(parseStateJson(new Uint8Array([0x7b])), undefined);
  assert.equal(parseStateJson(new Uint8Array([0xff, 0x22])), undefined);
  assert.equal(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assert.equal(sameBytes(new Uint8Array([1]), new Uint8Array([1, 2])), false);
});

test('the generic throttle coalesces any value, latest wins, equal values skipped', () => {
  const timers = fakeTimers();
  const sent = [];
  const throttle = new LatestThrottle(50, (v) => { sent.push([timers.now, [...v]]); return true; },
                                      timers, sameBytes);
  for (let i = 0; i < 10; i++) throttle.push(new Uint8Array([i]));
  timers.advance(50);
  throttle.push(new Uint8Array([9]));  // the same as the last one sent
  timers.advance(200);
  assert.deepEqual(sent, [[0, [0]], [50, [9]]]);
});

// ---- protocol v2: the room handle ----------------------------------------------

// Waits (polling the event loop, at most 2 s) for `cond()`.
async function until(cond, what) {
  const end = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function recordV2(room) {
  const events = record(room);
  room.on('state', (e) => events.push(`state ${e.member.id} ${e.state ? new TextDecoder().decode(e.state) : null}`));
  room.on('join', (e) => events.push(`  name ${e.member.name} ${e.member.color}`));
  return events;
}

// The join sequence of a v2 server for me (`self`) in a room of `members`
// (a map id -> [color, user, name]).
function joinV2(ws, self, members) {
  ws.accept('cursord.v2');
  ws.serve(1, self);
  ws.serve(2, ...Object.keys(members).map(Number));
  for (const [id, [color, user, name]] of Object.entries(members)) ws.serve(...info(Number(id), color, user, name));
}

const textOf = (bytes) => new TextDecoder().decode(new Uint8Array(bytes));

test('v2: joins carry names and colours from 08, states arrive as events, leaves clear them', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', name: 'Me', WebSocket: FakeWebSocket });
  const events = recordV2(room);
  const ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1']);
  ws.accept('cursord.v2');
  ws.serve(1, 2);
  ws.serve(2, 0, 2, 5);
  ws.serve(...info(0, [0x1e, 0x88, 0xe5], 'ada', 'Ada'));
  assert.deepEqual(events, ['status connecting'], 'nothing before every member has its info');
  ws.serve(...info(2, [1, 2, 3], '', 'Me'));
  ws.serve(...info(5, [0xaa, 0xbb, 0xcc], '', ''));
  ws.serve(5, 5, 0, 0, 0xff, 0xff);
  ws.serve(9, 5, ...new TextEncoder().encode('{"s":1,"e":4}'));
  assert.deepEqual(events, ['status connecting', 'join 0', '  name Ada #1e88e5', 'join 5',
                            '  name null #aabbcc', 'status open', 'move 5 0.000,1.000',
                            'state 5 {"s":1,"e":4}']);
  assert.equal(room.status.protocol, 'v2');
  assert.equal(room.protocol, 'v2');
  assert.deepEqual({ id: room.self.id, name: room.self.name, color: room.self.color },
                   { id: 2, name: 'Me', color: '#010203' });
  assert.equal(room.member(0).user, 'ada');
  assert.deepEqual(room.member(5).stateJson(), { s: 1, e: 4 });
  assert.equal(room.member(0).stateJson(), undefined);
  assert.ok(Object.isFrozen(room.member(5)));

  // A join: 03 then its 08; the join event waits for the name.
  ws.serve(3, 9);
  ws.serve(...info(9, [0, 0, 0], 'bob', 'Bob'));
  // A join whose 08 does not follow is taken as it is.
  ws.serve(3, 10);
  ws.serve(5, 9, 0, 0, 0, 0);
  assert.deepEqual(events.slice(8), ['join 9', '  name Bob #000000', 'join 10',
                                     `  name null ${room.member(10).color}`, 'move 9 0.000,0.000']);
  // My own id's state (never sent by the server) and an unknown id's are ignored;
  // a repeat is no change; an empty one clears.
  ws.serve(9, 2, 1);
  ws.serve(9, 77, 1);
  ws.serve(9, 5, ...new TextEncoder().encode('{"s":1,"e":4}'));
  ws.serve(9, 5);
  ws.serve(4, 5);
  assert.deepEqual(events.slice(13), ['state 5 null', 'leave 5']);
  room.close();
});

test('v2: setState sends 09 with JSON or bytes, coalesced latest-wins, and never more than maxStateBytes', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket, throttleMs: 16, maxStateBytes: 20 });
  const ws = await next();
  joinV2(ws, 1, { 1: [[1, 1, 1], '', ''] });
  for (let i = 1; i <= 5; i++) room.setState({ n: i });
  assert.deepEqual(ws.sent.map(textOf), ['\t{"n":1}'], 'the first at once');
  await until(() => ws.sent.length === 2, 'the newest state after the interval');
  assert.equal(textOf(ws.sent[1]), '\t{"n":5}', 'the newest one: 2-4 coalesced away');
  room.setState({ n: 5 });  // the same bytes again: nothing to send
  room.setState(new Uint8Array([1, 2, 3]));
  await until(() => ws.sent.length === 3, 'the bytes');
  assert.deepEqual(ws.sent[2], [9, 1, 2, 3], 'the bytes as they are, and no repeat before them');
  assert.throws(() => room.setState('x'.repeat(19)), RangeError);  // 21 bytes of JSON
  assert.throws(() => room.setState(new Uint8Array(21)), RangeError);
  assert.throws(() => room.setState(undefined), TypeError);
  room.setState(new Uint8Array(20));
  await until(() => ws.sent.length === 4, 'a state of maxStateBytes');
  assert.equal(ws.sent[3].length, 21, 'exactly maxStateBytes is allowed');
  room.clearState();
  await until(() => ws.sent.length === 5, 'the clear');
  assert.deepEqual(ws.sent[4], [9]);
  room.close();
});

test('v2: the default maxStateBytes is the server default, 256', async () => {
  const { FakeWebSocket } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket });
  room.setState(new Uint8Array(256));
  assert.throws(() => room.setState(new Uint8Array(257)), /257 bytes, more than maxStateBytes \(256\)/);
  room.close();
});

test('v2: my state and position are sent again after a reconnect; kept members lose stale state', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket,
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  const events = recordV2(room);
  let ws = await next();
  joinV2(ws, 1, { 1: [[1, 1, 1], '', 'Me'], 3: [[3, 3, 3], 'u3', 'Three'], 4: [[4, 4, 4], 'u4', 'Four'] });
  ws.serve(9, 3, 0x31);
  room.setCursorFraction(0.5, 0.5);
  room.setState({ sel: [1, 2] });
  assert.deepEqual(ws.sent.map((b) => b[0]), [5, 9]);
  ws.drop(1001, 'server shutting down');
  room.setState({ sel: [3, 4] });  // while away: kept for the next connection
  ws = await next();
  // After the restart id 3 is the same person, id 4 someone else.
  joinV2(ws, 2, { 2: [[1, 1, 1], '', 'Me'], 3: [[3, 3, 3], 'u3', 'Three'], 4: [[9, 9, 9], 'u9', 'Nine'] });
  // The one who had id 4 may be reconnecting too: away, not gone.
  assert.deepEqual(events.slice(-6), ['status reconnecting 1001 server shutting down', 'state 3 null',
                                      'away 4', 'join 4', '  name Nine #090909', 'status open']);
  assert.deepEqual(ws.sent.map((b) => b[0]), [5, 9]);
  assert.equal(textOf(ws.sent[1]), '\t{"sel":[3,4]}');
  room.close();
});

test('v2 negotiation: a server that selects cursord.v1 is spoken to in v1, and asked for v2 again next time', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket,
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  const events = recordV2(room);
  let ws = await next();
  ws.accept('cursord.v1');
  ws.serve(1, 1);
  ws.serve(2, 1, 3);
  ws.serve(3, 4);  // v1: the join is at once, no info to wait for
  assert.deepEqual(events, ['status connecting', 'join 3', `  name null ${room.member(3).color}`,
                            'status open', 'join 4', `  name null ${room.member(4).color}`]);
  assert.equal(room.protocol, 'v1');
  assert.equal(room.self.name, null);
  room.setState({ a: 1 });  // v1 has no state: kept, not sent
  assert.deepEqual(ws.sent, []);
  ws.drop(1006);
  ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1']);
  joinV2(ws, 1, { 1: [[1, 1, 1], '', ''] });
  assert.deepEqual(ws.sent.map(textOf), ['\t{"a":1}'], 'the kept state, now that v2 carries it');
  room.close();
});

test('v2 negotiation: a server that selects no subprotocol gets one retry without v2 at once, remembered', async () => {
  const { FakeWebSocket, sockets, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket,
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  const events = recordV2(room);
  let ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1']);
  ws.drop(1006);  // what a browser reports when the 101 selects none of the offered
  ws = await next();
  assert.deepEqual(ws.protocols, [], 'the seed handshake: nothing offered');
  assert.deepEqual(events, ['status connecting'], 'the retry is part of the same attempt');
  ws.accept('');
  ws.serve(1, 0);
  ws.serve(2, 0);
  assert.equal(room.status.protocol, 'v1');
  ws.drop(1001);
  ws = await next();
  assert.deepEqual(ws.protocols, [], 'v2 is not offered again to this server');
  ws.drop(1006);  // a v1 offer that fails is an ordinary failure: no second retry
  ws = await next();
  assert.deepEqual(ws.protocols, []);
  assert.equal(sockets.length, 4);
  assert.deepEqual(events.filter((e) => e.startsWith('status')),
                   ['status connecting', 'status open', 'status reconnecting 1001',
                    'status reconnecting 1006']);
  room.close();
});

test('v2 negotiation: an outage is not mistaken for a v1 server; a token keeps cursord.v1 in the retry', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket, token: 'tk',
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  let ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1', 'cursord.token.tk']);
  ws.drop(1006);
  ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v1', 'cursord.token.tk']);
  ws.drop(1006);  // down as well: an outage
  assert.equal(room.status.state, 'reconnecting');
  ws = await next();
  assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1', 'cursord.token.tk'], 'v2 offered again');
  joinV2(ws, 0, { 0: [[1, 1, 1], 'tokened', ''] });
  assert.equal(room.protocol, 'v2');
  assert.equal(room.self.user, 'tokened');
  room.close();
});

test('v2 negotiation: a server that has negotiated is never taken for one that selects none', async () => {
  // A restart: the attempt offering v2 fails while the server is down; a
  // retry without v2 at once would join the server that came up meanwhile
  // as v1, and pin this member to v1 (no state, no names) for good.
  const { FakeWebSocket, sockets, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket,
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  try {
    room.setState({ a: 1 });
    let ws = await next();
    joinV2(ws, 0, { 0: [[1, 1, 1], '', ''] });
    ws.drop(1006);
    ws = await next();
    assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1']);
    ws.drop(1006);  // still down: an ordinary failure, no retry without v2
    assert.equal(room.status.state, 'reconnecting');
    ws = await next();
    assert.deepEqual(ws.protocols, ['cursord.v2', 'cursord.v1'], 'v2 offered again after the backoff');
    assert.equal(sockets.length, 3);
    joinV2(ws, 0, { 0: [[1, 1, 1], '', ''] });
    assert.equal(room.protocol, 'v2');
    assert.deepEqual(ws.sent.map(textOf), ['\t{"a":1}'], 'the state sent again');
  } finally {
    room.close();  // a failed assertion must not leave the 1 ms retries running
  }
});

test("protocol 'v1' offers what the v1 SDK did and never v2", async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket, protocol: 'v1',
                                   reconnect: { minDelayMs: 1, maxDelayMs: 1 } });
  const ws = await next();
  assert.deepEqual(ws.protocols, []);
  ws.drop(1006);
  assert.equal(room.status.state, 'reconnecting', 'no retry without v2: none was offered');
  room.close();
});

test('v2: a roster whose 08s stop short is taken as it is when anything else arrives', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket });
  const events = recordV2(room);
  const ws = await next();
  ws.accept('cursord.v2');
  ws.serve(1, 1);
  ws.serve(2, 1, 2);
  ws.serve(...info(1, [1, 1, 1], '', ''));
  ws.serve(5, 2, 0, 0, 0, 0);
  assert.deepEqual(events, ['status connecting', 'join 2', `  name null ${room.member(2).color}`,
                            'status open', 'move 2 0.000,0.000']);
  room.close();
});

test('v2: a press sends the position and the state held back by the throttles first', async () => {
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', WebSocket: FakeWebSocket, throttleMs: 1000 });
  const ws = await next();
  joinV2(ws, 1, { 1: [[1, 1, 1], '', ''] });
  room.setCursorFraction(0, 0);
  room.setState(1);
  room.setCursorFraction(1, 1);
  room.setState(2);  // both held back for a second
  room.setPressed(true);
  assert.deepEqual(ws.sent.map((b) => b[0] === 9 ? textOf(b) : b), [
    [5, 0, 0, 0, 0], '\t1', [5, 0xff, 0xff, 0xff, 0xff], '\t2', [6]]);
  room.close();
});

// ---- members who drop: away, back, gone ---------------------------------------

// A v2 room of mine (id 1) on a clock of the test's, with `members` as for
// joinV2; its events as strings.
async function awayRoom(members, options = {}) {
  const clock = fakeTimers();
  const { FakeWebSocket, next } = scriptedSockets();
  const room = connect('ws://h', { room: 'r', name: 'Me', WebSocket: FakeWebSocket, timers: clock,
                                   reconnect: { memberGraceMs: 3000, minDelayMs: 1, maxDelayMs: 1 },
                                   ...options });
  const events = record(room);
  const ws = await next();
  joinV2(ws, 1, { 1: [[1, 1, 1], '', 'Me'], ...members });
  return { clock, room, events, ws, next };
}

const ADA = [[3, 3, 3], 'ada', 'Ada'];
const BO = [[4, 4, 4], '', 'Bo'];  // no user id: known by name and colour

test('v2: a member who drops is away for memberGraceMs, in others() but not member(id), then leaves', async () => {
  const { clock, room, events, ws } = await awayRoom({ 3: ADA });
  const left = [];
  room.on('leave', (e) => left.push(e.member));
  ws.serve(5, 3, 0x80, 0, 0x40, 0);
  ws.serve(6, 3);
  const here = room.member(3);
  assert.equal(here.away, false);
  ws.serve(4, 3);
  assert.deepEqual(events.slice(-3), ['click 3 true', 'click 3 false', 'away 3'],
                   'released first: an away member is not pressing');
  const [away] = room.others();
  assert.deepEqual({ ...away }, { ...here, pressed: false, away: true });
  assert.ok(Object.isFrozen(away));
  assert.equal(room.member(3), undefined, 'member(id) names members here only');
  clock.advance(2999);
  assert.equal(events.at(-1), 'away 3', 'still away just before the grace ends');
  clock.advance(1);
  assert.equal(events.at(-1), 'leave 3');
  assert.equal(left[0], away, 'the leave carries the away member');
  assert.deepEqual(room.others(), []);
  room.close();
  assert.deepEqual(events.slice(-1), ['status closed 1000 closed by the client']);
});

test('v2: a member back within the grace under a new id is the same member: its key, no join, no leave', async () => {
  const { clock, room, events, ws } = await awayRoom({ 3: ADA, 4: BO });
  ws.serve(5, 3, 0x80, 0, 0x40, 0);
  ws.serve(9, 3, ...new TextEncoder().encode('{"sel":1}'));
  const ada = room.member(3);
  const bo = room.member(4);
  ws.serve(4, 3);
  ws.serve(4, 4);
  clock.advance(2000);
  const backs = [];
  room.on('back', (e) => backs.push(e));
  // Ada by her user id (her name may change); Bo by name and colour.
  ws.serve(3, 7);
  ws.serve(...info(7, [3, 3, 3], 'ada', 'Ada L.'));
  ws.serve(3, 8);
  ws.serve(...info(8, [4, 4, 4], '', 'Bo'));
  assert.deepEqual(events.slice(-4), ['away 3', 'away 4', 'back 7 was 3', 'back 8 was 4']);
  const ada2 = room.member(7);
  assert.equal(backs[0].member, ada2);
  assert.deepEqual({ ...backs[0].previous }, { ...ada, away: true });
  assert.deepEqual({ id: ada2.id, key: ada2.key, name: ada2.name, x: ada2.x, y: ada2.y, state: ada2.state, away: ada2.away },
                   { id: 7, key: ada.key, name: 'Ada L.', x: ada.x, y: ada.y, state: null, away: false },
                   'its key and last position; no state until its SDK sends it again');
  assert.equal(room.member(8).key, bo.key);
  assert.deepEqual(room.others().map((m) => [m.id, m.away]), [[7, false], [8, false]], 'each shown once');
  clock.advance(10_000);
  assert.deepEqual(events.slice(-2), ['back 7 was 3', 'back 8 was 4'], 'no leave once the grace is over');
  ws.serve(5, 7, 0, 0, 0, 0);
  assert.equal(events.at(-1), 'move 7 0.000,0.000');
  room.close();
  assert.deepEqual(events.slice(-3), ['leave 7', 'leave 8', 'status closed 1000 closed by the client']);
});

test('v2: only the same user id, or the same name and colour without one, is a return', async () => {
  const { clock, room, events, ws } = await awayRoom({ 3: ADA, 4: BO });
  ws.serve(4, 3);
  ws.serve(4, 4);
  const joins = [
    info(5, [3, 3, 3], 'ada2', 'Ada'),  // another user id
    info(6, [3, 3, 3], '', 'Ada'),      // Ada's name without her user id
    info(7, [9, 9, 9], '', 'Bo'),       // a namesake of Bo in another colour
    info(8, [4, 4, 4], 'bo', 'Bo'),     // Bo's name and colour with a user id
    info(9, [4, 4, 4], '', ''),         // anonymous
  ];
  for (const bytes of joins) {
    ws.serve(3, bytes[1]);
    ws.serve(...bytes);
  }
  assert.deepEqual(events.slice(-7), ['away 3', 'away 4', 'join 5', 'join 6', 'join 7', 'join 8', 'join 9']);
  clock.advance(3000);
  assert.deepEqual(events.slice(-2), ['leave 3', 'leave 4'], 'the away ones leave at the end of their grace');
  room.close();
});

test("v2: an away member's id given to someone else is not confused with it", async () => {
  const { clock, room, events, ws } = await awayRoom({ 3: ADA });
  ws.serve(5, 3, 0xff, 0xff, 0xff, 0xff);
  const ada = room.member(3);
  ws.serve(4, 3);
  clock.advance(1000);
  // The server gives id 3 to the next joiner at once.
  ws.serve(3, 3);
  ws.serve(...info(3, [2, 2, 2], 'bob', 'Bob'));
  const bob = room.member(3);
  assert.equal(bob.name, 'Bob');
  assert.notEqual(bob.key, ada.key);
  assert.deepEqual(room.others().map((m) => [m.id, m.name, m.away]), [[3, 'Bob', false], [3, 'Ada', true]],
                   'both shown: the one here first');
  ws.serve(5, 3, 0, 0, 0, 0);  // Bob's, not Ada's
  assert.equal(events.at(-1), 'move 3 0.000,0.000');
  assert.equal(room.others()[1].x, 1, "Ada's last position kept");
  // Ada comes back as 4: Bob is untouched.
  ws.serve(3, 4);
  ws.serve(...info(4, [3, 3, 3], 'ada', 'Ada'));
  assert.deepEqual(events.slice(-4), ['away 3', 'join 3', 'move 3 0.000,0.000', 'back 4 was 3']);
  assert.equal(room.member(4).key, ada.key);
  assert.equal(room.member(3).key, bob.key);
  clock.advance(2000);  // past Ada's grace: she is back, nothing leaves
  assert.equal(events.at(-1), 'back 4 was 3');
  // Bob drops: away under id 3, and leaves at the end of his own grace.
  ws.serve(4, 3);
  clock.advance(2999);
  assert.equal(events.at(-1), 'away 3');
  clock.advance(1);
  assert.equal(events.at(-1), 'leave 3');
  assert.deepEqual(room.others().map((m) => [m.id, m.name]), [[4, 'Ada']]);
  room.close();
});

test('v1, anonymous v2 members and memberGraceMs 0: a leave is at once', async () => {
  // v1: no info, nobody can be recognised.
  {
    const clock = fakeTimers();
    const { FakeWebSocket, next } = scriptedSockets();
    const room = connect('ws://h', { room: 'r', name: 'Me', WebSocket: FakeWebSocket, timers: clock });
    const events = record(room);
    const ws = await next();
    ws.accept('cursord.v1');
    ws.serve(1, 1);
    ws.serve(2, 1, 3);
    ws.serve(4, 3);
    assert.deepEqual(events.slice(-1), ['leave 3']);
    assert.deepEqual(room.others(), []);
    room.close();
  }
  // v2 without user id or name.
  {
    const { room, events, ws } = await awayRoom({ 3: [[3, 3, 3], '', ''] });
    ws.serve(4, 3);
    assert.deepEqual(events.slice(-1), ['leave 3']);
    room.close();
  }
  // No grace.
  {
    const { room, events, ws } = await awayRoom({ 3: ADA }, { reconnect: { memberGraceMs: 0 } });
    ws.serve(4, 3);
    assert.deepEqual(events.slice(-1), ['leave 3']);
    room.close();
  }
  assert.throws(() => connect('ws://h', { reconnect: { memberGraceMs: -1 } }), RangeError);
});

test('a close, a kick or a room close ends every grace: the away leave with the others, nothing after', async () => {
  for (const end of ['close', 'kick', 'room closed']) {
    const { clock, room, events, ws } = await awayRoom({ 3: ADA, 4: BO });
    ws.serve(4, 3);
    if (end === 'close') room.close();
    if (end === 'kick') ws.drop(4000, 'be nice');
    if (end === 'room closed') ws.drop(4001, 'maintenance');
    const closed = events.at(-1);
    assert.match(closed, /^status closed/, end);
    assert.deepEqual(events.slice(-4, -1), ['away 3', 'leave 4', 'leave 3'], end);
    assert.deepEqual(room.others(), [], end);
    clock.advance(60_000);
    assert.equal(events.at(-1), closed, `${end}: no event after the close`);
  }
});

test('v2: after my own reconnect, members missing from the new roster are away and come back as they join', async () => {
  const { clock, room, events, ws, next } = await awayRoom({ 3: ADA, 4: BO });
  ws.drop(1001, 'server shutting down');
  clock.advance(1);  // the retry (0-1 ms)
  const ws2 = await next();
  // After the restart Ada joined first (id 4, Bo's old id); Bo is not back yet.
  joinV2(ws2, 2, { 2: [[1, 1, 1], '', 'Me'], 4: ADA });
  assert.deepEqual(events.slice(-5), ['status reconnecting 1001 server shutting down', 'away 3', 'away 4',
                                      'back 4 was 3', 'status open']);
  ws2.serve(3, 5);
  ws2.serve(...info(5, ...BO));
  assert.deepEqual(events.slice(-1), ['back 5 was 4']);
  assert.deepEqual(room.others().map((m) => [m.id, m.name, m.away]), [[4, 'Ada', false], [5, 'Bo', false]]);
  room.close();
});

test('v2: a member whose identity is here under another id leaves at once (it came back before its leave)', async () => {
  const { clock, room, events, ws } = await awayRoom({ 3: ADA, 4: BO });
  // Ada's reconnect joins before her old session is reaped (or a second tab of hers).
  ws.serve(3, 5);
  ws.serve(...info(5, ...ADA));
  ws.serve(4, 3);
  assert.deepEqual(events.slice(-2), ['join 5', 'leave 3']);
  assert.deepEqual(room.others().map((m) => [m.id, m.away]), [[4, false], [5, false]]);
  // Her second session goes too: nobody else is Ada now, so it is away.
  ws.serve(4, 5);
  clock.advance(3000);
  assert.deepEqual(events.slice(-2), ['away 5', 'leave 5']);
  room.close();
});
