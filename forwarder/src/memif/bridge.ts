import { EventEmitter } from 'node:events';

import { invalidArgument } from '@nsm-ts/sdk/core';

import {
  clientConfig,
  openNative,
  serverConfig,
  type MemifClientOptions,
  type MemifServerOptions,
} from './endpoint.js';
import { MemifInterface, type MemifDown, type MemifUp } from './interface.js';
import {
  loadMemifAddon,
  type MemifBridgeDirection,
  type MemifStats,
  type NativeMemifConfig,
  type NativeMemifHandle,
} from './native.js';
import { checkInt, checkNetns, type MemifInterfaceOptions } from './options.js';

/** The memif side of a bridge: a server socket with one interface, or a client. */
export type MemifBridgeMemifOptions =
  | ({ role: 'server' } & Omit<MemifServerOptions, 'interfaces'> & MemifInterfaceOptions)
  | ({ role: 'client' } & MemifClientOptions);

/** The kernel side of a bridge: an interface (a veth end, a VXLAN device) in a namespace. */
export interface MemifBridgeKernel {
  /** Interface name, 1..15 bytes. */
  ifname: string;
  /** Its network namespace file (`/proc/<pid>/ns/net`, `/run/netns/<name>`); default ours. */
  netns?: string;
}

/** Options of {@link createMemifBridge}. */
export interface MemifBridgeOptions {
  memif: MemifBridgeMemifOptions;
  kernel: MemifBridgeKernel;
  /** Frames per recvmmsg/sendmmsg and per pass over the ring, 1..256 (default 64; 64 KiB of receive slot each). */
  batch?: number;
}

/** A bridge's counters: each direction, the link state and the memif interface's own. */
export interface MemifBridgeStats {
  toKernel: MemifBridgeDirection;
  toMemif: MemifBridgeDirection;
  up: boolean;
  /** The kernel side's last error, as `Network is down (ENETDOWN)`; '' while there was none. */
  kernelError: string;
  memif: MemifStats;
}

/** Events of a bridge: its memif link. */
export interface MemifBridgeEvents {
  up: [MemifUp];
  down: [MemifDown];
  rejected: [MemifDown];
}

function checkIfname(v: unknown): string {
  if (typeof v !== 'string' || !/^[^\s/:]{1,15}$/.test(v) || Buffer.byteLength(v) > 15) {
    throw invalidArgument(
      `memif bridge kernel.ifname must be an interface name of 1..15 bytes, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function bridgeConfig(o: MemifBridgeOptions): NativeMemifConfig {
  if (typeof o !== 'object' || o === null || typeof o.memif !== 'object' || typeof o.kernel !== 'object') {
    throw invalidArgument(
      'memif bridge options must be { memif: { role, socket, ... }, kernel: { ifname, netns? } }',
    );
  }
  const m = o.memif;
  let cfg: NativeMemifConfig;
  if (m.role === 'server') {
    const { id, secret, name, ...rest } = m;
    const iface: MemifInterfaceOptions = {};
    if (id !== undefined) iface.id = id;
    if (secret !== undefined) iface.secret = secret;
    if (name !== undefined) iface.name = name;
    cfg = serverConfig({ ...rest, interfaces: [iface] });
  } else if (m.role === 'client') {
    cfg = clientConfig(m);
  } else {
    throw invalidArgument(
      `memif bridge memif.role must be 'server' or 'client', got ${String((m as { role: unknown }).role)}`,
    );
  }
  cfg.kernel = { ifname: checkIfname(o.kernel.ifname) };
  if (o.kernel.netns !== undefined) cfg.kernel.netns = checkNetns(o.kernel.netns);
  if (o.batch !== undefined) cfg.batch = checkInt('bridge batch', o.batch, 1, 256);
  return cfg;
}

/**
 * A memif interface joined to a kernel interface by a native packet loop on the engine's thread:
 * frames received on either side are sent on the other, in batches, without JS.
 * Usage: `const b = createMemifBridge({ memif: { role: 'server', socket: '@m' }, kernel: { ifname: 'veth0' } })`.
 */
export class MemifBridge extends EventEmitter<MemifBridgeEvents> {
  readonly socket: string;
  readonly role: 'server' | 'client';
  readonly kernel: MemifBridgeKernel;
  #handle: NativeMemifHandle | undefined;
  #iface: MemifInterface;

  /** @internal Use {@link createMemifBridge}. */
  constructor(cfg: NativeMemifConfig) {
    super();
    this.socket = cfg.socket;
    this.role = cfg.role;
    this.kernel = { ...cfg.kernel! };
    const id = cfg.interfaces[0]!.id;
    const addon = loadMemifAddon();
    this.#iface = new MemifInterface(id, cfg.role, {
      send: () => {
        throw new Error('memif bridge: frames come from the kernel interface, not from JS');
      },
      stats: () => addon.stats(this.#open(), id),
    });
    this.#iface.on('up', (u) => this.emit('up', u));
    this.#iface.on('down', (d) => this.emit('down', d));
    this.#iface.on('rejected', (d) => this.emit('rejected', d));
    this.#handle = openNative(cfg, (ev) => {
      if (this.#handle && ev.type !== 'frames' && (ev.id === undefined || ev.id === id))
        this.#iface.dispatch(ev);
    });
  }

  /** Whether the memif link is up (as of the last event delivered to JS). */
  get up(): boolean {
    return this.#iface.up;
  }

  /** Resolves when the memif link is up; rejects when `signal` aborts. */
  waitUp(signal?: AbortSignal): Promise<MemifUp> {
    return this.#iface.waitUp(signal);
  }

  /** Counters of both directions, read now. */
  stats(): MemifBridgeStats {
    const h = this.#open();
    const addon = loadMemifAddon();
    return { ...addon.bridgeStats(h), memif: addon.stats(h, this.#iface.id) };
  }

  /** Sends DISCONNECT to the memif peer and releases the sockets, memory and the thread. */
  close(): void {
    if (!this.#handle) return;
    const h = this.#handle;
    this.#handle = undefined;
    loadMemifAddon().close(h);
    this.#iface.closed();
  }

  #open(): NativeMemifHandle {
    if (!this.#handle) throw new Error(`memif bridge ${this.socket} <-> ${this.kernel.ifname} is closed`);
    return this.#handle;
  }
}

/**
 * Opens a bridge between a memif interface (either role) and a kernel interface. Throws
 * INVALID_ARGUMENT for bad options, NOT_FOUND for a missing interface or namespace.
 */
export function createMemifBridge(options: MemifBridgeOptions): MemifBridge {
  return new MemifBridge(bridgeConfig(options));
}
