// cursord browser SDK: live cursors over cursord's WebSocket protocol.
//
// A dependency-free ES module. cursord serves it at /sdk/cursord.js (types at
// /sdk/cursord.d.ts); the same files form the npm package in server/web/sdk.
// The reference is docs/SDK.md; the wire is docs/PROTOCOL.md.
//
// It speaks protocol v2 when the server selects `cursord.v2` (names,
// colours, per-member state) and v1 otherwise: one-byte member ids, u16 x/y,
// clicks, and members with `name: null`, `user: null`, a colour derived from
// their id and no `state` event. v2 only adds data to what v1 shows.
//
// Nothing here touches `window` or `document` until a page asks for it, so
// the pure parts (codec, throttle, backoff, interpolation) load in Node for
// the SDK's unit tests.

export const VERSION = '0.2.0';

/** The subprotocol of the v1 wire. */
export const PROTOCOL_V1 = 'cursord.v1';
/** The subprotocol of the v2 wire: v1 plus member info (08) and state (09). */
export const PROTOCOL_V2 = 'cursord.v2';

/** Close codes with a meaning for clients (docs/PROTOCOL.md, "Close codes"). */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,          // server shutting down: reconnect
  ABNORMAL: 1006,            // no close frame (network, crash): reconnect
  POLICY: 1008,              // slow consumer, ping timeout, flood: reconnect with backoff
  TOO_BIG: 1009,
  TRY_AGAIN_LATER: 1013,     // room full, too many rooms: reconnect with backoff
  KICKED: 4000,              // an operator removed this member: final
  ROOM_CLOSED: 4001,         // an operator closed the room: final
  TOKEN_EXPIRED: 4406,       // final unless `token` is a function (then a fresh one is fetched)
});

const EVENT_TYPES = new Set(['join', 'leave', 'move', 'click', 'status', 'state', 'away', 'back']);
const ROOM_RE = /^[A-Za-z0-9._~:@-]{1,128}$/;
const USER_RE = /^[\x21-\x7e]{1,128}$/;
const COLOR_RE = /^#[0-9A-Fa-f]{6}$/;
// C0 controls, DEL and C1 controls: what the server's "printable UTF-8" excludes.
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;

const DEFAULTS = Object.freeze({
  throttleMs: 50,
  minThrottleMs: 16,
  maxThrottleMs: 1000,
  minDelayMs: 500,
  maxDelayMs: 15000,
  stableAfterMs: 10000,
  memberGraceMs: 5000,
  connectTimeoutMs: 10000,
  interpolationDelayMs: 80,
  maxStateBytes: 256,
});
export { DEFAULTS };

// ---------------------------------------------------------------------------
// Wire codec (v1 and v2). Pure.

const MSG = Object.freeze({
  HELLO: 0x01, ROSTER: 0x02, JOINED: 0x03, LEFT: 0x04, CURSOR: 0x05, DOWN: 0x06, UP: 0x07,
  INFO: 0x08, STATE: 0x09,
});

// Fatal: a name that is not UTF-8 makes its message malformed (ignored),
// rather than a name full of U+FFFD.
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

function hex2(byte) {
  return byte.toString(16).padStart(2, '0');
}

/**
 * A fraction of the surface (0..1) as the wire's u16: floor(f * 65535),
 * clamped, the seed client's convention (docs/PROTOCOL.md, "Coordinates").
 */
export function toWire(fraction) {
  if (!(fraction > 0)) return 0;  // also NaN
  if (fraction >= 1) return 65535;
  return Math.floor(fraction * 65535);
}

/** The wire's u16 as a fraction of the surface, 0..1. */
export function fromWire(value) {
  return value / 65535;
}

/** `05 xx xx yy yy`: my cursor, as u16 coordinates. */
export function encodeMove(x16, y16) {
  return new Uint8Array([MSG.CURSOR, x16 >> 8, x16 & 255, y16 >> 8, y16 & 255]);
}

/** `06` pressed or `07` released. */
export function encodePress(pressed) {
  return new Uint8Array([pressed ? MSG.DOWN : MSG.UP]);
}

/** v2's `09 state…`: my state (0 to the server's --max-state-bytes bytes; empty clears it). */
export function encodeState(bytes) {
  const out = new Uint8Array(1 + bytes.length);
  out[0] = MSG.STATE;
  out.set(bytes, 1);
  return out;
}

/**
 * What `setState(value)` sends: the bytes of a Uint8Array, an ArrayBuffer or
 * any other ArrayBufferView as they are (copied), anything else as UTF-8
 * JSON. Throws a TypeError for what JSON cannot carry (undefined, a
 * function, a symbol, a BigInt, a cycle).
 */
export function stateBytes(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  }
  let json;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`cursord: state must be bytes or a JSON value (${err.message})`);
  }
  if (json === undefined) throw new TypeError('cursord: state must be bytes or a JSON value');
  return utf8Encoder.encode(json);
}

/**
 * A state's bytes read as UTF-8 JSON: the value, or undefined when there is
 * no state or it is not JSON (a member may send any bytes).
 */
export function parseStateJson(bytes) {
  if (!bytes || bytes.length === 0) return undefined;
  try {
    return JSON.parse(utf8Decoder.decode(bytes));
  } catch {
    return undefined;
  }
}

// `08 id rr gg bb ulen user… nlen name…`, exactly: anything short, long or
// not UTF-8 is malformed.
function decodeInfo(b) {
  if (b.length < 7) return null;
  const ulen = b[5];
  if (b.length < 7 + ulen) return null;
  const nlen = b[6 + ulen];
  if (b.length !== 7 + ulen + nlen) return null;
  let user, name;
  try {
    user = utf8Decoder.decode(b.subarray(6, 6 + ulen));
    name = utf8Decoder.decode(b.subarray(7 + ulen));
  } catch {
    return null;
  }
  return {
    type: 'info', id: b[1], color: '#' + hex2(b[2]) + hex2(b[3]) + hex2(b[4]),
    user: ulen ? user : null, name: nlen ? name : null,
  };
}

/**
 * One server message, or null for what a client must ignore (empty, short,
 * malformed, unknown type). Returns {type: 'hello', id} |
 * {type: 'roster', ids} | {type: 'joined', id} | {type: 'left', id} |
 * {type: 'move', id, x, y} (x, y as u16) | {type: 'press', id, pressed} |
 * v2's {type: 'info', id, color: '#rrggbb', user, name} (null when not
 * given) and {type: 'state', id, state} (a Uint8Array of its own, empty for
 * none).
 */
export function decodeMessage(bytes) {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (b.length < 1) return null;
  switch (b[0]) {
    case MSG.HELLO: return b.length >= 2 ? { type: 'hello', id: b[1] } : null;
    case MSG.ROSTER: return { type: 'roster', ids: Array.from(b.subarray(1)) };
    case MSG.JOINED: return b.length >= 2 ? { type: 'joined', id: b[1] } : null;
    case MSG.LEFT: return b.length >= 2 ? { type: 'left', id: b[1] } : null;
    case MSG.CURSOR:
      return b.length >= 6
        ? { type: 'move', id: b[1], x: (b[2] << 8) | b[3], y: (b[4] << 8) | b[5] }
        : null;
    case MSG.DOWN:
    case MSG.UP:
      return b.length >= 2 ? { type: 'press', id: b[1], pressed: b[0] === MSG.DOWN } : null;
    case MSG.INFO: return decodeInfo(b);
    case MSG.STATE: return b.length >= 2 ? { type: 'state', id: b[1], state: b.slice(2) } : null;
    default: return null;
  }
}

/**
 * A member's colour when the server sends none (v1): spread around the
 * hue circle by the golden angle, so neighbouring ids differ.
 */
export function colorForId(id) {
  return `hsl(${(id * 137.508) % 360} 75% 48%)`;
}

// ---------------------------------------------------------------------------
// Reconnect policy. Pure.

/**
 * Whether a close ends the session for good (no reconnect). The server closes
 * with 4000-4999 on purpose (kick, room close, refused token, and any future
 * policy close), and 1002/1003/1007/1009/1010 mean this client spoke wrongly:
 * retrying would repeat it. Everything else (1001 shutdown, 1006 lost
 * connection, 1008 slow consumer or ping timeout, 1011-1015, 1013 room full)
 * is transient. A token expiry (4406) is retried only when a fresh token can
 * be fetched (`token` given as a function).
 */
export function isFinalClose(code, { canRefreshToken = false } = {}) {
  if (code === CloseCode.TOKEN_EXPIRED) return !canRefreshToken;
  if (code >= 4000 && code <= 4999) return true;
  return code === 1002 || code === 1003 || code === 1007 || code === 1009 || code === 1010;
}

/**
 * Full-jitter exponential backoff (the "Full Jitter" of AWS's "Exponential
 * Backoff And Jitter"): uniform in [0, min(maxDelayMs, minDelayMs * 2^attempt)).
 * attempt 0 is the first retry. `random` is injectable for tests.
 */
export function backoffDelay(attempt, { minDelayMs = DEFAULTS.minDelayMs,
                                        maxDelayMs = DEFAULTS.maxDelayMs } = {},
                             random = Math.random) {
  const cap = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}

// ---------------------------------------------------------------------------
// Throttles. Pure apart from the timers they are given.

/**
 * Sends at most one value per `intervalMs`, latest wins: the first at once,
 * then the newest one at the end of each interval while values keep coming
 * (the last one is never lost). A value `equals` the last one sent is
 * skipped. `send(value)` returns false when it could not send (not
 * connected); the value then stays pending for `flush()` after a reconnect.
 */
export class LatestThrottle {
  constructor(intervalMs, send, timers = globalThis, equals = Object.is) {
    this.intervalMs_ = intervalMs;
    this.send_ = send;
    this.timers_ = timers;
    this.equals_ = equals;
    this.hasPending_ = false;
    this.pending_ = undefined;  // the value not sent yet, when hasPending_
    this.hasSent_ = false;
    this.lastSent_ = undefined;
    this.timer_ = null;
  }

  /** The newest value. */
  push(value) {
    this.pending_ = value;
    this.hasPending_ = true;
    // Only a value sent opens an interval: a repeat (skipped) or one that
    // waits for a connection leaves the next value free to go at once.
    if (this.timer_ === null && this.flush()) {
      this.timer_ = this.timers_.setTimeout(() => this.onInterval_(), this.intervalMs_);
    }
  }

  /** Sends the pending value now, ahead of the interval. Returns whether it sent. */
  flush() {
    if (!this.hasPending_) return false;
    const value = this.pending_;
    if (this.hasSent_ && this.equals_(this.lastSent_, value)) {
      this.hasPending_ = false;
      this.pending_ = undefined;
      return false;
    }
    if (!this.send_(value)) return false;
    this.hasPending_ = false;
    this.pending_ = undefined;
    this.hasSent_ = true;
    this.lastSent_ = value;
    return true;
  }

  /** Forgets what was sent (a new connection has seen nothing yet). */
  reset() {
    this.hasSent_ = false;
    this.lastSent_ = undefined;
  }

  dispose() {
    if (this.timer_ !== null) this.timers_.clearTimeout(this.timer_);
    this.timer_ = null;
    this.hasPending_ = false;
    this.pending_ = undefined;
  }

  onInterval_() {
    // Keep the window open while values keep coming; close it once idle,
    // so the next value goes out at once.
    this.timer_ = this.flush()
      ? this.timers_.setTimeout(() => this.onInterval_(), this.intervalMs_)
      : null;
  }
}

/**
 * The throttle of positions: a LatestThrottle of [x16, y16]. A press calls
 * flush() so that the press lands where the pointer is.
 */
export class MoveThrottle extends LatestThrottle {
  constructor(intervalMs, send, timers = globalThis) {
    super(intervalMs, ([x, y]) => send(x, y), timers,
          (a, b) => a[0] === b[0] && a[1] === b[1]);
  }

  /** The newest position, as u16 coordinates. */
  push(x16, y16) {
    super.push([x16, y16]);
  }
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------
// Interpolation. Pure: time is passed in.

function catmullRom(p0, p1, p2, p3, u) {
  const u2 = u * u;
  const u3 = u2 * u;
  return 0.5 * ((2 * p1) + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u2 +
                (-p0 + 3 * p1 - 3 * p2 + p3) * u3);
}

/**
 * Plays each member's received positions back `delayMs` late along a
 * Catmull-Rom spline through them (the approach of perfect-cursors): the
 * delay buffers the sender's throttle interval and network jitter, so the
 * cursor glides through every received point instead of jumping. The first
 * position is shown at once; after a pause the next move starts from where
 * the cursor rests rather than being compressed into a jump.
 */
export class Interpolator {
  constructor({ delayMs = DEFAULTS.interpolationDelayMs } = {}) {
    this.delayMs_ = delayMs;
    this.tracks_ = new Map();  // id -> [{x, y, t}] in arrival order
  }

  add(id, x, y, now) {
    let points = this.tracks_.get(id);
    if (!points) {
      this.tracks_.set(id, [{ x, y, t: now - this.delayMs_ }]);
      return;
    }
    const last = points[points.length - 1];
    const playback = now - this.delayMs_;
    if (last.t < playback) {
      // Idle since the last point: rest there until now, then glide to the
      // new point over the next delayMs.
      points.push({ x: last.x, y: last.y, t: playback });
    }
    points.push({ x, y, t: Math.max(now, last.t + 1) });
    // Keep one point before the segment being played, for the spline.
    let drop = 0;
    while (drop + 2 < points.length && points[drop + 2].t <= playback) drop++;
    if (drop > 0) points.splice(0, drop);
  }

  remove(id) {
    this.tracks_.delete(id);
  }

  clear() {
    this.tracks_.clear();
  }

  ids() {
    return this.tracks_.keys();
  }

  /** {x, y, settled} at time `now`, or null for an unknown member. */
  sample(id, now) {
    const points = this.tracks_.get(id);
    if (!points) return null;
    const playback = now - this.delayMs_;
    const n = points.length;
    if (playback >= points[n - 1].t) {
      return { x: points[n - 1].x, y: points[n - 1].y, settled: true };
    }
    if (playback <= points[0].t) return { x: points[0].x, y: points[0].y, settled: false };
    let i = 0;
    while (points[i + 1].t <= playback) i++;
    const p0 = points[Math.max(0, i - 1)], p1 = points[i], p2 = points[i + 1];
    const p3 = points[Math.min(n - 1, i + 2)];
    const u = (playback - p1.t) / (p2.t - p1.t);
    const clamp = (v) => Math.max(0, Math.min(1, v));
    return {
      x: clamp(catmullRom(p0.x, p1.x, p2.x, p3.x, u)),
      y: clamp(catmullRom(p0.y, p1.y, p2.y, p3.y, u)),
      settled: false,
    };
  }
}

// ---------------------------------------------------------------------------
// Identity validation: the server's rules (docs/PROTOCOL.md, "Connecting"),
// checked before connecting so a bad value is an exception the page can show
// instead of an HTTP 400 the browser reports as an endless 1006.

function utf8Length(text) {
  return utf8Encoder.encode(text).length;
}

/** Throws a TypeError naming the option if any identity value is invalid. */
export function validateIdentity({ room, name, color, user } = {}) {
  if (room != null && !(typeof room === 'string' && ROOM_RE.test(room))) {
    throw new TypeError('cursord: room must be 1-128 characters of A-Z a-z 0-9 . _ ~ : @ -');
  }
  if (name != null) {
    if (typeof name !== 'string' || name.length === 0 || utf8Length(name) > 64) {
      throw new TypeError('cursord: name must be 1-64 bytes of UTF-8');
    }
    if (CONTROL_RE.test(name)) throw new TypeError('cursord: name must not contain control characters');
  }
  if (color != null && !(typeof color === 'string' && COLOR_RE.test(color))) {
    throw new TypeError('cursord: color must be #rrggbb');
  }
  if (user != null && !(typeof user === 'string' && USER_RE.test(user))) {
    throw new TypeError('cursord: user must be 1-128 characters of printable ASCII without spaces');
  }
}

/**
 * The WebSocket URL for a server base URL and options: http(s) becomes
 * ws(s); with `room`, `/rooms/{room}` is appended to the base's path (so a
 * server behind a path prefix works); identity goes in the query string.
 */
export function buildUrl(base, { room, name, color, user } = {}, origin) {
  // No base: the page's own server, at its root.
  const url = new URL(base || '/', origin);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TypeError(`cursord: url must be ws:, wss:, http: or https:, got ${url.protocol}`);
  }
  if (room != null) url.pathname = url.pathname.replace(/\/+$/, '') + '/rooms/' + room;
  if (user != null) url.searchParams.set('user', user);
  if (name != null) url.searchParams.set('name', name);
  if (color != null) url.searchParams.set('color', color);
  url.hash = '';
  return url.toString();
}

// ---------------------------------------------------------------------------
// Surfaces: what coordinates are fractions of.

function surfaceRect(surface) {
  if (surface === 'window') return { left: 0, top: 0, width: innerWidth, height: innerHeight };
  if (surface === 'document') {
    const el = document.documentElement;
    return { left: -scrollX, top: -scrollY, width: el.scrollWidth, height: el.scrollHeight };
  }
  if (typeof surface === 'function') return surface();
  const r = surface.getBoundingClientRect();
  return { left: r.left, top: r.top, width: r.width, height: r.height };
}

function checkSurface(surface) {
  const ok = surface === 'window' || surface === 'document' || typeof surface === 'function' ||
             (surface !== null && typeof surface === 'object' &&
              typeof surface.getBoundingClientRect === 'function');
  if (!ok) {
    throw new TypeError("cursord: surface must be 'window', 'document', an Element or a function returning a rect");
  }
}

// ---------------------------------------------------------------------------
// The room handle.

function snapshot(m) {
  return Object.freeze({ ...m });
}

// Members are frozen snapshots that also read their state as JSON.
const MemberPrototype = Object.freeze({
  stateJson() { return parseStateJson(this.state); },
});

function memberSnapshot(fields) {
  return Object.freeze(Object.assign(Object.create(MemberPrototype), fields));
}

// A member as v1 shows it, or as v2's `08` describes it. `key` names it in
// this handle (see Room.away_).
function newMember(id, info, key) {
  return memberSnapshot({
    id, key, user: info?.user ?? null, name: info?.name ?? null, color: info?.color ?? colorForId(id),
    x: null, y: null, pressed: false, state: null, away: false,
  });
}

function sameIdentity(member, info) {
  return member.user === info.user && member.name === info.name && member.color === info.color;
}

// Whether a member could be recognised if it came back under a new id:
// only v2 info says who someone is (a user id, or a name), so v1 members
// and anonymous v2 members cannot be.
function recognisable(member) {
  return member.user !== null || member.name !== null;
}

// Whether `info` (a join's `08`) is `away` coming back: the same user id;
// without user ids on either side, the same name and colour (the colour is
// the member's own or derived from its name, so a namesake who chose
// another colour is someone else).
function isReturnOf(away, info) {
  if (away.user !== null || info.user !== null) return away.user === info.user;
  return away.name !== null && away.name === info.name && away.color === info.color;
}

class Room {
  constructor(url, options) {
    const o = { ...options };
    validateIdentity(o);
    const throttleMs = o.throttleMs ?? DEFAULTS.throttleMs;
    if (!(throttleMs >= DEFAULTS.minThrottleMs && throttleMs <= DEFAULTS.maxThrottleMs)) {
      throw new RangeError(`cursord: throttleMs must be ${DEFAULTS.minThrottleMs}..${DEFAULTS.maxThrottleMs}, got ${throttleMs}`);
    }
    const maxStateBytes = o.maxStateBytes ?? DEFAULTS.maxStateBytes;
    if (!(Number.isInteger(maxStateBytes) && maxStateBytes >= 0)) {
      throw new RangeError(`cursord: maxStateBytes must be an integer >= 0, got ${maxStateBytes}`);
    }
    const protocol = o.protocol ?? 'auto';
    if (protocol !== 'auto' && protocol !== 'v1') {
      throw new TypeError(`cursord: protocol must be 'auto' or 'v1', got ${protocol}`);
    }
    const surface = o.surface ?? 'window';
    checkSurface(surface);
    if (o.token != null && typeof o.token !== 'string' && typeof o.token !== 'function') {
      throw new TypeError('cursord: token must be a string or a function returning one');
    }
    const r = o.reconnect === false ? null : { ...o.reconnect };
    // Others who drop are kept away this long even without reconnects of mine.
    const memberGraceMs = r?.memberGraceMs ?? DEFAULTS.memberGraceMs;
    if (!(Number.isFinite(memberGraceMs) && memberGraceMs >= 0)) {
      throw new RangeError(`cursord: memberGraceMs must be a number >= 0, got ${memberGraceMs}`);
    }
    this.reconnect_ = r && {
      minDelayMs: r.minDelayMs ?? DEFAULTS.minDelayMs,
      maxDelayMs: r.maxDelayMs ?? DEFAULTS.maxDelayMs,
      stableAfterMs: r.stableAfterMs ?? DEFAULTS.stableAfterMs,
      memberGraceMs,
    };
    this.memberGraceMs_ = memberGraceMs;
    this.origin_ = typeof location !== 'undefined' ? location.href : undefined;
    this.url_ = buildUrl(url, o, this.origin_);
    this.token_ = o.token ?? null;
    this.surface_ = surface;
    this.connectTimeoutMs_ = o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    this.maxStateBytes_ = maxStateBytes;
    this.WebSocket_ = o.WebSocket ?? globalThis.WebSocket;
    this.random_ = o.random ?? Math.random;
    // Every timer of the handle (retries, the connect timeout, the graces,
    // the throttles) goes through this: tests pass a clock of their own.
    this.timers_ = o.timers ?? globalThis;

    this.listeners_ = new Map();
    for (const type of EVENT_TYPES) this.listeners_.set(type, new Set());

    // All state below is owned by the page's single thread; every change
    // goes through the handlers of this class, in the order the socket
    // delivered it.
    this.ws_ = null;
    this.status_ = snapshot({ state: 'connecting', attempt: 0 });
    this.selfId_ = null;
    this.self_ = null;              // my Member while open
    this.members_ = new Map();      // id -> Member (frozen snapshot, replaced on change)
    // Members whose leave (`04`) came while they may come back (v2 info to
    // know them by): key -> {member, timer}. Kept apart from members_
    // because the server gives their id to the next joiner at once: ids
    // name live members, keys name what the page shows. A key is new for
    // every join and kept by a member that comes back.
    this.away_ = new Map();
    this.keys_ = 0;                 // keys given so far
    this.attempt_ = 0;              // retries since the last stable connection
    this.openedAt_ = 0;
    this.retryTimer_ = null;
    this.connectTimer_ = null;
    this.graceTimer_ = null;
    this.closedByUser_ = false;
    // Negotiation. offerV2_ turns false for good once a server has been
    // seen to accept only a connection without cursord.v2 (it selects no
    // subprotocol, and browsers fail such a connection).
    this.offerV2_ = protocol === 'auto';
    this.probingV1_ = false;        // this attempt is the retry without cursord.v2
    // Whether a connection of this handle was answered with a subprotocol:
    // the server at this URL negotiates, so an attempt of mine that fails
    // is an outage, never a sign of a server that selects none.
    this.negotiates_ = false;
    this.wire_ = null;              // 'v1' | 'v2' of the current connection, once known
    // v2's join sequence: the roster waits for every member's `08`, and a
    // `03` for the `08` right behind it, so that `join` carries the name.
    this.pendingRoster_ = null;     // {ids, infos: Map id -> info}
    this.pendingJoin_ = null;       // id of a `03` whose `08` has not come yet
    this.position_ = null;          // my newest [x16, y16], re-sent after a reconnect
    this.pressed_ = false;
    this.state_ = null;             // my newest state bytes (null: none), re-sent after a reconnect
    this.throttle_ = new MoveThrottle(throttleMs, (x, y) => this.send_(encodeMove(x, y)), this.timers_);
    this.stateThrottle_ = new LatestThrottle(
      throttleMs, (bytes) => this.wire_ === 'v2' && this.send_(encodeState(bytes)), this.timers_,
      sameBytes);

    // After connect() returns, so listeners added right away see "connecting".
    queueMicrotask(() => this.open_());
  }

  // ---- public API --------------------------------------------------------

  /** The current status: {state, code?, reason?, attempt, delayMs?, id?, protocol?}. */
  get status() { return this.status_; }

  /** My member id while connected, else null. Changes on every reconnect. */
  get selfId() { return this.selfId_; }

  /**
   * Me as the room shows me while open (v2: the server's name and colour
   * for me; v1: my id's colour), else null.
   */
  get self() { return this.self_; }

  /** 'v2' or 'v1' while open (what the server selected), else null. */
  get protocol() { return this.selfId_ === null ? null : this.wire_; }

  /** The URL connected to (without the token). */
  get url() { return this.url_; }

  /**
   * Every other member, ascending ids: those here, and those away (`away`
   * true, at their last id) until they come back or their grace ends. An
   * away member's id may already be someone else's: that one comes first.
   */
  others() {
    const away = [...this.away_.values()].map((entry) => entry.member);
    return [...this.members_.values(), ...away].sort((a, b) => a.id - b.id || a.away - b.away);
  }

  /** The other member here with this id (never an away one), or undefined. */
  member(id) {
    return this.members_.get(id);
  }

  /** Subscribes to an event; returns a function that unsubscribes. */
  on(type, listener) {
    const set = this.listeners_.get(type);
    if (!set) throw new TypeError(`cursord: unknown event "${type}"`);
    if (typeof listener !== 'function') throw new TypeError('cursord: listener must be a function');
    set.add(listener);
    return () => set.delete(listener);
  }

  off(type, listener) {
    this.listeners_.get(type)?.delete(listener);
  }

  /**
   * My pointer at viewport coordinates (PointerEvent.clientX/Y), mapped onto
   * the surface. Throttled; the newest position is always sent.
   */
  setCursor(clientX, clientY) {
    const rect = surfaceRect(this.surface_);
    if (!(rect.width > 0 && rect.height > 0)) return;
    this.setCursorFraction((clientX - rect.left) / rect.width, (clientY - rect.top) / rect.height);
  }

  /** My pointer as fractions 0..1 of the surface (for apps with their own coordinates). */
  setCursorFraction(x, y) {
    this.position_ = [toWire(x), toWire(y)];
    this.throttle_.push(this.position_[0], this.position_[1]);
  }

  /**
   * Pressed or released. Sends the pending position and state first, so the
   * click lands where the pointer is and after what I set before it.
   */
  setPressed(pressed) {
    pressed = Boolean(pressed);
    if (pressed === this.pressed_) return;
    this.pressed_ = pressed;
    this.throttle_.flush();
    this.stateThrottle_.flush();
    this.send_(encodePress(pressed));
  }

  /**
   * My state for the others (v2): bytes as they are, any other value as
   * UTF-8 JSON. Throttled like positions, latest wins; kept and sent again
   * after a reconnect. Throws a RangeError over `maxStateBytes`, a TypeError
   * for what is neither bytes nor JSON. On a v1 connection it is kept and
   * not sent (v1 has no state).
   */
  setState(value) {
    const bytes = stateBytes(value);
    if (bytes.length > this.maxStateBytes_) {
      throw new RangeError(`cursord: state is ${bytes.length} bytes, more than maxStateBytes (${this.maxStateBytes_})`);
    }
    this.state_ = bytes.length > 0 ? bytes : null;
    this.stateThrottle_.push(bytes);
  }

  /** Clears my state (the others' `state` event gets null). */
  clearState() {
    this.setState(new Uint8Array(0));
  }

  /** Surface fractions as viewport coordinates (for position: fixed overlays). */
  toClient(x, y) {
    const rect = surfaceRect(this.surface_);
    return { x: rect.left + x * rect.width, y: rect.top + y * rect.height };
  }

  /** Surface fractions as pixels from the surface's top-left corner (for overlays inside it). */
  toSurface(x, y) {
    const rect = surfaceRect(this.surface_);
    return { x: x * rect.width, y: y * rect.height };
  }

  /**
   * Sends the page's pointer: moves, presses and releases on `target`
   * (default: the surface element, or the window). Unless the surface is
   * the window, scrolling (the page or any scrolling element) re-sends the
   * position under the resting pointer, since the surface moved under it.
   * Returns a function that stops tracking.
   */
  trackPointer(target) {
    const surfaceIsElement = typeof this.surface_ === 'object';
    const t = target ?? (surfaceIsElement ? this.surface_ : globalThis);
    let last = null;
    const move = (ev) => { last = [ev.clientX, ev.clientY]; this.setCursor(ev.clientX, ev.clientY); };
    const down = (ev) => { move(ev); this.setPressed(true); };
    const up = () => this.setPressed(false);
    const scroll = () => { if (last) this.setCursor(last[0], last[1]); };
    // Capture: an element's scroll does not bubble.
    const scrollOptions = { capture: true, passive: true };
    t.addEventListener('pointermove', move);
    t.addEventListener('pointerdown', down);
    // Releases anywhere count: a drag may end outside the target.
    globalThis.addEventListener('pointerup', up);
    globalThis.addEventListener('pointercancel', up);
    globalThis.addEventListener('blur', up);
    if (this.surface_ !== 'window') globalThis.addEventListener('scroll', scroll, scrollOptions);
    return () => {
      t.removeEventListener('pointermove', move);
      t.removeEventListener('pointerdown', down);
      globalThis.removeEventListener('pointerup', up);
      globalThis.removeEventListener('pointercancel', up);
      globalThis.removeEventListener('blur', up);
      globalThis.removeEventListener('scroll', scroll, scrollOptions);
    };
  }

  /** Leaves the room for good (close 1000); no reconnect. */
  close() {
    if (this.status_.state === 'closed') return;
    this.closedByUser_ = true;
    const ws = this.ws_;
    this.finish_(CloseCode.NORMAL, 'closed by the client');
    if (ws) ws.close(CloseCode.NORMAL);
  }

  // ---- connection ----------------------------------------------------------

  // What to offer: cursord.v2 and cursord.v1 (a cursord that predates v2
  // selects v1, so it needs no retry), with the token's entry. After the
  // fallback, what the SDK offered before v2: nothing without a token (the
  // seed client's handshake), cursord.v1 next to one.
  protocols_(token) {
    const offer = this.offerV2_ && !this.probingV1_ ? [PROTOCOL_V2, PROTOCOL_V1]
                : token ? [PROTOCOL_V1] : [];
    // The token rides as a subprotocol entry to keep it out of URLs and
    // access logs (docs/PROTOCOL.md, "Join tokens").
    if (token) offer.push('cursord.token.' + token);
    return offer;
  }

  open_() {
    if (this.status_.state === 'closed') return;
    // A retry keeps the "reconnecting" status its close set (code, reason,
    // delay); only the first attempt says "connecting".
    if (this.status_.state === 'connecting' && !this.probingV1_) {
      this.setStatus_({ state: 'connecting', attempt: 0 });
    }
    // A token function that throws or rejects counts as a failed attempt
    // (retried with backoff), not as an error escaping into the page.
    const token = typeof this.token_ === 'function'
      ? new Promise((resolve) => resolve(this.token_()))
      : this.token_;
    Promise.resolve(token).then((value) => {
      if (this.status_.state === 'closed') return;
      const protocols = this.protocols_(value);
      const offeredV2 = protocols.includes(PROTOCOL_V2);
      let ws;
      try {
        ws = new this.WebSocket_(this.url_, protocols);
      } catch (err) {
        this.finish_(0, `cannot connect: ${err.message}`);
        return;
      }
      this.ws_ = ws;
      this.wire_ = null;
      ws.binaryType = 'arraybuffer';
      // The 101 arrived: what the server selected is the wire from now on.
      const accepted = () => {
        if (this.wire_ !== null) return;
        this.wire_ = ws.protocol === PROTOCOL_V2 ? 'v2' : 'v1';
        if (ws.protocol !== '') this.negotiates_ = true;
      };
      ws.onopen = () => { if (ws === this.ws_) accepted(); };
      ws.onmessage = (ev) => {
        if (ws !== this.ws_) return;
        accepted();
        this.onMessage_(ev.data);
      };
      ws.onclose = (ev) => {
        if (ws !== this.ws_) return;
        // Never upgraded while offering cursord.v2: perhaps a server that
        // selects no subprotocol (the browser then fails the connection), or
        // simply a server that is down. At once (no backoff) try once
        // without v2: if that one opens the server is up and v1-only, and
        // this handle stops offering v2; if it fails too, it was an outage.
        // Not against a server that has negotiated before: the outage (a
        // restart) may end between the two attempts, and the retry would
        // then pin a v2 server's member to v1 for the handle's life.
        if (offeredV2 && this.wire_ === null && !this.negotiates_ && !this.closedByUser_) {
          this.timers_.clearTimeout(this.connectTimer_);
          this.ws_ = null;
          this.probingV1_ = true;
          this.open_();
          return;
        }
        this.onClose_(ev.code, ev.reason);
      };
      this.connectTimer_ = this.timers_.setTimeout(() => {
        // A connection that never joins (a black-holed SYN, a proxy that
        // holds the upgrade) is given up and retried like a lost one.
        if (ws === this.ws_ && this.selfId_ === null) {
          this.onClose_(CloseCode.ABNORMAL, 'connect timeout');
          ws.close();
        }
      }, this.connectTimeoutMs_);
    }, (err) => {
      if (this.status_.state === 'closed') return;
      this.onClose_(CloseCode.ABNORMAL, `token: ${err && err.message ? err.message : err}`);
    });
  }

  send_(bytes) {
    if (!this.ws_ || this.ws_.readyState !== 1 || this.selfId_ === null) return false;
    this.ws_.send(bytes);
    return true;
  }

  onMessage_(data) {
    if (!(data instanceof ArrayBuffer)) return;  // the protocol is binary
    const msg = decodeMessage(new Uint8Array(data));
    if (!msg) return;
    // A `03` whose `08` is not next, or a roster whose `08`s stop short,
    // is taken as it is: nothing waits for a message that is not coming.
    if (this.pendingJoin_ !== null && !(msg.type === 'info' && msg.id === this.pendingJoin_)) {
      this.flushPendingJoin_();
    }
    if (this.pendingRoster_ !== null && msg.type !== 'info') this.finishRoster_();
    switch (msg.type) {
      case 'hello':
        this.selfId_ = msg.id;
        break;
      case 'roster':
        if (this.selfId_ === null) return;
        this.pendingRoster_ = { ids: msg.ids, infos: new Map() };
        if (this.wire_ !== 'v2') this.finishRoster_();
        break;
      case 'info':
        this.onInfo_(msg);
        break;
      case 'joined': {
        // A reused id is a new person: the previous owner's leave came first
        // (the protocol guarantees it), but be safe.
        if (this.members_.has(msg.id)) this.removeMember_(msg.id);
        if (this.wire_ === 'v2') this.pendingJoin_ = msg.id;
        else this.addMember_(msg.id, null);
        break;
      }
      case 'left':
        this.dropMember_(msg.id);
        break;
      case 'move': {
        const m = this.members_.get(msg.id);
        if (!m) return;
        const x = fromWire(msg.x), y = fromWire(msg.y);
        const next = memberSnapshot({ ...m, x, y });
        this.members_.set(msg.id, next);
        this.emit_('move', { member: next, x, y });
        break;
      }
      case 'press': {
        const m = this.members_.get(msg.id);
        if (!m || m.pressed === msg.pressed) return;
        const next = memberSnapshot({ ...m, pressed: msg.pressed });
        this.members_.set(msg.id, next);
        this.emit_('click', { member: next, pressed: msg.pressed });
        break;
      }
      case 'state': {
        const m = this.members_.get(msg.id);
        if (!m) return;  // also my own id: the server never echoes my state
        const state = msg.state.length > 0 ? msg.state : null;
        if (m.state === null ? state === null : state !== null && sameBytes(m.state, state)) return;
        this.setMemberState_(m, state);
        break;
      }
    }
  }

  onInfo_(info) {
    const roster = this.pendingRoster_;
    if (roster !== null) {
      roster.infos.set(info.id, info);
      if (roster.ids.every((id) => roster.infos.has(id))) this.finishRoster_();
      return;
    }
    if (info.id === this.pendingJoin_) {
      this.pendingJoin_ = null;
      this.addMember_(info.id, info);
      return;
    }
    // The protocol sends `08` only with a join; a stray one updates quietly.
    const m = this.members_.get(info.id);
    if (m) this.members_.set(info.id, memberSnapshot({ ...m, user: info.user, name: info.name, color: info.color }));
    else if (info.id === this.selfId_ && this.self_) this.self_ = newMember(info.id, info, 'self');
  }

  flushPendingJoin_() {
    const id = this.pendingJoin_;
    this.pendingJoin_ = null;
    this.addMember_(id, null);
  }

  // The roster (and in v2 every member's `08`) ends a join: the connection
  // is open. Members kept through a reconnect (same id in the new roster)
  // stay without a leave and join, unless v2's info shows another person
  // behind the id; a stale position is replaced by the join sequence's
  // positions that follow, a stale state is cleared (the join sequence
  // sends every state there is).
  finishRoster_() {
    const { ids, infos } = this.pendingRoster_;
    this.pendingRoster_ = null;
    this.timers_.clearTimeout(this.connectTimer_);
    this.timers_.clearTimeout(this.graceTimer_);
    this.graceTimer_ = null;
    // The retry without cursord.v2 joined: this server is up and selects no
    // subprotocol. Asking it for v2 again would fail every time.
    if (this.probingV1_) this.offerV2_ = false;
    this.probingV1_ = false;
    this.self_ = newMember(this.selfId_, infos.get(this.selfId_), 'self');
    const present = new Set(ids.filter((id) => id !== this.selfId_));
    // Those missing left while I was away, or are reconnecting themselves
    // (a server restart drops everyone): away, as if their leave had come.
    for (const id of [...this.members_.keys()]) if (!present.has(id)) this.dropMember_(id);
    for (const id of present) {
      const m = this.members_.get(id);
      const info = infos.get(id) ?? null;
      if (!m) {
        this.addMember_(id, info);
        continue;
      }
      if (info && !sameIdentity(m, info)) {
        this.dropMember_(id);
        this.addMember_(id, info);
        continue;
      }
      if (m.pressed) {
        // The join sequence re-sends a press still held.
        const next = memberSnapshot({ ...m, pressed: false });
        this.members_.set(id, next);
        this.emit_('click', { member: next, pressed: false });
      }
      if (m.state !== null) this.setMemberState_(this.members_.get(id), null);
    }
    this.openedAt_ = Date.now();
    this.setStatus_({ state: 'open', id: this.selfId_, protocol: this.wire_, attempt: this.attempt_ });
    // What I showed before the reconnect, shown again.
    this.throttle_.reset();
    if (this.position_) {
      this.throttle_.push(this.position_[0], this.position_[1]);
      this.throttle_.flush();
    }
    if (this.pressed_) this.send_(encodePress(true));
    this.stateThrottle_.reset();
    if (this.state_ !== null) {
      this.stateThrottle_.push(this.state_);
      this.stateThrottle_.flush();
    }
  }

  onClose_(code, reason) {
    this.timers_.clearTimeout(this.connectTimer_);
    this.ws_ = null;
    this.selfId_ = null;
    this.self_ = null;
    this.pendingRoster_ = null;
    this.pendingJoin_ = null;
    this.probingV1_ = false;
    if (this.closedByUser_) return;
    const canRefreshToken = typeof this.token_ === 'function';
    if (!this.reconnect_ || isFinalClose(code, { canRefreshToken })) {
      this.finish_(code, reason);
      return;
    }
    // A connection that stayed up a while was healthy: start the backoff over.
    if (this.openedAt_ && Date.now() - this.openedAt_ >= this.reconnect_.stableAfterMs) {
      this.attempt_ = 0;
    }
    this.openedAt_ = 0;
    const delayMs = backoffDelay(this.attempt_, this.reconnect_, this.random_);
    this.attempt_++;
    // Others stay shown for a grace period: most reconnects are quick, and
    // the new roster says who is still there.
    if (this.graceTimer_ === null && this.members_.size > 0) {
      this.graceTimer_ = this.timers_.setTimeout(() => {
        this.graceTimer_ = null;
        this.removeAllMembers_();
      }, this.reconnect_.memberGraceMs);
    }
    this.setStatus_({ state: 'reconnecting', code, reason, attempt: this.attempt_, delayMs });
    this.retryTimer_ = this.timers_.setTimeout(() => { this.retryTimer_ = null; this.open_(); }, delayMs);
  }

  finish_(code, reason) {
    this.timers_.clearTimeout(this.retryTimer_);
    this.timers_.clearTimeout(this.connectTimer_);
    this.timers_.clearTimeout(this.graceTimer_);
    this.retryTimer_ = this.connectTimer_ = this.graceTimer_ = null;
    this.throttle_.dispose();
    this.stateThrottle_.dispose();
    this.ws_ = null;
    this.selfId_ = null;
    this.self_ = null;
    this.pendingRoster_ = null;
    this.pendingJoin_ = null;
    // Everyone leaves now, the away too: no grace ends after the close.
    this.removeAllMembers_();
    for (const { member, timer } of [...this.away_.values()]) {
      this.timers_.clearTimeout(timer);
      this.away_.delete(member.key);
      this.emit_('leave', { member });
    }
    this.setStatus_({ state: 'closed', code, reason, attempt: this.attempt_ });
  }

  // ---- members and events -------------------------------------------------

  // A join: a newcomer, or (v2) an away member coming back under a new id,
  // which keeps its key and its last position until it moves, and starts
  // with no state like any join (its SDK sends the state again).
  addMember_(id, info) {
    const previous = info ? this.takeAway_(info) : null;
    if (!previous) {
      const m = newMember(id, info, 'm' + ++this.keys_);
      this.members_.set(id, m);
      this.emit_('join', { member: m });
      return;
    }
    const m = memberSnapshot({ ...newMember(id, info, previous.key), x: previous.x, y: previous.y });
    this.members_.set(id, m);
    this.emit_('back', { member: m, previous });
  }

  // The away member that `info` is the return of (the one away longest
  // when several match), no longer away; or null.
  takeAway_(info) {
    for (const { member, timer } of this.away_.values()) {
      if (!isReturnOf(member, info)) continue;
      this.timers_.clearTimeout(timer);
      this.away_.delete(member.key);
      return member;
    }
    return null;
  }

  // A member the server says left, or that my new roster lacks. One that
  // could be recognised coming back is away for memberGraceMs (released,
  // if it was pressing), then leaves; any other leaves at once, and so does
  // one whose identity is here under another id: it has already come back
  // (its old session reaped after its reconnect joined, or its leave slower
  // across instances than its join) or has another tab open.
  dropMember_(id) {
    const m = this.members_.get(id);
    if (!m) return;
    if (this.memberGraceMs_ === 0 || !recognisable(m) ||
        [...this.members_.values()].some((other) => other !== m && isReturnOf(m, other))) {
      this.removeMember_(id);
      return;
    }
    if (m.pressed) {
      const released = memberSnapshot({ ...m, pressed: false });
      this.members_.set(id, released);
      this.emit_('click', { member: released, pressed: false });
      if (this.members_.get(id) !== released) return;  // a listener closed the room
    }
    this.members_.delete(id);
    const away = memberSnapshot({ ...m, pressed: false, away: true });
    const timer = this.timers_.setTimeout(() => {
      this.away_.delete(away.key);
      this.emit_('leave', { member: away });
    }, this.memberGraceMs_);
    this.away_.set(away.key, { member: away, timer });
    this.emit_('away', { member: away });
  }

  setMemberState_(m, state) {
    const next = memberSnapshot({ ...m, state });
    this.members_.set(m.id, next);
    this.emit_('state', { member: next, state });
  }

  removeMember_(id) {
    const m = this.members_.get(id);
    if (!m) return;
    this.members_.delete(id);
    this.emit_('leave', { member: m });
  }

  removeAllMembers_() {
    for (const id of [...this.members_.keys()]) this.removeMember_(id);
  }

  setStatus_(status) {
    this.status_ = snapshot(status);
    this.emit_('status', this.status_);
  }

  emit_(type, event) {
    for (const listener of [...this.listeners_.get(type)]) {
      try {
        listener(event);
      } catch (err) {
        // One failing listener must not leave the room half-updated; the
        // error still reaches the page's console and error handlers.
        queueMicrotask(() => { throw err; });
      }
    }
  }
}

/**
 * Joins a room and keeps the connection up: returns the room handle at once
 * (status "connecting"). Throws TypeError/RangeError for invalid options.
 *
 *   const room = connect('wss://cursors.example.com', { room: 'lobby', name: 'Ada' });
 */
export function connect(url, options = {}) {
  return new Room(url, options);
}

/**
 * Draws other members' cursors smoothly: calls `draw(member, x, y)` (x, y
 * surface fractions) on animation frames while a cursor is moving, along a
 * spline through the received positions, `delayMs` behind them. Without it,
 * draw on the `move` event: positions then jump every throttle interval.
 * Cursors are tracked by member key: an away member's cursor stays where it
 * was (drawn again with `member.away` true), and one that comes back under
 * a new id goes on from there. Returns a function that stops it.
 */
export function animateCursors(room, draw, { delayMs = DEFAULTS.interpolationDelayMs } = {}) {
  const interpolator = new Interpolator({ delayMs });
  const members = new Map();  // key -> a snapshot of each member with a track
  const drawn = new Map();    // key -> "x,y" last drawn
  let frame = 0;
  const tick = () => {
    frame = 0;
    const now = performance.now();
    let moving = false;
    for (const key of interpolator.ids()) {
      const seen = members.get(key);
      const s = interpolator.sample(key, now);
      if (!seen || !s) continue;
      // The newest snapshot while it is here (a click or state since);
      // the id may be someone else's once it is away.
      const live = seen.away ? undefined : room.member(seen.id);
      const member = live?.key === key ? live : seen;
      const at = s.x + ',' + s.y;
      if (drawn.get(key) !== at) {
        drawn.set(key, at);
        draw(member, s.x, s.y);
      }
      if (!s.settled) moving = true;
    }
    if (moving) schedule();
  };
  const schedule = () => { if (!frame) frame = requestAnimationFrame(tick); };
  const offMove = room.on('move', ({ member, x, y }) => {
    members.set(member.key, member);
    interpolator.add(member.key, x, y, performance.now());
    schedule();
  });
  // The same cursor as another snapshot (away, back under a new id): drawn
  // again where it is, so `draw` sees the change.
  const changed = ({ member }) => {
    if (!members.has(member.key)) return;
    members.set(member.key, member);
    drawn.delete(member.key);
    schedule();
  };
  const offAway = room.on('away', changed);
  const offBack = room.on('back', changed);
  const offLeave = room.on('leave', ({ member }) => {
    interpolator.remove(member.key);
    members.delete(member.key);
    drawn.delete(member.key);
  });
  // A resize or scroll (of the page or, captured, of any scrolling element)
  // moves the surface under the cursors: draw them again.
  const redraw = () => { drawn.clear(); schedule(); };
  const scrollOptions = { capture: true, passive: true };
  globalThis.addEventListener('resize', redraw);
  globalThis.addEventListener('scroll', redraw, scrollOptions);
  return () => {
    offMove();
    offAway();
    offBack();
    offLeave();
    globalThis.removeEventListener('resize', redraw);
    globalThis.removeEventListener('scroll', redraw, scrollOptions);
    if (frame) cancelAnimationFrame(frame);
    interpolator.clear();
  };
}
