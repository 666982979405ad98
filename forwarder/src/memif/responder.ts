import type { MemifInterface } from './interface.js';
import { answerFrame, macForIp, parseIpv4Cidr, parseMac } from './packet.js';

/** Options of {@link answerArpAndIcmp}. */
export interface ResponderOptions {
  /** Our address with its prefix, e.g. `10.60.0.2/24`. */
  ip: string;
  /** Our MAC (default `02:fe:` followed by the IP's four bytes). */
  mac?: string;
}

/** What a responder has done so far. */
export interface ResponderStats {
  /** ARP requests for our IP answered. */
  arp: number;
  /** ICMP echo requests for our IP answered. */
  icmp: number;
  /** Well-formed frames not for us (other addresses, other protocols, other ICMP types). */
  ignored: number;
  /** Malformed frames (truncated, wrong lengths or checksums): dropped. */
  bad: number;
  /** Replies the transmit ring did not take (full or link down). */
  dropped: number;
}

/** A running responder; `stop` detaches it from the interface. */
export interface Responder {
  readonly ip: string;
  readonly mac: string;
  stats(): ResponderStats;
  stop(): void;
}

/**
 * Answers ARP requests and ICMPv4 echo requests for `ip` on a memif interface, so a peer can
 * ping it; everything else is ignored, malformed frames are counted and dropped.
 * Usage: `const r = answerArpAndIcmp(client, { ip: '10.60.0.2/24' }); ... r.stop()`.
 */
export function answerArpAndIcmp(iface: MemifInterface, options: ResponderOptions): Responder {
  const { address } = parseIpv4Cidr(options.ip);
  const mac = options.mac === undefined ? macForIp(address) : parseMac(options.mac);
  const stats: ResponderStats = { arp: 0, icmp: 0, ignored: 0, bad: 0, dropped: 0 };
  const onFrames = (frames: Buffer[]): void => {
    const replies: Buffer[] = [];
    for (const f of frames) {
      const a = answerFrame(f, address, mac);
      if (a.kind === 'arp' || a.kind === 'icmp') {
        stats[a.kind]++;
        replies.push(a.reply);
      } else {
        stats[a.kind]++;
      }
    }
    if (replies.length === 0) return;
    let sent = 0;
    try {
      sent = iface.send(replies);
    } catch {
      // the interface closed under us: the replies are lost, as on a link that went down
    }
    stats.dropped += replies.length - sent;
  };
  iface.on('frames', onFrames);
  return {
    ip: options.ip,
    mac: [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':'),
    stats: () => ({ ...stats }),
    stop: () => void iface.off('frames', onFrames),
  };
}
