/**
 * Benchmark 7 of docs/performance.md: the memif data plane. Frame rate (64 bytes) and throughput
 * (1500 bytes) of our memif ends against DPDK's testpmd and each other, beside testpmd ↔ testpmd on
 * the same two cores; and memif ↔ kernel through the forwarder's packet loop (the bridge, AF_PACKET
 * on a veth) beside the bare veth. Every case runs in every round, the order reversed every other
 * round; each figure is the median over the rounds of the rate counted at the receiving end over a
 * window of steady traffic.
 */
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  createMemifBridge,
  createMemifProxy,
  loadMemifAddon,
  type MemifBridge,
  type MemifProxy,
} from '@nsm-ts/forwarder/memif';
import {
  linkStats,
  Testpmd,
  TESTPMD,
  vethPair,
  type TestpmdOptions,
  type VethPair,
} from '@nsm-ts/forwarder/memif/testing';
import { MemifPeer, type PeerConfig } from './memif/peer.js';
import { BenchNamespaces } from './ns/namespaces.js';
import { percentile, saveResult, toMarkdown, type BenchResult, type BenchRow } from './result.js';

const RUNS = Math.max(3, Number(process.env['BENCH_RUNS'] ?? 3));
const SECONDS = Number(process.env['BENCH_MEMIF_SECONDS'] ?? 4);
/** Traffic flows this long before a window starts. */
const WARMUP_MS = 1000;
/** Only the cases whose key matches (development runs), e.g. `BENCH_MEMIF_ONLY=baseline|direct`. */
const ONLY = new RegExp(process.env['BENCH_MEMIF_ONLY'] ?? '.');
const SIZES = [64, 1500] as const;
/** The design's bars, as multiples of testpmd ↔ testpmd: any wire with our memif, and ours ↔ ours. */
const WIRE_BAR = 0.8;
const DIRECT_BAR = 1;
/**
 * Senders (one of our processes, or testpmd's forwarding loop) run on core 0, receivers on core 1,
 * as the two testpmds of the baseline do.
 */
const SENDER_CPU = 0;
const RECEIVER_CPU = 1;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms`, naming what did not happen. */
async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function until(what: string, ms: number, ok: () => boolean): Promise<void> {
  const end = performance.now() + ms;
  while (!ok()) {
    if (performance.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

/** Everything one case starts, stopped in reverse order when it ends (also when it fails). */
class Owned {
  #items: { stop(): Promise<void> | void; kill(): void }[] = [];
  constructor(private readonly live: Set<{ kill(): void }>) {}

  add<T extends { stop(): Promise<unknown> | void; kill(): void }>(item: T): T {
    const entry = { stop: async () => void (await item.stop()), kill: () => item.kill() };
    this.#items.push(entry);
    this.live.add(entry);
    return item;
  }

  async release(): Promise<void> {
    const errors: unknown[] = [];
    for (const item of this.#items.reverse()) {
      try {
        await item.stop();
      } catch (err) {
        errors.push(err);
        item.kill();
      }
      this.live.delete(item);
    }
    this.#items = [];
    if (errors.length > 0) throw errors[0];
  }
}

/** A bridge or proxy of this process, owned like a child process. */
function closing<T extends MemifBridge | MemifProxy>(x: T): T & { stop(): void; kill(): void } {
  return Object.assign(x, { stop: () => x.close(), kill: () => x.close() });
}

/** What the cases share: the run's names, its live processes, the veth pair of the kernel cases. */
class Bench {
  readonly nss = new BenchNamespaces();
  readonly live = new Set<{ kill(): void }>();
  #n = 0;
  #veth: VethPair | undefined;

  constructor() {
    // Cleanups run before the namespaces are deleted: processes and sockets go first.
    this.nss.defer(() => {
      for (const item of this.live) item.kill();
      this.live.clear();
    });
  }

  socket(tag: string): string {
    return `@${this.nss.prefix}memif/${tag}/${++this.#n}`;
  }

  get veth(): VethPair {
    this.#veth ??= vethPair(this.nss, 'mv');
    return this.#veth;
  }

  /** Runs `fn` with an owner of what it starts; everything is stopped before it returns. */
  async run(fn: (own: Owned) => Promise<number>): Promise<number> {
    const own = new Owned(this.live);
    try {
      return await fn(own);
    } finally {
      await own.release();
    }
  }

  /** testpmd forwarding on the sender's or the receiver's core (its main lcore on the other). */
  pmd(own: Owned, o: Pick<TestpmdOptions, 'role' | 'socket' | 'forwardMode'>, len: number): Testpmd {
    const tx = o.forwardMode === 'txonly';
    const fwd = tx ? SENDER_CPU : RECEIVER_CPU;
    return own.add(
      new Testpmd({
        ...o,
        cores: `${1 - fwd},${fwd}`,
        extra: tx && len !== 64 ? [`--txpkts=${len}`] : [],
        prefix: `${this.nss.prefix}pmd${++this.#n}`,
      }),
    );
  }

  peer(own: Owned, config: PeerConfig): MemifPeer {
    return own.add(new MemifPeer(config, config.direction === 'tx' ? SENDER_CPU : RECEIVER_CPU));
  }

  /** Packets per second testpmd's port counted over the next window (after the warm-up). */
  async pmdWindow(pmd: Testpmd, direction: 'rx' | 'tx'): Promise<number> {
    const key = direction === 'rx' ? 'rxPackets' : 'txPackets';
    await until('testpmd counts frames', 20_000, () => (pmd.samples.at(-1)?.[key] ?? 0) > 0);
    await sleep(WARMUP_MS);
    const from = performance.now();
    await sleep(SECONDS * 1000);
    // testpmd prints every 1 or 2 s (it sleeps 1 s between checks of its period): wait for the
    // block that closes the window; each block's interval is timed by testpmd itself.
    const end = from + SECONDS * 1000;
    await until('testpmd statistics', 5000, () => (pmd.samples.at(-1)?.at ?? 0) > end);
    return pmd.rate(direction, from, performance.now());
  }

  /** Frames per second one of our peers counted over the next window (after the warm-up). */
  async peerWindow(peer: MemifPeer): Promise<number> {
    await sleep(WARMUP_MS);
    const w = await peer.measure(SECONDS * 1000);
    return (w.frames / w.ms) * 1000;
  }

  /** Frames per second arriving at the veth end B over the next window (after the warm-up). */
  async vethWindow(): Promise<number> {
    const { b, ifB } = this.veth;
    await sleep(WARMUP_MS);
    const before = linkStats(b.name, ifB).rx;
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    return ((linkStats(b.name, ifB).rx - before) / (performance.now() - t0)) * 1000;
  }

  /** The bridge on veth end A, as memif server on a fresh socket, waiting for its peer. */
  bridge(own: Owned): MemifBridge {
    const { a, ifA } = this.veth;
    return own.add(
      closing(
        createMemifBridge({
          memif: { role: 'server', socket: this.socket('bridge') },
          kernel: { ifname: ifA, netns: a.path },
        }),
      ),
    );
  }

  /**
   * Removes everything of this run; returns what was still there: processes a case had not
   * stopped (killed now), namespaces and testpmd runtime directories that would not go.
   */
  cleanup(): string[] {
    const running = this.live.size;
    const left = this.nss.cleanup();
    let dpdk: string[] = [];
    try {
      dpdk = readdirSync('/var/run/dpdk').filter((d) => d.startsWith(this.nss.prefix));
    } catch {
      // no runtime directory at all
    }
    return [
      ...(running > 0 ? [`${running} processes or sockets still open (closed now)`] : []),
      ...left,
      ...dpdk.map((d) => `/var/run/dpdk/${d}`),
    ];
  }
}

/** One measured case: packets per second at the receiving end. */
interface Case {
  key: string;
  label: string;
  run(bench: Bench, len: number): Promise<number>;
}

/** testpmd txonly as the memif server, testpmd rxonly as its client. */
const baseline: Case = {
  key: 'baseline',
  label: 'testpmd txonly (server) → testpmd rxonly (client)',
  run: (b, len) =>
    b.run(async (own) => {
      const socket = b.socket('base');
      const tx = b.pmd(own, { role: 'server', socket, forwardMode: 'txonly' }, len);
      await until('testpmd server forwarding', 30_000, () => tx.started);
      const rx = b.pmd(own, { role: 'client', socket, forwardMode: 'rxonly' }, len);
      return b.pmdWindow(rx, 'rx');
    }),
};

/** Our client sending to our server, each in a process of its own; with `proxy`, through the relay. */
function ours(key: string, label: string, proxy: boolean): Case {
  return {
    key,
    label,
    run: (b, len) =>
      b.run(async (own) => {
        const socket = b.socket('srv');
        const rx = b.peer(own, { role: 'server', socket, direction: 'rx', len });
        await within('our server listening', 20_000, rx.listening);
        let dial = socket;
        if (proxy) {
          dial = b.socket('proxy');
          own.add(closing(createMemifProxy({ listen: { socket: dial }, connect: { socket } })));
        }
        const tx = b.peer(own, { role: 'client', socket: dial, direction: 'tx', len });
        await within('memif link up', 20_000, Promise.all([rx.up, tx.up]));
        return b.peerWindow(rx);
      }),
  };
}

/** testpmd txonly in `role`, our end (the other role) receiving. */
function fromTestpmd(role: 'server' | 'client'): Case {
  const ourRole = role === 'server' ? 'client' : 'server';
  return {
    key: `pmd-to-our-${ourRole}`,
    label: `testpmd txonly (${role}) → our ${ourRole}`,
    run: (b, len) =>
      b.run(async (own) => {
        const socket = b.socket('pmdtx');
        let rx: MemifPeer;
        if (role === 'server') {
          const pmd = b.pmd(own, { role, socket, forwardMode: 'txonly' }, len);
          await until('testpmd server forwarding', 30_000, () => pmd.started);
          rx = b.peer(own, { role: ourRole, socket, direction: 'rx', len });
        } else {
          rx = b.peer(own, { role: ourRole, socket, direction: 'rx', len });
          await within('our server listening', 20_000, rx.listening);
          b.pmd(own, { role, socket, forwardMode: 'txonly' }, len);
        }
        await within('memif link up', 30_000, rx.up);
        return b.peerWindow(rx);
      }),
  };
}

/** Our end in `ourRole` sending, testpmd rxonly (the other role) receiving. */
function toTestpmd(ourRole: 'server' | 'client'): Case {
  const role = ourRole === 'server' ? 'client' : 'server';
  return {
    key: `our-${ourRole}-to-pmd`,
    label: `our ${ourRole} → testpmd rxonly (${role})`,
    run: (b, len) =>
      b.run(async (own) => {
        const socket = b.socket('pmdrx');
        let pmd: Testpmd;
        let tx: MemifPeer;
        if (role === 'server') {
          pmd = b.pmd(own, { role, socket, forwardMode: 'rxonly' }, len);
          await until('testpmd server forwarding', 30_000, () => pmd.started);
          tx = b.peer(own, { role: ourRole, socket, direction: 'tx', len });
        } else {
          tx = b.peer(own, { role: ourRole, socket, direction: 'tx', len });
          await within('our server listening', 20_000, tx.listening);
          pmd = b.pmd(own, { role, socket, forwardMode: 'rxonly' }, len);
        }
        await within('memif link up', 30_000, tx.up);
        return b.pmdWindow(pmd, 'rx');
      }),
  };
}

/** The veth alone: frames sent on end A by one native thread (sendmmsg), counted arriving at B. */
const bareVeth: Case = {
  key: 'veth',
  label: 'bare veth: sendmmsg on one end (one thread), counted at the other',
  run: async (b, len) => {
    const { a, ifA, b: nsB, ifB } = b.veth;
    const before = linkStats(nsB.name, ifB).rx;
    const r = await loadMemifAddon().packetBlast({
      kernel: { ifname: ifA, netns: a.path },
      size: len,
      ms: SECONDS * 1000,
      batch: 64,
    });
    return ((linkStats(nsB.name, ifB).rx - before) / r.ms) * 1000;
  },
};

/** Our client sending into the bridge, which sends on veth end A; counted arriving at B. */
const memifToKernel: Case = {
  key: 'our-client-to-bridge',
  label: 'our client → bridge → veth',
  run: (b, len) =>
    b.run(async (own) => {
      const bridge = b.bridge(own);
      const tx = b.peer(own, { role: 'client', socket: bridge.socket, direction: 'tx', len });
      await within('bridge link up', 20_000, Promise.all([tx.up, bridge.waitUp()]));
      return b.vethWindow();
    }),
};

/** testpmd txonly (a native producer) into the bridge; counted arriving at B. */
const pmdToKernel: Case = {
  key: 'pmd-to-bridge',
  label: 'testpmd txonly (client) → bridge → veth',
  run: (b, len) =>
    b.run(async (own) => {
      const bridge = b.bridge(own);
      const pmd = b.pmd(own, { role: 'client', socket: bridge.socket, forwardMode: 'txonly' }, len);
      await within('bridge link up', 30_000, bridge.waitUp());
      await until('testpmd forwarding', 30_000, () => pmd.started);
      return b.vethWindow();
    }),
};

/** Frames sent on veth end B by one native thread, through the bridge to our client (delivered to JS). */
const kernelToMemif: Case = {
  key: 'bridge-to-our-client',
  label: 'veth (sendmmsg) → bridge → our client',
  run: (b, len) =>
    b.run(async (own) => {
      const { b: nsB, ifB } = b.veth;
      const bridge = b.bridge(own);
      const rx = b.peer(own, { role: 'client', socket: bridge.socket, direction: 'rx', len });
      await within('bridge link up', 20_000, Promise.all([rx.up, bridge.waitUp()]));
      const sending = loadMemifAddon().packetBlast({
        kernel: { ifname: ifB, netns: nsB.path },
        size: len,
        ms: WARMUP_MS + SECONDS * 1000 + 500,
        batch: 64,
      });
      try {
        return await b.peerWindow(rx);
      } finally {
        await sending;
      }
    }),
};

const direct = ours('direct', 'our client → our server (direct)', false);
const proxied = ours('proxied', 'our client → proxy → our server', true);
const wireCases: Case[] = [
  baseline,
  direct,
  proxied,
  fromTestpmd('client'),
  fromTestpmd('server'),
  toTestpmd('client'),
  toTestpmd('server'),
];
const kernelCases: Case[] = [bareVeth, memifToKernel, pmdToKernel, kernelToMemif];

type Samples = Map<string, number[]>;
const sampleKey = (c: Case, len: number): string => `${c.key}/${len}`;

/** Value of `pps` frames per second of `len` bytes in the unit of its table: Mpps, or Gbit/s. */
function scaled(pps: number, len: number): { value: number; unit: string } {
  return len === 64 ? { value: pps / 1e6, unit: 'Mpps' } : { value: (pps * len * 8) / 1e9, unit: 'Gbit/s' };
}

function rowsFor(samples: Samples, len: number, cases: Case[], base: Case, section: string): BenchRow[] {
  const med = (c: Case): number => percentile(samples.get(sampleKey(c, len)) ?? [], 50);
  if (!samples.has(sampleKey(base, len))) return [];
  const b = scaled(med(base), len);
  const rows: BenchRow[] = [{ metric: `${section} ${len} B: ${base.label} (baseline)`, ...b }];
  for (const c of cases) {
    if (c === base || !samples.has(sampleKey(c, len))) continue;
    const v = scaled(med(c), len);
    const bar = section !== 'memif' ? undefined : c === direct ? DIRECT_BAR : WIRE_BAR;
    const ratio = v.value / b.value;
    rows.push({
      metric: `${section} ${len} B: ${c.label}`,
      ...v,
      baseline: b.value,
      ratio,
      ...(bar === undefined ? {} : { bar: `≥ ${bar}× testpmd ↔ testpmd`, pass: ratio >= bar }),
    });
    if (c === proxied && samples.has(sampleKey(direct, len))) {
      const d = scaled(med(direct), len);
      rows.push({
        metric: `${section} ${len} B: through the proxy vs direct`,
        ...v,
        baseline: d.value,
        ratio: v.value / d.value,
      });
    }
  }
  return rows;
}

/**
 * A case's samples, and its best against the best of its baseline: interference on a shared
 * machine only ever lowers a run, so the best of each is the other estimate of what it can do.
 */
function noteFor(samples: Samples, c: Case, len: number, base: Case): string | undefined {
  const xs = samples.get(sampleKey(c, len));
  if (!xs) return undefined;
  const { unit } = scaled(0, len);
  const best = Math.max(...xs);
  const baseBest = Math.max(...(samples.get(sampleKey(base, len)) ?? [NaN]));
  const vs =
    c === base || Number.isNaN(baseBest) ? '' : ` (${(best / baseBest).toFixed(2)}× the baseline's best)`;
  return `${c.label}, ${len} B: ${xs.map((x) => scaled(x, len).value.toPrecision(3)).join(', ')} ${unit}; best ${scaled(best, len).value.toPrecision(3)}${vs}`;
}

/** Runs benchmark 7. */
export async function memifBench(): Promise<BenchResult> {
  if (!TESTPMD) throw new Error('dpdk-testpmd is not installed: apt-get install dpdk-dev librte-net-memif23');
  if (process.getuid?.() !== 0) throw new Error('the memif benchmark needs root (namespaces, veth pairs)');
  const bench = new Bench();
  const samples: Samples = new Map();
  const all = [...wireCases, ...kernelCases].filter((c) => ONLY.test(c.key));
  const load = [loadavg()[0]!];
  let left: string[];
  try {
    for (let round = 0; round < RUNS; round++) {
      const order = round % 2 === 0 ? all : [...all].reverse();
      for (const len of SIZES) {
        for (const c of order) {
          const pps = await c.run(bench, len);
          process.stderr.write(
            `memif round ${round + 1}/${RUNS} ${c.key} ${len} B: ${scaled(pps, len).value.toFixed(3)} ${scaled(pps, len).unit}\n`,
          );
          const key = sampleKey(c, len);
          samples.set(key, [...(samples.get(key) ?? []), pps]);
        }
      }
    }
  } finally {
    load.push(loadavg()[0]!);
    left = bench.cleanup();
    if (left.length > 0) process.stderr.write(`memif: left behind: ${left.join(', ')}\n`);
  }
  const rows = SIZES.flatMap((len) => [
    ...rowsFor(samples, len, wireCases, baseline, 'memif'),
    ...rowsFor(samples, len, kernelCases, bareVeth, 'kernel'),
  ]);
  return {
    name: 'memif data plane (benchmark 7)',
    rows,
    notes: [
      `${RUNS} rounds, every case in every round (the order reversed every other round); a ${SECONDS} s window of steady traffic (after ${WARMUP_MS} ms) counted at the receiving end; medians over the rounds. ` +
        'Our ends run in processes of their own (bench/src/memif/peer.ts), frames sent from JS in batches of 256 and counted when delivered to JS; ' +
        'testpmd (no hugepages) counted by its port statistics; the veth by its receive counter. ' +
        `Senders run on core ${SENDER_CPU}, receivers on core ${RECEIVER_CPU} (our processes with taskset, testpmd's forwarding loop by EAL; its main lcore on the other core); the bridge's thread and the bare veth's sending thread are not pinned.`,
      ...SIZES.flatMap((len) =>
        all.map((c) => noteFor(samples, c, len, wireCases.includes(c) ? baseline : bareVeth)),
      ).filter((n) => n !== undefined),
      `Load average (1 min) at the start and the end: ${load.map((l) => l.toFixed(2)).join(' and ')} (the machine is shared).`,
      left.length === 0 ? 'Nothing left behind.' : `Left behind: ${left.join(', ')}.`,
    ],
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await memifBench();
  saveResult('memif', result);
  process.stdout.write(toMarkdown(result));
}
