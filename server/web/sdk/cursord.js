// cursord browser SDK: live cursors over cursord's WebSocket protocol.
//
// A dependency-free ES module. cursord serves it at /sdk/cursord.js (types at
// /sdk/cursord.d.ts); the same files form the npm package in server/web/sdk.
// The reference is docs/SDK.md; the wire is docs/PROTOCOL.md.
//
// Protocol v1 is what this file speaks: one-byte member ids, u16 x/y, clicks.
// v1 carries no names, colours or state, so members have `name: null`,
// `user: null`, a colour derived from their id, and no `state` event fires.
// Protocol v2 will fill those fields in; the API is shaped so that v2 adds
// data, not breaking changes.
//
// Nothing here touches `window` or `document` until a page asks for it, so
// the pure parts (codec, throttle, backoff, interpolation) load in Node for
// the SDK's unit tests.

export const VERSION = '0.1.0';

/** The subprotocol of the v1 wire (offered only when a token needs a subprotocol entry). */
export const PROTOCOL_V1 = 'cursord.v1';

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

const EVENT_TYPES = new Set(['join', 'leave', 'move', 'click', 'status', 'state']);
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
});
export { DEFAULTS };

// ---------------------------------------------------------------------------
// Wire codec (v1). Pure.

const MSG = Object.freeze({
  HELLO: 0x01, ROSTER: 0x02, JOINED: 0x03, LEFT: 0x04, CURSOR: 0x05, DOWN: 0x06, UP: 0x07,
});

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

/**
 * One server message, or null for what a client must ignore (empty, short,
 * unknown type). Returns {type: 'hello', id} | {type: 'roster', ids} |
 * {type: 'joined', id} | {type: 'left', id} | {type: 'move', id, x, y}
 * (x, y as u16) | {type: 'press', id, pressed}.
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
    default: return null;
  }
}

/**
 * A member's colour when the server sends none (v1 always): spread around the
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
// Throttle. Pure apart from the timers it is given.

/**
 * Sends at most one position per `intervalMs`: the first at once, then the
 * newest one at the end of each interval while positions keep coming (the
 * last one is never lost). A position equal to the last one sent is skipped.
 * `send(x16, y16)` returns false when it could not send (not connected); the
 * position then stays pending for `flush()` after a reconnect.
 */
export class MoveThrottle {
  constructor(intervalMs, send, timers = globalThis) {
    this.intervalMs_ = intervalMs;
    this.send_ = send;
    this.timers_ = timers;
    this.pending_ = null;   // [x16, y16] not sent yet
    this.lastSent_ = null;  // [x16, y16]
    this.timer_ = null;
  }

  /** The newest position, as u16 coordinates. */
  push(x16, y16) {
    this.pending_ = [x16, y16];
    if (this.timer_ === null) {
      this.flush();
      this.timer_ = this.timers_.setTimeout(() => this.onInterval_(), this.intervalMs_);
    }
  }

  /**
   * Sends the pending position now, ahead of the interval. A press calls it
   * so that the press lands where the pointer is. Returns whether it sent.
   */
  flush() {
    if (this.pending_ === null) return false;
    const [x, y] = this.pending_;
    if (this.lastSent_ !== null && this.lastSent_[0] === x && this.lastSent_[1] === y) {
      this.pending_ = null;
      return false;
    }
    if (!this.send_(x, y)) return false;
    this.pending_ = null;
    this.lastSent_ = [x, y];
    return true;
  }

  /** Forgets what was sent (a new connection has seen nothing yet). */
  reset() {
    this.lastSent_ = null;
  }

  dispose() {
    if (this.timer_ !== null) this.timers_.clearTimeout(this.timer_);
    this.timer_ = null;
    this.pending_ = null;
  }

  onInterval_() {
    // Keep the window open while positions keep coming; close it once idle,
    // so the next position goes out at once.
    this.timer_ = this.flush()
      ? this.timers_.setTimeout(() => this.onInterval_(), this.intervalMs_)
      : null;
  }
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
  return new TextEncoder().encode(text).length;
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

class Room {
  constructor(url, options) {
    const o = { ...options };
    validateIdentity(o);
    const throttleMs = o.throttleMs ?? DEFAULTS.throttleMs;
    if (!(throttleMs >= DEFAULTS.minThrottleMs && throttleMs <= DEFAULTS.maxThrottleMs)) {
      throw new RangeError(`cursord: throttleMs must be ${DEFAULTS.minThrottleMs}..${DEFAULTS.maxThrottleMs}, got ${throttleMs}`);
    }
    const surface = o.surface ?? 'window';
    checkSurface(surface);
    if (o.token != null && typeof o.token !== 'string' && typeof o.token !== 'function') {
      throw new TypeError('cursord: token must be a string or a function returning one');
    }
    const r = o.reconnect === false ? null : { ...o.reconnect };
    this.reconnect_ = r && {
      minDelayMs: r.minDelayMs ?? DEFAULTS.minDelayMs,
      maxDelayMs: r.maxDelayMs ?? DEFAULTS.maxDelayMs,
      stableAfterMs: r.stableAfterMs ?? DEFAULTS.stableAfterMs,
      memberGraceMs: r.memberGraceMs ?? DEFAULTS.memberGraceMs,
    };
    this.origin_ = typeof location !== 'undefined' ? location.href : undefined;
    this.url_ = buildUrl(url, o, this.origin_);
    this.token_ = o.token ?? null;
    this.surface_ = surface;
    this.connectTimeoutMs_ = o.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    this.WebSocket_ = o.WebSocket ?? globalThis.WebSocket;
    this.random_ = o.random ?? Math.random;

    this.listeners_ = new Map();
    for (const type of EVENT_TYPES) this.listeners_.set(type, new Set());

    // All state below is owned by the page's single thread; every change
    // goes through the handlers of this class, in the order the socket
    // delivered it.
    this.ws_ = null;
    this.status_ = snapshot({ state: 'connecting', attempt: 0 });
    this.selfId_ = null;
    this.members_ = new Map();      // id -> Member (frozen snapshot, replaced on change)
    this.attempt_ = 0;              // retries since the last stable connection
    this.openedAt_ = 0;
    this.retryTimer_ = null;
    this.connectTimer_ = null;
    this.graceTimer_ = null;
    this.closedByUser_ = false;
    this.position_ = null;          // my newest [x16, y16], re-sent after a reconnect
    this.pressed_ = false;
    this.throttle_ = new MoveThrottle(throttleMs, (x, y) => this.send_(encodeMove(x, y)));

    // After connect() returns, so listeners added right away see "connecting".
    queueMicrotask(() => this.open_());
  }

  // ---- public API --------------------------------------------------------

  /** The current status: {state, code?, reason?, attempt, delayMs?, id?}. */
  get status() { return this.status_; }

  /** My member id while connected, else null. Changes on every reconnect (v1). */
  get selfId() { return this.selfId_; }

  /** The URL connected to (without the token). */
  get url() { return this.url_; }

  /** Every other member, ascending ids. */
  others() {
    return [...this.members_.values()].sort((a, b) => a.id - b.id);
  }

  /** One other member by id, or undefined. */
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

  /** Pressed or released. Sends the pending position first, so the click lands where the pointer is. */
  setPressed(pressed) {
    pressed = Boolean(pressed);
    if (pressed === this.pressed_) return;
    this.pressed_ = pressed;
    this.throttle_.flush();
    this.send_(encodePress(pressed));
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
   * (default: the surface element, or the window). With the 'document'
   * surface, scrolling re-sends the position under the resting pointer.
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
    t.addEventListener('pointermove', move);
    t.addEventListener('pointerdown', down);
    // Releases anywhere count: a drag may end outside the target.
    globalThis.addEventListener('pointerup', up);
    globalThis.addEventListener('pointercancel', up);
    globalThis.addEventListener('blur', up);
    if (this.surface_ === 'document') globalThis.addEventListener('scroll', scroll, { passive: true });
    return () => {
      t.removeEventListener('pointermove', move);
      t.removeEventListener('pointerdown', down);
      globalThis.removeEventListener('pointerup', up);
      globalThis.removeEventListener('pointercancel', up);
      globalThis.removeEventListener('blur', up);
      globalThis.removeEventListener('scroll', scroll);
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

  open_() {
    if (this.status_.state === 'closed') return;
    // A retry keeps the "reconnecting" status its close set (code, reason,
    // delay); only the first attempt says "connecting".
    if (this.status_.state === 'connecting') this.setStatus_({ state: 'connecting', attempt: 0 });
    // A token function that throws or rejects counts as a failed attempt
    // (retried with backoff), not as an error escaping into the page.
    const token = typeof this.token_ === 'function'
      ? new Promise((resolve) => resolve(this.token_()))
      : this.token_;
    Promise.resolve(token).then((value) => {
      if (this.status_.state === 'closed') return;
      // The token rides as a subprotocol entry, next to cursord.v1, to keep it
      // out of URLs and access logs (docs/PROTOCOL.md, "Join tokens"). With
      // no token nothing is offered, exactly as the seed client.
      const protocols = value ? [PROTOCOL_V1, 'cursord.token.' + value] : [];
      let ws;
      try {
        ws = new this.WebSocket_(this.url_, protocols);
      } catch (err) {
        this.finish_(0, `cannot connect: ${err.message}`);
        return;
      }
      this.ws_ = ws;
      ws.binaryType = 'arraybuffer';
      ws.onmessage = (ev) => { if (ws === this.ws_) this.onMessage_(ev.data); };
      ws.onclose = (ev) => { if (ws === this.ws_) this.onClose_(ev.code, ev.reason); };
      this.connectTimer_ = setTimeout(() => {
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
    switch (msg.type) {
      case 'hello':
        this.selfId_ = msg.id;
        break;
      case 'roster':
        this.onRoster_(msg.ids);
        break;
      case 'joined': {
        // A reused id is a new person: the previous owner's leave came first
        // (the protocol guarantees it), but be safe.
        if (this.members_.has(msg.id)) this.removeMember_(msg.id);
        this.addMember_(msg.id);
        break;
      }
      case 'left':
        this.removeMember_(msg.id);
        break;
      case 'move': {
        const m = this.members_.get(msg.id);
        if (!m) return;
        const x = fromWire(msg.x), y = fromWire(msg.y);
        const next = snapshot({ ...m, x, y });
        this.members_.set(msg.id, next);
        this.emit_('move', { member: next, x, y });
        break;
      }
      case 'press': {
        const m = this.members_.get(msg.id);
        if (!m || m.pressed === msg.pressed) return;
        const next = snapshot({ ...m, pressed: msg.pressed });
        this.members_.set(msg.id, next);
        this.emit_('click', { member: next, pressed: msg.pressed });
        break;
      }
    }
  }

  // The roster ends a join: the connection is open. Members kept through a
  // reconnect (same id in the new roster) stay without a leave and join;
  // v1 cannot tell whether an id changed hands meanwhile, and a stale
  // position is replaced by the join sequence's positions that follow.
  onRoster_(ids) {
    if (this.selfId_ === null) return;
    clearTimeout(this.connectTimer_);
    clearTimeout(this.graceTimer_);
    this.graceTimer_ = null;
    const present = new Set(ids.filter((id) => id !== this.selfId_));
    for (const id of [...this.members_.keys()]) if (!present.has(id)) this.removeMember_(id);
    for (const id of present) {
      const m = this.members_.get(id);
      if (!m) {
        this.addMember_(id);
      } else if (m.pressed) {
        // The join sequence re-sends a press still held.
        const next = snapshot({ ...m, pressed: false });
        this.members_.set(id, next);
        this.emit_('click', { member: next, pressed: false });
      }
    }
    this.openedAt_ = Date.now();
    this.setStatus_({ state: 'open', id: this.selfId_, attempt: this.attempt_ });
    // What I showed before the reconnect, shown again.
    this.throttle_.reset();
    if (this.position_) {
      this.throttle_.push(this.position_[0], this.position_[1]);
      this.throttle_.flush();
    }
    if (this.pressed_) this.send_(encodePress(true));
  }

  onClose_(code, reason) {
    clearTimeout(this.connectTimer_);
    this.ws_ = null;
    this.selfId_ = null;
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
      this.graceTimer_ = setTimeout(() => {
        this.graceTimer_ = null;
        this.removeAllMembers_();
      }, this.reconnect_.memberGraceMs);
    }
    this.setStatus_({ state: 'reconnecting', code, reason, attempt: this.attempt_, delayMs });
    this.retryTimer_ = setTimeout(() => { this.retryTimer_ = null; this.open_(); }, delayMs);
  }

  finish_(code, reason) {
    clearTimeout(this.retryTimer_);
    clearTimeout(this.connectTimer_);
    clearTimeout(this.graceTimer_);
    this.retryTimer_ = this.connectTimer_ = this.graceTimer_ = null;
    this.throttle_.dispose();
    this.ws_ = null;
    this.selfId_ = null;
    this.removeAllMembers_();
    this.setStatus_({ state: 'closed', code, reason, attempt: this.attempt_ });
  }

  // ---- members and events -------------------------------------------------

  addMember_(id) {
    // The v2 fields are here already, empty in v1: v2 fills them, no
    // listener has to change.
    const m = snapshot({ id, user: null, name: null, color: colorForId(id),
                         x: null, y: null, pressed: false, state: null });
    this.members_.set(id, m);
    this.emit_('join', { member: m });
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
 * Returns a function that stops it.
 */
export function animateCursors(room, draw, { delayMs = DEFAULTS.interpolationDelayMs } = {}) {
  const interpolator = new Interpolator({ delayMs });
  const drawn = new Map();  // id -> "x,y" last drawn
  let frame = 0;
  const tick = () => {
    frame = 0;
    const now = performance.now();
    let moving = false;
    for (const id of interpolator.ids()) {
      const member = room.member(id);
      const s = interpolator.sample(id, now);
      if (!member || !s) continue;
      const key = s.x + ',' + s.y;
      if (drawn.get(id) !== key) {
        drawn.set(id, key);
        draw(member, s.x, s.y);
      }
      if (!s.settled) moving = true;
    }
    if (moving) schedule();
  };
  const schedule = () => { if (!frame) frame = requestAnimationFrame(tick); };
  const offMove = room.on('move', ({ member, x, y }) => {
    interpolator.add(member.id, x, y, performance.now());
    schedule();
  });
  const offLeave = room.on('leave', ({ member }) => {
    interpolator.remove(member.id);
    drawn.delete(member.id);
  });
  // A resize or scroll moves the surface under the cursors: draw them again.
  const redraw = () => { drawn.clear(); schedule(); };
  globalThis.addEventListener('resize', redraw);
  globalThis.addEventListener('scroll', redraw, { passive: true });
  return () => {
    offMove();
    offLeave();
    globalThis.removeEventListener('resize', redraw);
    globalThis.removeEventListener('scroll', redraw);
    if (frame) cancelAnimationFrame(frame);
    interpolator.clear();
  };
}
