import { EventEmitter } from 'node:events';

import type { MemifStats, NativeMemifEvent } from './native.js';

/** What a link came up with. */
export interface MemifUp {
  /** The peer's application name from HELLO (server) or INIT (client), e.g. DPDK's version string. */
  peerName: string;
  /** The peer's interface name from CONNECT / CONNECTED. */
  peerInterface: string;
  /** Slots in our receive ring. */
  ringSize: number;
  /** The client's buffer size (frames larger than this travel as chained buffers). */
  bufferSize: number;
}

/** Why a link went down or a handshake was refused. */
export interface MemifDown {
  /** The DISCONNECT string: the peer's when `byPeer`, else ours (what we sent, or what we saw). */
  reason: string;
  /** The DISCONNECT code (ours: 0 closed, 1 protocol violation, 2 refused, 3 handshake timeout). */
  code: number;
  byPeer: boolean;
}

/** Events of one memif interface. */
export interface MemifInterfaceEvents {
  up: [MemifUp];
  down: [MemifDown];
  /** A handshake for this interface failed before the link came up. */
  rejected: [MemifDown];
  /** A batch of received frames, each a Buffer (views of one native allocation). */
  frames: [Buffer[]];
}

/** How an interface reaches its engine; given by the server or client that owns it. */
export interface MemifInterfaceBinding {
  send(frames: readonly Buffer[]): number;
  stats(): MemifStats;
}

function asBuffers(frames: readonly Uint8Array[]): readonly Buffer[] {
  if (!Array.isArray(frames))
    throw new TypeError('memif send: frames must be an array of Buffers or Uint8Arrays');
  if (frames.every((f) => Buffer.isBuffer(f))) return frames;
  return frames.map((f, i) => {
    if (!(f instanceof Uint8Array))
      throw new TypeError(`memif send: frames[${i}] is not a Buffer or Uint8Array`);
    return Buffer.isBuffer(f) ? f : Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  });
}

/**
 * One memif interface (one id on a socket): send and receive frame batches, link events.
 * Usage: `iface.on('frames', (frames) => ...); iface.send([frame])`.
 */
export class MemifInterface extends EventEmitter<MemifInterfaceEvents> {
  readonly id: number;
  readonly role: 'server' | 'client';
  #binding: MemifInterfaceBinding;
  #up: MemifUp | undefined;
  #closed = false;

  /** @internal Created by {@link createMemifServer} and {@link createMemifClient}. */
  constructor(id: number, role: 'server' | 'client', binding: MemifInterfaceBinding) {
    super();
    this.id = id;
    this.role = role;
    this.#binding = binding;
  }

  /** Whether the link is up (as of the last event delivered to JS). */
  get up(): boolean {
    return this.#up !== undefined;
  }

  /** What the current link came up with, if it is up. */
  get link(): MemifUp | undefined {
    return this.#up;
  }

  /**
   * Copies frames into the transmit ring without waiting; returns how many it took (the rest:
   * ring full or link down, counted in `txNoSpace`). Frames are 1..262144 bytes.
   */
  send(frames: readonly Uint8Array[]): number {
    if (this.#closed) throw new Error(`memif interface ${this.id} is closed`);
    return this.#binding.send(asBuffers(frames));
  }

  /** The interface's counters. */
  stats(): MemifStats {
    if (this.#closed) throw new Error(`memif interface ${this.id} is closed`);
    return this.#binding.stats();
  }

  /** Resolves when the link is up (at once if it is); rejects when `signal` aborts. */
  waitUp(signal?: AbortSignal): Promise<MemifUp> {
    if (this.#up) return Promise.resolve(this.#up);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.off('up', onUp);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('memif waitUp aborted'));
      };
      const onUp = (up: MemifUp): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(up);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.once('up', onUp);
    });
  }

  /** @internal Delivers one engine event. */
  dispatch(ev: NativeMemifEvent): void {
    if (this.#closed) return;
    switch (ev.type) {
      case 'up':
        this.#up = {
          peerName: ev.peerName,
          peerInterface: ev.peerInterface,
          ringSize: ev.ringSize,
          bufferSize: ev.bufferSize,
        };
        this.emit('up', this.#up);
        break;
      case 'down':
        this.#up = undefined;
        this.emit('down', { reason: ev.reason, code: ev.code, byPeer: ev.byPeer });
        break;
      case 'rejected':
        this.emit('rejected', { reason: ev.reason, code: ev.code, byPeer: ev.byPeer });
        break;
      case 'frames': {
        const frames: Buffer[] = new Array<Buffer>(ev.lengths.length);
        let off = 0;
        for (let i = 0; i < ev.lengths.length; i++) {
          const len = ev.lengths[i] ?? 0;
          frames[i] = ev.data.subarray(off, off + len);
          off += len;
        }
        this.emit('frames', frames);
        break;
      }
    }
  }

  /** @internal The owner closed: a link that was up is reported down, nothing is delivered after. */
  closed(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#up) {
      this.#up = undefined;
      this.emit('down', { reason: 'interface closed', code: 0, byPeer: false });
    }
  }
}
