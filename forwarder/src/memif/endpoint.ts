import { EventEmitter } from 'node:events';

import { Code, NsmError } from '@nsm-ts/sdk/core';

import { MemifInterface, type MemifDown } from './interface.js';
import {
  loadMemifAddon,
  type NativeMemifConfig,
  type NativeMemifEvent,
  type NativeMemifHandle,
} from './native.js';
import {
  checkAppName,
  checkBufferSize,
  checkInterface,
  checkInt,
  checkMode,
  checkNetns,
  checkRingSize,
  checkSocket,
  checkTimeout,
  type MemifCommonOptions,
  type MemifInterfaceOptions,
} from './options.js';

/** Options of {@link createMemifServer}. */
export interface MemifServerOptions extends MemifCommonOptions {
  /** The interfaces served on this socket, each by id (default: one, id 0). */
  interfaces?: MemifInterfaceOptions[];
  /** Refuse region files not sealed against shrinking (default true: such a peer could crash us). */
  requireSeal?: boolean;
  /** Handshakes not yet bound to an interface, beyond which new peers are refused (default 16). */
  maxPendingHandshakes?: number;
}

/** Options of {@link createMemifClient}. */
export interface MemifClientOptions extends MemifCommonOptions, MemifInterfaceOptions {
  /** Ring slots per direction, a power of two in 2..16384 (default 1024; the server may cap it). */
  ringSize?: number;
  /** Bytes per buffer, 64..65535 (default 2048). Larger frames are chained. */
  bufferSize?: number;
  /** Wait between connection attempts while the server is absent or after it left (default 1000 ms). */
  reconnectMs?: number;
}

/** A rejected handshake on a server socket; `id` when the peer got as far as naming one. */
export interface MemifRejected extends MemifDown {
  id?: number;
}

/** Events of a memif server socket. */
export interface MemifServerEvents {
  rejected: [MemifRejected];
}

function common(o: MemifCommonOptions, role: 'server' | 'client'): NativeMemifConfig {
  if (typeof o !== 'object' || o === null)
    throw new NsmError(Code.INVALID_ARGUMENT, 'memif options must be an object');
  const cfg: NativeMemifConfig = { role, socket: checkSocket(o.socket), interfaces: [] };
  if (o.appName !== undefined) cfg.appName = checkAppName(o.appName);
  if (o.mode !== undefined) cfg.polling = checkMode(o.mode) === 'polling';
  if (o.netns !== undefined) cfg.netns = checkNetns(o.netns);
  if (o.handshakeTimeoutMs !== undefined)
    cfg.handshakeMs = checkTimeout('handshakeTimeoutMs', o.handshakeTimeoutMs, 600_000);
  return cfg;
}

/** gRPC codes for the errno names the engine reports when it opens. */
const OPEN_ERRORS: Record<string, Code> = {
  ERR_MEMIF_ARG: Code.INVALID_ARGUMENT,
  EADDRINUSE: Code.ALREADY_EXISTS,
  EACCES: Code.PERMISSION_DENIED,
  EPERM: Code.PERMISSION_DENIED,
  ENOENT: Code.NOT_FOUND,
  EINVAL: Code.INVALID_ARGUMENT,
  ENODEV: Code.NOT_FOUND,
};

/** @internal A native open error as an NsmError with a gRPC code (ENOENT -> NOT_FOUND ...). */
export function openError(err: unknown): NsmError {
  const code = (err as { code?: unknown }).code;
  const grpc = (typeof code === 'string' ? OPEN_ERRORS[code] : undefined) ?? Code.INTERNAL;
  return new NsmError(grpc, (err as Error).message, { cause: err });
}

/** @internal Opens the native engine; its errors become NsmErrors with a gRPC code. */
export function openNative(
  cfg: NativeMemifConfig,
  onEvent: (ev: NativeMemifEvent) => void,
): NativeMemifHandle {
  try {
    return loadMemifAddon().open(cfg, onEvent);
  } catch (err) {
    throw openError(err);
  }
}

/**
 * A memif server socket: listens, sends HELLO, and serves one or more interface ids; a client
 * that leaves can be followed by the next one.
 * Usage: `const srv = createMemifServer({ socket: '@memif/1' }); srv.interface(0).on('frames', ...)`.
 */
export class MemifServer extends EventEmitter<MemifServerEvents> {
  readonly socket: string;
  #handle: NativeMemifHandle | undefined;
  #ifaces = new Map<number, MemifInterface>();

  /** @internal Use {@link createMemifServer}. */
  constructor(cfg: NativeMemifConfig) {
    super();
    this.socket = cfg.socket;
    const addon = loadMemifAddon();
    for (const { id } of cfg.interfaces) {
      this.#ifaces.set(
        id,
        new MemifInterface(id, 'server', {
          send: (frames) => addon.send(this.#open(), id, frames),
          stats: () => addon.stats(this.#open(), id),
        }),
      );
    }
    this.#handle = openNative(cfg, (ev) => this.#dispatch(ev));
  }

  /** The interface with this id; throws for an id this server does not serve. */
  interface(id: number): MemifInterface {
    const f = this.#ifaces.get(id);
    if (!f) throw new NsmError(Code.NOT_FOUND, `memif server ${this.socket} serves no interface id ${id}`);
    return f;
  }

  /** Every interface this server serves. */
  get interfaces(): MemifInterface[] {
    return [...this.#ifaces.values()];
  }

  /** Sends DISCONNECT to every peer, removes the socket file, releases memory and the thread. */
  close(): void {
    if (!this.#handle) return;
    const h = this.#handle;
    this.#handle = undefined;
    loadMemifAddon().close(h);
    for (const f of this.#ifaces.values()) f.closed();
  }

  #open(): NativeMemifHandle {
    if (!this.#handle) throw new Error(`memif server ${this.socket} is closed`);
    return this.#handle;
  }

  #dispatch(ev: NativeMemifEvent): void {
    if (!this.#handle) return;
    if (ev.type === 'rejected') {
      const r: MemifRejected = { reason: ev.reason, code: ev.code, byPeer: ev.byPeer };
      if (ev.id !== undefined) r.id = ev.id;
      this.emit('rejected', r);
    }
    if (ev.id !== undefined) this.#ifaces.get(ev.id)?.dispatch(ev);
  }
}

/**
 * A memif client interface: connects to a server socket, allocates the shared memory, and
 * reconnects whenever the server goes away.
 * Usage: `const c = createMemifClient({ socket: '/run/memif.sock' }); await c.waitUp(); c.send(frames)`.
 */
export class MemifClient extends MemifInterface {
  readonly socket: string;
  #handle: NativeMemifHandle | undefined;

  /** @internal Use {@link createMemifClient}. */
  constructor(cfg: NativeMemifConfig, id: number) {
    const addon = loadMemifAddon();
    super(id, 'client', {
      send: (frames) => addon.send(this.#open(), id, frames),
      stats: () => addon.stats(this.#open(), id),
    });
    this.socket = cfg.socket;
    this.#handle = openNative(cfg, (ev) => {
      if (this.#handle) this.dispatch(ev);
    });
  }

  /** Sends DISCONNECT to the server (if connected) and releases memory, descriptors and the thread. */
  close(): void {
    if (!this.#handle) return;
    const h = this.#handle;
    this.#handle = undefined;
    loadMemifAddon().close(h);
    this.closed();
  }

  #open(): NativeMemifHandle {
    if (!this.#handle) throw new Error(`memif client ${this.socket} is closed`);
    return this.#handle;
  }
}

/** @internal The checked native configuration of a server. */
export function serverConfig(options: MemifServerOptions): NativeMemifConfig {
  const cfg = common(options, 'server');
  const list = options.interfaces ?? [{ id: 0 }];
  if (!Array.isArray(list) || list.length === 0) {
    throw new NsmError(Code.INVALID_ARGUMENT, 'memif server interfaces must be a non-empty array');
  }
  cfg.interfaces = list.map(checkInterface);
  const ids = new Set(cfg.interfaces.map((i) => i.id));
  if (ids.size !== cfg.interfaces.length)
    throw new NsmError(Code.INVALID_ARGUMENT, 'memif server interface ids must be unique');
  if (options.requireSeal !== undefined) cfg.requireSeal = options.requireSeal;
  if (options.maxPendingHandshakes !== undefined)
    cfg.maxPending = checkInt('maxPendingHandshakes', options.maxPendingHandshakes, 1, 1024);
  return cfg;
}

/** Opens a memif server socket. Throws INVALID_ARGUMENT for bad options, ALREADY_EXISTS when the socket is in use. */
export function createMemifServer(options: MemifServerOptions): MemifServer {
  return new MemifServer(serverConfig(options));
}

/** @internal The checked native configuration of a client. */
export function clientConfig(options: MemifClientOptions): NativeMemifConfig {
  const cfg = common(options, 'client');
  const iface = checkInterface(options);
  cfg.interfaces = [iface];
  if (options.ringSize !== undefined) cfg.ringSize = checkRingSize(options.ringSize);
  if (options.bufferSize !== undefined) cfg.bufferSize = checkBufferSize(options.bufferSize);
  if (options.reconnectMs !== undefined)
    cfg.reconnectMs = checkTimeout('reconnectMs', options.reconnectMs, 3_600_000);
  return cfg;
}

/** Opens a memif client; it connects (and reconnects) on its own thread. Throws INVALID_ARGUMENT for bad options. */
export function createMemifClient(options: MemifClientOptions): MemifClient {
  const cfg = clientConfig(options);
  return new MemifClient(cfg, cfg.interfaces[0]!.id);
}
