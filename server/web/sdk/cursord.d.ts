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
  /** Others stay in others() this long while reconnecting, then leave. Default 5000. */
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
}

/**
 * Another member, a frozen snapshot: a new object replaces it on every change,
 * so comparing references tells what changed.
 */
export interface Member {
  /** The server's id for this connection, 0-255. Reused after a leave; new on every reconnect. */
  readonly id: number;
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
export interface LeaveEvent { readonly member: Member }
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
  /** Every other member, ascending ids. */
  others(): Member[];
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
  /** Leaves for good: close 1000, "closed" status, a leave for every other member. */
  close(): void;
}

/** Joins a room; throws TypeError/RangeError for invalid options. */
export declare function connect(url: string | URL | undefined, options?: ConnectOptions): Room;

/** Draws others' cursors along a spline through received points, delayMs behind. Returns stop. */
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

export declare class Interpolator {
  constructor(options?: { delayMs?: number });
  add(id: number, x: number, y: number, now: number): void;
  remove(id: number): void;
  clear(): void;
  ids(): IterableIterator<number>;
  sample(id: number, now: number): { x: number; y: number; settled: boolean } | null;
}
