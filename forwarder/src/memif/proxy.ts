import { EventEmitter } from 'node:events';

import { invalidArgument } from '@nsm-ts/sdk/core';

import { openError } from './endpoint.js';
import {
  loadMemifAddon,
  type NativeMemifEvent,
  type NativeMemifHandle,
  type NativeProxyConfig,
  type NativeProxyStats,
} from './native.js';
import { checkNetns, checkSocket, checkTimeout } from './options.js';

/** One end of a proxy: a memif socket (path or `@name`) and the namespace it lives in. */
export interface MemifProxyEnd {
  socket: string;
  /** Namespace file (`/proc/<pid>/ns/net`, `/run/netns/<name>`); default ours. */
  netns?: string;
}

/** Options of {@link createMemifProxy}. */
export interface MemifProxyOptions {
  /** Where the memif client connects: the proxy listens here (the client pod's namespace). */
  listen: MemifProxyEnd;
  /** The memif server the proxy connects to for each client (the endpoint pod's socket). */
  connect: MemifProxyEnd;
  /** A session that has not reached CONNECTED after this is ended (default 5000 ms). */
  handshakeTimeoutMs?: number;
  /**
   * Pass on only region files sealed against shrinking (default true): an endpoint mapping an
   * unsealed file can be crashed by a client that shrinks it. DPDK's `zero-copy=yes` needs false.
   */
  requireSeal?: boolean;
}

/** A session that came up: the client's and the endpoint's names (from INIT and HELLO) and the id. */
export interface MemifProxyUp {
  id: number;
  clientName: string;
  endpointName: string;
}

/** Why a session ended (`down`) or never came up (`rejected`). */
export interface MemifProxyDown {
  /** The DISCONNECT string passed on: a peer's own (`byPeer`), or the proxy's. */
  reason: string;
  code: number;
  byPeer: boolean;
  /** The interface id the client asked for, when it got as far as INIT. */
  id?: number;
}

/** What a proxy has relayed. */
export interface MemifProxyStats extends NativeProxyStats {
  /** Sessions started (a client accepted and the endpoint reached). */
  sessions: number;
  /** Control messages relayed, both ways. */
  messages: number;
  /** Descriptors relayed with them (regions and interrupts). */
  descriptors: number;
  /** Clients turned away: another session was active, or the endpoint could not be reached. */
  refused: number;
  /** Sessions ended because a peer sent what it may not (size, type, direction, descriptors). */
  bad: number;
  /** Whether a session is in progress. */
  active: boolean;
}

/** Events of a proxy. */
export interface MemifProxyEvents {
  up: [MemifProxyUp];
  down: [MemifProxyDown];
  rejected: [MemifProxyDown];
}

function checkEnd(what: string, e: unknown): MemifProxyEnd {
  if (typeof e !== 'object' || e === null)
    throw invalidArgument(`memif proxy ${what} must be { socket, netns? }`);
  const o = e as MemifProxyEnd;
  const out: MemifProxyEnd = { socket: checkSocket(o.socket) };
  if (o.netns !== undefined) out.netns = checkNetns(o.netns);
  return out;
}

function toDown(ev: NativeMemifEvent & { type: 'down' | 'rejected' }): MemifProxyDown {
  const d: MemifProxyDown = { reason: ev.reason, code: ev.code, byPeer: ev.byPeer };
  if (ev.id !== undefined) d.id = ev.id;
  return d;
}

/**
 * A memif control-channel relay: memif clients connect to `listen`, and each session is joined
 * to the server at `connect`; both peers share the client's region, so frames never pass here.
 * Usage: `const p = createMemifProxy({ listen: { socket: '@m', netns: nsc }, connect: { socket: '@m', netns: nse } })`.
 */
export class MemifProxy extends EventEmitter<MemifProxyEvents> {
  readonly listen: string;
  readonly connect: string;
  #handle: NativeMemifHandle | undefined;
  #up: MemifProxyUp | undefined;

  /** @internal Use {@link createMemifProxy}. */
  constructor(cfg: NativeProxyConfig) {
    super();
    this.listen = cfg.listen;
    this.connect = cfg.connect;
    try {
      this.#handle = loadMemifAddon().openProxy(cfg, (ev) => this.#dispatch(ev));
    } catch (err) {
      throw openError(err);
    }
  }

  /** The session that is up, if any. */
  get session(): MemifProxyUp | undefined {
    return this.#up;
  }

  /** What the proxy has relayed so far. */
  stats(): MemifProxyStats {
    if (!this.#handle) throw new Error(`memif proxy ${this.listen} is closed`);
    return loadMemifAddon().proxyStats(this.#handle);
  }

  /** Ends the session (DISCONNECT to both peers) and releases sockets, socket file and thread. */
  close(): void {
    if (!this.#handle) return;
    const h = this.#handle;
    this.#handle = undefined;
    loadMemifAddon().close(h);
    if (this.#up) {
      this.#up = undefined;
      this.emit('down', { reason: 'memif proxy closed', code: 0, byPeer: false });
    }
  }

  #dispatch(ev: NativeMemifEvent): void {
    if (!this.#handle) return;
    if (ev.type === 'up') {
      this.#up = { id: ev.id, clientName: ev.peerName, endpointName: ev.peerInterface };
      this.emit('up', this.#up);
    } else if (ev.type === 'down') {
      this.#up = undefined;
      this.emit('down', toDown(ev));
    } else if (ev.type === 'rejected') {
      this.emit('rejected', toDown(ev));
    }
  }
}

/**
 * Opens a memif proxy. Throws INVALID_ARGUMENT for bad options, NOT_FOUND for a missing
 * namespace, ALREADY_EXISTS when the listening socket is in use.
 */
export function createMemifProxy(options: MemifProxyOptions): MemifProxy {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(
      'memif proxy options must be { listen: { socket, netns? }, connect: { socket, netns? } }',
    );
  }
  const listen = checkEnd('listen', options.listen);
  const connect = checkEnd('connect', options.connect);
  const cfg: NativeProxyConfig = { listen: listen.socket, connect: connect.socket };
  if (listen.netns !== undefined) cfg.listenNetns = listen.netns;
  if (connect.netns !== undefined) cfg.connectNetns = connect.netns;
  if (options.requireSeal !== undefined) {
    if (typeof options.requireSeal !== 'boolean') {
      throw invalidArgument(`memif proxy requireSeal must be a boolean, got ${typeof options.requireSeal}`);
    }
    cfg.requireSeal = options.requireSeal;
  }
  if (options.handshakeTimeoutMs !== undefined) {
    cfg.handshakeMs = checkTimeout('handshakeTimeoutMs', options.handshakeTimeoutMs, 600_000);
  }
  return new MemifProxy(cfg);
}
