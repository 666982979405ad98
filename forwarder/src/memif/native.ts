import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the built addon relative to this package's root (`forwarder/`). */
const ADDON = join('native', 'build', 'Release', 'nsm_memif.node');

/** What the native engine is opened with; {@link createMemifServer} and {@link createMemifClient} build it. */
export interface NativeMemifConfig {
  role: 'server' | 'client';
  socket: string;
  interfaces: { id: number; secret?: string; name?: string }[];
  appName?: string;
  ringSize?: number;
  bufferSize?: number;
  polling?: boolean;
  reconnectMs?: number;
  handshakeMs?: number;
  requireSeal?: boolean;
  maxPending?: number;
  netns?: string;
  /** A bridge: frames go to this kernel interface instead of JS. */
  kernel?: { ifname: string; netns?: string };
  batch?: number;
}

/** Frames one way through a bridge. */
export interface MemifBridgeDirection {
  frames: number;
  bytes: number;
  /** Frames lost on the way: link down, ring or socket full, too large. */
  drops: number;
}

/** What the native bridge counts. */
export interface NativeBridgeStats {
  toKernel: MemifBridgeDirection;
  toMemif: MemifBridgeDirection;
  up: boolean;
  /** The kernel side's last error (e.g. its interface was deleted), '' while there was none. */
  kernelError: string;
}

/** What the native proxy is opened with; {@link createMemifProxy} builds it. */
export interface NativeProxyConfig {
  listen: string;
  connect: string;
  listenNetns?: string;
  connectNetns?: string;
  handshakeMs?: number;
  requireSeal?: boolean;
}

/** What the native proxy counts. */
export interface NativeProxyStats {
  sessions: number;
  messages: number;
  descriptors: number;
  refused: number;
  bad: number;
  active: boolean;
}

/** Events from the engine thread, delivered on the JS thread. */
export type NativeMemifEvent =
  | { type: 'up'; id: number; peerName: string; peerInterface: string; ringSize: number; bufferSize: number }
  | { type: 'down' | 'rejected'; id?: number; reason: string; code: number; byPeer: boolean }
  | { type: 'frames'; id: number; data: Buffer; lengths: Uint32Array };

/** Counters of one interface; `up` is the link state when read. */
export interface MemifStats {
  rxFrames: number;
  rxBytes: number;
  /** Received descriptors outside the regions, or frames longer than 256 KiB: dropped. */
  rxErrors: number;
  txFrames: number;
  txBytes: number;
  /** Frames `send` did not take: ring full or link down. */
  txNoSpace: number;
  /** Transmit stopped at a descriptor the peer posted outside its regions. */
  txErrors: number;
  connects: number;
  disconnects: number;
  up: boolean;
}

/** An open engine, opaque to JS. */
export type NativeMemifHandle = { readonly __memif: unique symbol };

/**
 * The native memif addon (`forwarder/native/src/memif`). Argument errors are RangeError or
 * TypeError with code `ERR_MEMIF_ARG`; system errors carry `code` (errno name), `errno`, `syscall`.
 */
export interface MemifAddon {
  open(config: NativeMemifConfig, onEvent: (ev: NativeMemifEvent) => void): NativeMemifHandle;
  /** Copies frames into the transmit ring without waiting; returns how many it took. */
  send(handle: NativeMemifHandle, id: number, frames: readonly Buffer[]): number;
  stats(handle: NativeMemifHandle, id: number): MemifStats;
  /** Sends DISCONNECT on every channel, releases everything and joins the engine thread. */
  close(handle: NativeMemifHandle): void;
  /** Opens a control-channel relay (memif proxy); events: up, down, rejected (no frames). */
  openProxy(config: NativeProxyConfig, onEvent: (ev: NativeMemifEvent) => void): NativeMemifHandle;
  proxyStats(handle: NativeMemifHandle): NativeProxyStats;
  /** A bridge's counters (a handle opened with `kernel`). */
  bridgeStats(handle: NativeMemifHandle): NativeBridgeStats;
  /**
   * Tests and benchmarks: copies of one frame sent on a kernel interface as fast as sendmmsg
   * takes them for `ms`, from a thread of its own (the baseline of the bridge's rate).
   */
  packetBlast(options: {
    kernel: { ifname: string; netns?: string };
    size?: number;
    ms?: number;
    batch?: number;
    /** PACKET_MMAP (a TPACKET_V2 TX ring kicked by send) instead of sendmmsg. */
    ring?: boolean;
  }): Promise<{ frames: number; failedCalls: number; ms: number }>;
  /** Decodes one control message (tests and fuzzing): its fields, or `{ error }`. */
  parseMessage(buf: Buffer): Record<string, string | number>;
}

let cached: MemifAddon | undefined;

function findAddon(start: string): string | undefined {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, ADDON);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Loads the memif addon once. Throws a clear error when it has not been built.
 * Usage: `const addon = loadMemifAddon()`.
 */
export function loadMemifAddon(): MemifAddon {
  if (cached) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  const path = findAddon(here);
  if (!path) throw new Error(`native memif addon ${ADDON} not found above ${here}; run npm run build:native`);
  const require = createRequire(import.meta.url);
  cached = require(path) as MemifAddon;
  return cached;
}
