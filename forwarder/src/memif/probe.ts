/**
 * A pinger on a memif interface: it resolves a peer's MAC by ARP and sends it ICMP echo requests at a
 * steady pace, counting the replies. With {@link answerArpAndIcmp} on the same interface it makes a
 * memif link provable with traffic both ways, as `ping` does on a kernel interface, and its misses
 * tell a client that the data plane is broken.
 */
import { EventEmitter } from 'node:events';
import { invalidArgument } from '@nsm-ts/sdk/core';
import type { MemifInterface } from './interface.js';
import {
  ARP_LENGTH,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  ETH_HEADER,
  MIN_FRAME,
  inetChecksum,
  macForIp,
  parseIpv4Cidr,
  parseMac,
} from './packet.js';

/** Options of {@link probeOverMemif}. */
export interface ProbeOptions {
  /** Our address with its prefix, e.g. `10.60.0.2/32` (the responder's). */
  ip: string;
  /** The peer's IPv4 address. */
  peer: string;
  /** Our MAC (default, as the responder's: `02:fe:` followed by the IP's four bytes). */
  mac?: string;
  /** Time between echo requests (default 250 ms). */
  everyMs?: number;
  /** How long a request waits for its reply before it counts as missed (default 1 s). */
  timeoutMs?: number;
}

/** What a probe has seen so far. */
export interface ProbeStats {
  /** Echo requests sent. */
  sent: number;
  /** Echo replies received in time. */
  answered: number;
  /** Requests without a reply in time, or not sent (link down, peer's MAC unknown). */
  missed: number;
  /** The peer's MAC as its ARP reply gave it ('' until it answered). */
  peerMac: string;
  /** When the last reply arrived (ms since the epoch, 0 for never). */
  lastAnswerAt: number;
  /** Round trip of the last reply, in ms. */
  rttMs: number;
}

/** Events of a probe: each request's outcome. */
export interface ProbeEvents {
  answer: [rttMs: number];
  miss: [];
}

const BROADCAST = Buffer.alloc(6, 0xff);
const ECHO_PAYLOAD = 16;

function ethernet(dst: Buffer, src: Buffer, type: number, payload: Buffer): Buffer {
  const f = Buffer.alloc(Math.max(MIN_FRAME, ETH_HEADER + payload.length));
  dst.copy(f, 0);
  src.copy(f, 6);
  f.writeUInt16BE(type, 12);
  payload.copy(f, ETH_HEADER);
  return f;
}

function arpRequest(mac: Buffer, ip: Buffer, target: Buffer): Buffer {
  const a = Buffer.alloc(ARP_LENGTH);
  a.writeUInt16BE(1, 0); // Ethernet
  a.writeUInt16BE(ETHERTYPE_IPV4, 2);
  a[4] = 6;
  a[5] = 4;
  a.writeUInt16BE(1, 6); // request
  mac.copy(a, 8);
  ip.copy(a, 14);
  target.copy(a, 24);
  return ethernet(BROADCAST, mac, ETHERTYPE_ARP, a);
}

function echoRequest(o: { mac: Buffer; ip: Buffer; peerMac: Buffer; peer: Buffer; id: number; seq: number }) {
  const p = Buffer.alloc(20 + 8 + ECHO_PAYLOAD);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p.writeUInt16BE(0x4000, 6); // don't fragment
  p[8] = 64;
  p[9] = 1; // ICMP
  o.ip.copy(p, 12);
  o.peer.copy(p, 16);
  p.writeUInt16BE(inetChecksum(p.subarray(0, 20)), 10);
  const icmp = p.subarray(20);
  icmp[0] = 8;
  icmp.writeUInt16BE(o.id, 4);
  icmp.writeUInt16BE(o.seq, 6);
  icmp.writeUInt16BE(inetChecksum(icmp), 2);
  return ethernet(o.peerMac, o.mac, ETHERTYPE_IPV4, p);
}

/** The peer's MAC from an ARP reply (or request) sent by `peer`, else undefined. */
function arpFrom(f: Buffer, peer: Buffer): Buffer | undefined {
  if (f.length < ETH_HEADER + ARP_LENGTH || f.readUInt16BE(12) !== ETHERTYPE_ARP) return undefined;
  const a = f.subarray(ETH_HEADER);
  if (a.readUInt16BE(2) !== ETHERTYPE_IPV4 || !a.subarray(14, 18).equals(peer)) return undefined;
  return Buffer.from(a.subarray(8, 14));
}

/** The sequence number of an echo reply from `peer` to `ip` with identifier `id`, else undefined. */
function echoReplySeq(f: Buffer, o: { ip: Buffer; peer: Buffer; id: number }): number | undefined {
  if (f.length < ETH_HEADER + 28 || f.readUInt16BE(12) !== ETHERTYPE_IPV4) return undefined;
  const p = f.subarray(ETH_HEADER);
  const ihl = (p[0]! & 0x0f) * 4;
  if (p[9] !== 1 || ihl < 20 || p.length < ihl + 8) return undefined;
  if (!p.subarray(12, 16).equals(o.peer) || !p.subarray(16, 20).equals(o.ip)) return undefined;
  const icmp = p.subarray(ihl);
  if (icmp[0] !== 0 || icmp.readUInt16BE(4) !== o.id) return undefined;
  return icmp.readUInt16BE(6);
}

/** A running probe; `stop` ends it and detaches it from the interface. */
export class MemifProbe extends EventEmitter<ProbeEvents> {
  readonly #stats: ProbeStats = { sent: 0, answered: 0, missed: 0, peerMac: '', lastAnswerAt: 0, rttMs: 0 };
  readonly #pending = new Map<number, number>();
  readonly #timer: NodeJS.Timeout;
  readonly #off: () => void;

  constructor(iface: MemifInterface, options: ProbeOptions) {
    super();
    const { address: ip } = parseIpv4Cidr(options.ip);
    const peer = parseIpv4Cidr(`${options.peer}/32`).address;
    const mac = options.mac === undefined ? macForIp(ip) : parseMac(options.mac);
    const everyMs = options.everyMs ?? 250;
    const timeoutMs = options.timeoutMs ?? 1000;
    if (!(everyMs >= 10) || !(timeoutMs >= 10))
      throw invalidArgument(`memif probe everyMs and timeoutMs must be at least 10 ms`);
    const id = Math.floor(Math.random() * 0xffff);
    let peerMac: Buffer | undefined;
    let seq = 0;
    // After this many misses in a row the peer's MAC is asked again (a healed link may end elsewhere).
    let inARow = 0;
    const missed = (): void => {
      this.#stats.missed++;
      if (++inARow >= 3) peerMac = undefined;
      this.emit('miss');
    };
    const onFrames = (frames: Buffer[]): void => {
      for (const f of frames) {
        const learnt = arpFrom(f, peer);
        if (learnt) {
          peerMac = learnt;
          inARow = 0;
          this.#stats.peerMac = [...learnt].map((b) => b.toString(16).padStart(2, '0')).join(':');
          continue;
        }
        const s = echoReplySeq(f, { ip, peer, id });
        const sentAt = s === undefined ? undefined : this.#pending.get(s);
        if (s === undefined || sentAt === undefined) continue;
        this.#pending.delete(s);
        inARow = 0;
        const now = Date.now();
        Object.assign(this.#stats, {
          answered: this.#stats.answered + 1,
          lastAnswerAt: now,
          rttMs: now - sentAt,
        });
        this.emit('answer', now - sentAt);
      }
    };
    const send = (frame: Buffer): boolean => {
      try {
        return iface.up && iface.send([frame]) === 1;
      } catch {
        return false; // closed under us: as a link that is down
      }
    };
    const tick = (): void => {
      const now = Date.now();
      for (const [s, at] of this.#pending) {
        if (now - at < timeoutMs) continue;
        this.#pending.delete(s);
        missed();
      }
      // Each round asks ARP again until the peer answered it, then keeps the MAC it gave.
      if (!peerMac) {
        send(arpRequest(mac, ip, peer));
        missed();
        return;
      }
      seq = (seq + 1) & 0xffff;
      this.#stats.sent++;
      if (send(echoRequest({ mac, ip, peerMac, peer, id, seq }))) this.#pending.set(seq, now);
      else missed();
    };
    iface.on('frames', onFrames);
    this.#off = () => void iface.off('frames', onFrames);
    this.#timer = setInterval(tick, everyMs);
    this.#timer.unref();
    tick();
  }

  stats(): ProbeStats {
    return { ...this.#stats };
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#off();
    this.#pending.clear();
  }
}

/**
 * Pings `peer` over a memif interface: ARP first, then one ICMP echo request every `everyMs`.
 * Usage: `const p = probeOverMemif(client, { ip: '10.60.0.2/32', peer: '10.60.0.1' }); p.on('miss', ...); p.stop()`.
 */
export function probeOverMemif(iface: MemifInterface, options: ProbeOptions): MemifProbe {
  return new MemifProbe(iface, options);
}
