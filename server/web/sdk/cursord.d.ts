// Type declarations for the cursord browser SDK (cursord.js). See docs/SDK.md.
//
// Protocol v2 (negotiated) fills each member's user, name, colour and state;
// on v1 the same fields are there, null (the colour derived from the id), so
// one page works with both.

export declare const VERSION: string;
/** The v1 subprotocol. */
export declare const PROTOCOL_V1: 'cursord.v1';
/** The v2 subprotocol: v1 plus member info and per-member state. */
export declare const PROTOCOL_V2: 'cursord.v2';

export declare const CloseCode: Readonly<{
  NORMAL: 1000;
  GOING_AWAY: 1001;
  ABNORMAL: 1006;
  POLICY: 1008;
  TOO_BIG: 1009;
  TRY_AGAIN_LATER: 1013;
  KICKED: 4000;
  ROOM_CLOSED: 4001;
  TOKEN_EXPIRED: 4406;
}>;

export declare const DEFAULTS: Readonly<{
  throttleMs: 50;
  minThrottleMs: 16;
  maxThrottleMs: 1000;
  minDelayMs: 500;
  maxDelayMs: 15000;
  stableAfterMs: 10000;
  memberGraceMs: 5000;
  connectTimeoutMs: 10000;
  interpolationDelayMs: 80;
  maxStateBytes: 256;
}>;

/** A rectangle in viewport (client) coordinates, CSS pixels. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * What positions are fractions of. 'window' (the default, the seed client's
 * convention) is the viewport; 'document' the whole scrollable page; an
 * Element its border box (a canvas, or the content element of a scrolling
 * container); a function returns the rect to use.
 */
export type Surface = 'window' | 'document' | Element | (() => Rect);

export interface ReconnectOptions {
  /** First retry's maximum delay (full jitter: uniform in [0, cap)). Default 500. */
  minDelayMs?: number;
  /** Largest cap. Default 15000. */
  maxDelayMs?: number;
  /** A connection open this long resets the backoff. Default 10000. */
  stableAfterMs?: number;
  /**
   * How long a member who may be reconnecting stays shown before its leave.
   * While I reconnect, the others stay in others() this long. When another
   * member drops (v2, with a user id or a name), it stays this long as an
   * away member, unless it comes back sooner. 0: no grace, leaves at once.
   * Applies with `reconnect: false` too. Default 5000.
   */
  memberGraceMs?: number;
}

export interface ConnectOptions {
  /** Room id (1-128 of A-Z a-z 0-9 . _ ~ : @ -). Omitted: the URL is used as is. */
  room?: string;
  /** Display name, 1-64 bytes of printable UTF-8. Others see it on v2. */
  name?: string;
  /** Colour "#rrggbb". Others see it on v2; without one the server derives a stable one. */
  color?: string;
  /** Your platform's user id (1-128 printable ASCII, no spaces); the control plane sees it. */
  user?: string;
  /**
   * Join token (a JWT from your backend), sent as a subprotocol entry. A
   * function is called before every attempt, so an expired token (4406) is
   * replaced and the SDK reconnects; a string is used as is and 4406 is final.
   */
  token?: string | (() => string | Promise<string>);
  /** Throttle of positions and of state, 16..1000 ms. Default 50. */
  throttleMs?: number;
  /**
   * setState() throws a RangeError above this many bytes. Default 256, the
   * server's --max-state-bytes default (a larger state closes with 1009).
   */
  maxStateBytes?: number;
  /**
   * 'auto' (default): offer cursord.v2 and cursord.v1 and speak what the
   * server selects, falling back to no subprotocol for a server that selects
   * none. 'v1': offer what the v1 SDK did (nothing, or cursord.v1 next to a
   * token).
   */
  protocol?: 'auto' | 'v1';
  /** Default 'window'. */
  surface?: Surface;
  /** Backoff settings, or false for no reconnect at all. */
  reconnect?: ReconnectOptions | false;
  /** A connection that has not joined after this long is retried. Default 10000. */
  connectTimeoutMs?: number;
  /** WebSocket implementation (tests, Node). Default globalThis.WebSocket. */
  WebSocket?: { new (url: string, protocols?: string | string[]): WebSocket };
  /** Random source for the backoff jitter (tests). Default Math.random. */
  random?: () => number;
  /**
   * The clock of every timer of the handle: retries, the connect timeout,
   * the graces, the throttles (tests). Default globalThis.
   */
  timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout };
}

/**
 * Another member, a frozen snapshot: a new object replaces it on every change,
 * so comparing references tells what changed.
 */
export interface Member {
  /**
   * The server's id for this connection, 0-255. Reused after a leave (even
   * while the member who had it is still shown away); new on every reconnect.
   */
  readonly id: number;
  /**
   * What names this member in this room handle while it is shown: unique
   * among others() (ids are not while an away member's id is reused), new
   * for every join, and kept by an away member that comes back under a new
   * id. Key page elements (cursors, list entries) by it.
   */
  readonly key: string;
  /** The member's user id (v2), null when it has none. Always null on protocol v1. */
  readonly user: string | null;
  /** The display name (v2), null when it has none. Always null on protocol v1. */
  readonly name: string | null;
  /**
   * A CSS colour: on v2 the server's "#rrggbb" (the member's own, or one
   * derived stably from its user id or name); on v1 derived from the id (colorForId).
   */
  readonly color: string;
  /** Position as fractions 0..1 of the sender's surface; null until the first move. */
  readonly x: number | null;
  readonly y: number | null;
  /** Pressing right now. */
  readonly pressed: boolean;
  /**
   * The member's newest state (v2): its bytes, null when it has none. Always
   * null on v1. Do not modify it.
   */
  readonly state: Uint8Array | null;
  /**
   * The member dropped (the server announced its leave) and may be
   * reconnecting: shown for memberGraceMs, until it comes back (`back`) or
   * leaves (`leave`). Its fields are as they were last, not pressing. Only
   * v2 members with a user id or a name can be away; the others leave at once.
   */
  readonly away: boolean;
  /** The state read as UTF-8 JSON; undefined when there is none or it is not JSON. */
  stateJson<T = unknown>(): T | undefined;
}

export type StatusState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface Status {
  readonly state: StatusState;
  /** The close code that caused "reconnecting" or "closed" (1000 after close()). */
  readonly code?: number;
  /** The server's close reason, e.g. the operator's reason for a kick. */
  readonly reason?: string;
  /** Retries since the last stable connection. */
  readonly attempt: number;
  /** "reconnecting": when the next attempt starts. */
  readonly delayMs?: number;
  /** "open": my member id. */
  readonly id?: number;
  /** "open": the protocol the server selected. */
  readonly protocol?: 'v1' | 'v2';
}

export interface JoinEvent { readonly member: Member }
/**
 * The member is gone: remove what shows it. At once for a member that
 * cannot be away, after memberGraceMs for an away one (member.away true),
 * and for everyone (away ones too) when my session ends.
 */
export interface LeaveEvent { readonly member: Member }
/** A member dropped and is shown away (member.away true, same id and key as before). */
export interface AwayEvent { readonly member: Member }
/**
 * An away member came back under a new id: `member` (away false) replaces
 * `previous` (the away snapshot) with the same key. No join, no leave.
 * It keeps its last position until it moves and has no state until its
 * SDK sends it again.
 */
export interface BackEvent { readonly member: Member; readonly previous: Member }
export interface MoveEvent { readonly member: Member; readonly x: number; readonly y: number }
export interface ClickEvent { readonly member: Member; readonly pressed: boolean }
/** A member's state changed (v2; never on v1). `state` is member.state: null when cleared. */
export interface StateEvent { readonly member: Member; readonly state: Uint8Array | null }

export interface RoomEvents {
  join: JoinEvent;
  leave: LeaveEvent;
  move: MoveEvent;
  click: ClickEvent;
  status: Status;
  state: StateEvent;
  away: AwayEvent;
  back: BackEvent;
}

export interface Room {
  readonly status: Status;
  /** My id while open, else null. */
  readonly selfId: number | null;
  /** Me as the room shows me while open (v2: the server's name and colour for me), else null. */
  readonly self: Member | null;
  /** The protocol the server selected, while open; else null. */
  readonly protocol: 'v1' | 'v2' | null;
  /** The WebSocket URL (the token is not in it). */
  readonly url: string;
  /**
   * Every other member, ascending ids: those here and those away (flagged
   * `away`); for an id both have, the one here comes first.
   */
  others(): Member[];
  /** The member here with this id (never an away one). */
  member(id: number): Member | undefined;
  /** Subscribes; returns the unsubscribe function. Unknown event names throw. */
  on<K extends keyof RoomEvents>(type: K, listener: (event: RoomEvents[K]) => void): () => void;
  off<K extends keyof RoomEvents>(type: K, listener: (event: RoomEvents[K]) => void): void;
  /** My pointer in viewport coordinates (PointerEvent.clientX/Y), mapped onto the surface. Throttled. */
  setCursor(clientX: number, clientY: number): void;
  /** My pointer as fractions 0..1 of the surface. Throttled. */
  setCursorFraction(x: number, y: number): void;
  /** Press or release; the pending position and state are sent first. */
  setPressed(pressed: boolean): void;
  /**
   * My state for the others (v2): bytes as they are, any other value as UTF-8
   * JSON. Throttled, latest wins, sent again after a reconnect. Throws a
   * RangeError above maxStateBytes, a TypeError for a value JSON cannot carry.
   * Kept but not sent on v1.
   */
  setState(value: Uint8Array | ArrayBuffer | ArrayBufferView | unknown): void;
  /** Clears my state. */
  clearState(): void;
  /** Surface fractions to viewport coordinates. */
  toClient(x: number, y: number): { x: number; y: number };
  /** Surface fractions to pixels from the surface's top-left corner. */
  toSurface(x: number, y: number): { x: number; y: number };
  /** Sends the pointer's moves and presses on `target`; returns the stop function. */
  trackPointer(target?: EventTarget): () => void;
  /** Leaves for good: close 1000, a leave for every other member (away ones too), "closed" status. */
  close(): void;
}

/** Joins a room; throws TypeError/RangeError for invalid options. */
export declare function connect(url: string | URL | undefined, options?: ConnectOptions): Room;

/**
 * Draws others' cursors along a spline through received points, delayMs
 * behind, tracked by member key (an away member's cursor is drawn again
 * with member.away true; one that comes back goes on from there). Returns stop.
 */
export declare function animateCursors(
  room: Room,
  draw: (member: Member, x: number, y: number) => void,
  options?: { delayMs?: number },
): () => void;

// ---- building blocks (pure; exported for tests and custom clients) ----------

export declare function toWire(fraction: number): number;
export declare function fromWire(value: number): number;
export declare function encodeMove(x16: number, y16: number): Uint8Array;
export declare function encodePress(pressed: boolean): Uint8Array;
/** `09 state…`. */
export declare function encodeState(bytes: Uint8Array): Uint8Array;
/** What setState(value) sends: bytes copied as they are, anything else as UTF-8 JSON. */
export declare function stateBytes(value: unknown): Uint8Array;
/** Bytes as UTF-8 JSON; undefined for none, empty or not JSON. */
export declare function parseStateJson<T = unknown>(bytes: Uint8Array | null | undefined): T | undefined;
export declare function sameBytes(a: Uint8Array, b: Uint8Array): boolean;
export type ServerMessage =
  | { type: 'hello'; id: number }
  | { type: 'roster'; ids: number[] }
  | { type: 'joined'; id: number }
  | { type: 'left'; id: number }
  | { type: 'move'; id: number; x: number; y: number }
  | { type: 'press'; id: number; pressed: boolean }
  | { type: 'info'; id: number; color: string; user: string | null; name: string | null }
  | { type: 'state'; id: number; state: Uint8Array };
export declare function decodeMessage(bytes: Uint8Array | ArrayBuffer): ServerMessage | null;
export declare function colorForId(id: number): string;
export declare function isFinalClose(code: number, options?: { canRefreshToken?: boolean }): boolean;
export declare function backoffDelay(
  attempt: number,
  options?: { minDelayMs?: number; maxDelayMs?: number },
  random?: () => number,
): number;
export declare function validateIdentity(
  options: Pick<ConnectOptions, 'room' | 'name' | 'color' | 'user'>,
): void;
export declare function buildUrl(
  base: string | URL | undefined,
  options?: Pick<ConnectOptions, 'room' | 'name' | 'color' | 'user'>,
  origin?: string,
): string;

export declare class LatestThrottle<T> {
  constructor(
    intervalMs: number,
    send: (value: T) => boolean,
    timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout },
    equals?: (a: T, b: T) => boolean,
  );
  push(value: T): void;
  flush(): boolean;
  reset(): void;
  dispose(): void;
}

export declare class MoveThrottle {
  constructor(
    intervalMs: number,
    send: (x16: number, y16: number) => boolean,
    timers?: { setTimeout: typeof setTimeout; clearTimeout: typeof clearTimeout },
  );
  push(x16: number, y16: number): void;
  flush(): boolean;
  reset(): void;
  dispose(): void;
}

/** Tracks of positions by any id (animateCursors uses member keys). */
export declare class Interpolator<K = number | string> {
  constructor(options?: { delayMs?: number });
  add(id: K, x: number, y: number, now: number): void;
  remove(id: K): void;
  clear(): void;
  ids(): IterableIterator<K>;
  sample(id: K, now: number): { x: number; y: number; settled: boolean } | null;
}
