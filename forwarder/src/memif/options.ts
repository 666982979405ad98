import { invalidArgument } from '@nsm-ts/sdk/core';

/** The longest socket name: sun_path is 108 bytes, one kept for the path's NUL or the abstract mark. */
export const MAX_SOCKET_BYTES = 107;
const MAX_RING = 1 << 14;

/** How the consumer learns about new frames: an eventfd interrupt, or polling the ring. */
export type MemifMode = 'interrupt' | 'polling';

/** Settings both roles share. */
export interface MemifCommonOptions {
  /** A path (`/run/memif.sock`) or an abstract name (`@memif/1`: exact length, no NUL padding). */
  socket: string;
  /** Our name in HELLO / INIT (at most 31 bytes), default `nsm-ts`. */
  appName?: string;
  /** Default `interrupt`. In `polling` our receive ring masks interrupts and is checked every ~1 ms. */
  mode?: MemifMode;
  /** A handshake that has not finished after this is refused (default 5000 ms). */
  handshakeTimeoutMs?: number;
  /**
   * Network namespace to listen or connect in (`/proc/<pid>/ns/net`, `/run/netns/<name>`): the
   * engine thread enters it before it opens any socket, so an abstract socket lives in that
   * namespace (a pod's). Needs CAP_SYS_ADMIN. Default: the process's own.
   */
  netns?: string;
}

/** One interface a server offers, or the one a client asks for. */
export interface MemifInterfaceOptions {
  /** Interface id, 0..2^32-1 (default 0); a client asks the server for this id. */
  id?: number;
  /** Up to 24 bytes. A server with a secret refuses clients without the same one. */
  secret?: string;
  /** Our interface name sent in CONNECT / CONNECTED (at most 31 bytes). */
  name?: string;
}

export function checkSocket(socket: unknown): string {
  if (typeof socket !== 'string')
    throw invalidArgument(`memif socket must be a string, got ${typeof socket}`);
  const abstract = socket.startsWith('@');
  const name = abstract ? socket.slice(1) : socket;
  const bytes = Buffer.byteLength(name);
  if (bytes === 0) throw invalidArgument(`memif socket "${socket}" is empty; expected a path or @name`);
  if (name.includes('\0')) throw invalidArgument(`memif socket "${socket}" contains a NUL byte`);
  if (bytes > MAX_SOCKET_BYTES) {
    throw invalidArgument(
      `memif socket "${socket.slice(0, 40)}..." is ${bytes} bytes; at most ${MAX_SOCKET_BYTES}`,
    );
  }
  return socket;
}

export function checkInt(what: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(`memif ${what} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
  return v;
}

function checkText(what: string, v: unknown, maxBytes: number): string {
  if (typeof v !== 'string') throw invalidArgument(`memif ${what} must be a string, got ${typeof v}`);
  const bytes = Buffer.byteLength(v);
  if (bytes > maxBytes) throw invalidArgument(`memif ${what} is ${bytes} bytes; at most ${maxBytes}`);
  return v;
}

export function checkId(id: unknown): number {
  return checkInt('interface id', id, 0, 0xffff_ffff);
}

export function checkRingSize(v: unknown): number {
  checkInt('ringSize', v, 2, MAX_RING);
  const n = v as number;
  if ((n & (n - 1)) !== 0)
    throw invalidArgument(`memif ringSize must be a power of two in 2..${MAX_RING}, got ${n}`);
  return n;
}

export function checkBufferSize(v: unknown): number {
  return checkInt('bufferSize', v, 64, 65535);
}

export function checkTimeout(what: string, v: unknown, max: number): number {
  return checkInt(what, v, 10, max);
}

export function checkMode(v: unknown): MemifMode {
  if (v !== 'interrupt' && v !== 'polling') {
    throw invalidArgument(`memif mode must be 'interrupt' or 'polling', got ${String(v)}`);
  }
  return v;
}

/** The interface options, checked, in the native form. */
export function checkInterface(o: MemifInterfaceOptions): { id: number; secret?: string; name?: string } {
  const out: { id: number; secret?: string; name?: string } = { id: checkId(o.id ?? 0) };
  if (o.secret !== undefined) out.secret = checkText('secret', o.secret, 24);
  if (o.name !== undefined) out.name = checkText('interface name', o.name, 31);
  return out;
}

export function checkNetns(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0)
    throw invalidArgument(`memif netns must be a namespace file path, got ${String(v)}`);
  return v;
}

export function checkAppName(v: unknown): string {
  return checkText('appName', v, 31);
}
