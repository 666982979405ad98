/**
 * The memif side of the lab's built-in roles: on each memif connection the pod answers ARP and ICMP
 * echo for its own address and pings the other end, so that the link can be proven with traffic
 * both ways (`nsm check` reads the counters from the status file) and a client notices a broken data
 * plane (the liveness check below). The pod's interface is a memif, not a kernel interface: none of
 * this goes through the pod's kernel.
 */
import type { Connection } from '@nsm-ts/sdk/api';
import type { Context } from '@nsm-ts/sdk/core';
import type { LivenessCheck } from '@nsm-ts/sdk/elements';
import {
  answerArpAndIcmp,
  probeOverMemif,
  type MemifInterface,
  type MemifProbe,
  type ProbeStats,
  type Responder,
  type ResponderStats,
} from '@nsm-ts/forwarder/memif';

/** What the status file says of one memif. */
export interface MemifReport {
  /** The socket (abstract: `@` first) in the pod's network namespace. */
  socket: string;
  /** `server` when this pod serves the socket (an endpoint), `client` when its forwarder does. */
  role: 'server' | 'client';
  /** This pod's address on the memif, and the MAC it answers with. */
  ip: string;
  mac: string;
  /** The other end's address, which the probe pings. */
  peerIp: string;
  up: boolean;
  probe: ProbeStats;
  answered: Pick<ResponderStats, 'arp' | 'icmp'>;
  /** Left to a program the user attached: this pod's role neither answers nor probes on it. */
  external?: true;
}

interface Side {
  iface: MemifInterface;
  socket: string;
  role: MemifReport['role'];
  ip: string;
  peerIp: string;
  responder: Responder;
  probe: MemifProbe;
  /** Closes the interface too, when this side opened it. */
  release?: () => void;
}

const first = (list: string[] | undefined): string | undefined =>
  list?.find((a) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(a));

/** The IPv4 address pair of a connection as seen from `side`, or undefined when it has none. */
export function memifAddresses(
  conn: Connection,
  side: 'client' | 'endpoint',
): { ip: string; peer: string } | undefined {
  const ipc = conn.context?.ip_context;
  const src = first(ipc?.src_ip_addrs);
  const dst = first(ipc?.dst_ip_addrs);
  if (!src || !dst) return undefined;
  const [ip, peer] = side === 'client' ? [src, dst] : [dst, src];
  return { ip: ip.includes('/') ? ip : `${ip}/32`, peer: peer.split('/')[0]! };
}

/** The report of a memif the role leaves to a program the user attaches (no counters of its own). */
export function externalMemif(conn: Connection): MemifReport | undefined {
  const socket = conn.mechanism?.parameters['socketfile'];
  const addrs = memifAddresses(conn, 'client');
  if (conn.mechanism?.type !== 'MEMIF' || !socket || !addrs) return undefined;
  const probe = { sent: 0, answered: 0, missed: 0, peerMac: '', lastAnswerAt: 0, rttMs: 0 };
  return {
    socket,
    role: 'client',
    ip: addrs.ip,
    peerIp: addrs.peer,
    mac: '',
    up: false,
    probe,
    answered: { arp: 0, icmp: 0 },
    external: true,
  };
}

/** The memifs of a pod, by connection id. */
export class MemifSides {
  readonly #sides = new Map<string, Side>();

  /**
   * Answers and probes for connection `connId` on its memif: the one it has when the socket is the
   * same (a refresh or a heal with new addresses keeps the interface), else one `open` gives, with
   * what closes it when this side opened it.
   */
  attach(
    connId: string,
    o: {
      socket: string;
      role: MemifReport['role'];
      ip: string;
      peer: string;
      open: () => { iface: MemifInterface; release?: () => void };
    },
  ): void {
    const had = this.#sides.get(connId);
    if (had && had.socket === o.socket && had.ip === o.ip && had.peerIp === o.peer) return;
    const keep = had?.socket === o.socket ? had : undefined;
    if (had) this.#stop(had, !keep);
    const { iface, release } = keep ? { iface: keep.iface, release: keep.release } : o.open();
    this.#sides.set(connId, {
      iface,
      socket: o.socket,
      role: o.role,
      ip: o.ip,
      peerIp: o.peer,
      responder: answerArpAndIcmp(iface, { ip: o.ip }),
      probe: probeOverMemif(iface, { ip: o.ip, peer: o.peer }),
      ...(release ? { release } : {}),
    });
  }

  /** The report of connection `connId`'s memif, for the status file. */
  report(connId: string): MemifReport | undefined {
    const s = this.#sides.get(connId);
    if (!s) return undefined;
    const answered = s.responder.stats();
    return {
      socket: s.socket,
      role: s.role,
      ip: s.ip,
      mac: s.responder.mac,
      peerIp: s.peerIp,
      up: s.iface.up,
      probe: s.probe.stats(),
      answered: { arp: answered.arp, icmp: answered.icmp },
    };
  }

  /** Every connection with a memif here. */
  connections(): string[] {
    return [...this.#sides.keys()];
  }

  /** Stops answering and probing for `connId` (and closes its interface when this side opened it). */
  detach(connId: string): void {
    const s = this.#sides.get(connId);
    if (!s) return;
    this.#sides.delete(connId);
    this.#stop(s, true);
  }

  detachAll(): void {
    for (const id of this.connections()) this.detach(id);
  }

  /**
   * A liveness check for the connections with a memif here: alive when the probe heard the other
   * end within `withinMs`, else when it does before `timeoutMs`. Other connections go to `other`.
   * A MEMIF connection with no memif here is dead, unless `unattached` says `alive` (the memifs are
   * left to a program the user attaches, whose traffic this pod cannot see).
   */
  livenessCheck(
    other: LivenessCheck,
    options: { withinMs?: number; timeoutMs?: number; unattached?: 'alive' | 'dead' } = {},
  ): LivenessCheck {
    const withinMs = options.withinMs ?? 500;
    const timeoutMs = options.timeoutMs ?? 600;
    return (ctx: Context, conn: Connection) => {
      if (conn.mechanism?.type !== 'MEMIF') return other(ctx, conn);
      const s = this.#sides.get(conn.id);
      if (!s) return Promise.resolve(options.unattached === 'alive');
      if (Date.now() - s.probe.stats().lastAnswerAt <= withinMs) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (alive: boolean): void => {
          clearTimeout(timer);
          s.probe.off('answer', onAnswer);
          resolve(alive);
        };
        const onAnswer = (): void => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        s.probe.on('answer', onAnswer);
      });
    };
  }

  #stop(s: Side, release: boolean): void {
    s.probe.stop();
    s.responder.stop();
    if (release) s.release?.();
  }
}
