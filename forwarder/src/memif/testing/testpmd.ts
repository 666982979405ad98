import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

/** Where Debian's dpdk package puts testpmd, if installed. */
export const TESTPMD = ['/usr/bin/dpdk-testpmd', '/usr/local/bin/dpdk-testpmd'].find((p) => existsSync(p));

/** testpmd's forward statistics for port 0, read when it stops. */
export interface TestpmdCounts {
  rxPackets: number;
  txPackets: number;
  txDropped: number;
  /** The highest per-second NIC rates it printed (`--stats-period 1`). */
  rxPps: number;
  txPps: number;
}

/** One block of port statistics (`--stats-period 1`), with when it reached us. */
export interface TestpmdSample {
  /** performance.now() when the block arrived. */
  at: number;
  /** The port's totals so far. */
  rxPackets: number;
  txPackets: number;
  /** testpmd's own rates since its previous block (timed by its TSC, not by our clock). */
  rxPps: number;
  txPps: number;
}

export interface TestpmdOptions {
  role: 'client' | 'server';
  /** A path, or `@name` for an abstract socket. */
  socket: string;
  /** macswap, icmpecho, txonly, rxonly, io ... */
  forwardMode: string;
  /** Unique per run: DPDK keeps its runtime files in /var/run/dpdk/<prefix>. */
  prefix: string;
  /**
   * EAL cores, the main lcore first, then the one that runs the forwarding loop (default `0,1`);
   * the first is passed as `--main-lcore` (EAL would otherwise take the lowest).
   */
  cores?: string;
  id?: number;
  bufferSize?: number;
  extra?: string[];
  /** A named network namespace to run it in (`ip netns exec`), as a pod's program would run. */
  netns?: string;
}

function lastNumber(out: string, re: RegExp): number {
  const all = [...out.matchAll(re)];
  return Number(all.at(-1)?.[1] ?? NaN);
}

const BLOCK =
  /RX-packets:\s+(\d+)\s+RX-missed[\s\S]*?TX-packets:\s+(\d+)\s+TX-errors[\s\S]*?Rx-pps:\s+(\d+)[\s\S]*?Tx-pps:\s+(\d+)\s+Tx-bps/g;

function maxNumber(out: string, re: RegExp): number {
  return Math.max(0, ...[...out.matchAll(re)].map((m) => Number(m[1])));
}

/**
 * A running dpdk-testpmd with one net_memif port, without hugepages. `stop` interrupts it,
 * waits for its exit (killing it after 10 s) and removes its runtime directory.
 */
export class Testpmd {
  readonly proc: ChildProcess;
  #out = '';
  #parsed = 0;
  #samples: TestpmdSample[] = [];
  #exited: Promise<void>;
  #prefix: string;

  constructor(o: TestpmdOptions) {
    if (!TESTPMD) throw new Error('dpdk-testpmd is not installed');
    this.#prefix = o.prefix;
    const abstract = o.socket.startsWith('@');
    const vdev = [
      'net_memif0',
      `role=${o.role}`,
      `id=${o.id ?? 0}`,
      `socket=${abstract ? o.socket.slice(1) : o.socket}`,
      `socket-abstract=${abstract ? 'yes' : 'no'}`,
      ...(o.bufferSize ? [`bsize=${o.bufferSize}`] : []),
    ].join(',');
    const cores = o.cores ?? '0,1';
    const args = [
      ...[
        '-l',
        cores,
        '--main-lcore',
        cores.split(/[,-]/)[0]!,
        '--no-huge',
        '-m',
        '1024',
        '--no-pci',
        `--file-prefix=${o.prefix}`,
        `--vdev=${vdev}`,
      ],
      ...['--', '--total-num-mbufs=16384', `--forward-mode=${o.forwardMode}`, '-a', '--stats-period', '1'],
      ...(o.extra ?? []),
    ];
    // stdin stays an open pipe: testpmd without a terminal would otherwise read EOF and quit.
    const [cmd, argv] = o.netns ? ['ip', ['netns', 'exec', o.netns, TESTPMD, ...args]] : [TESTPMD, args];
    this.proc = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout?.on('data', (d: Buffer) => {
      this.#out += d.toString();
      this.#sample();
    });
    this.proc.stderr?.on('data', (d: Buffer) => (this.#out += d.toString()));
    this.#exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
  }

  /** Reads the port statistics blocks completed since the last call. */
  #sample(): void {
    const at = performance.now();
    BLOCK.lastIndex = this.#parsed;
    for (let m = BLOCK.exec(this.#out); m; m = BLOCK.exec(this.#out)) {
      const [rxPackets, txPackets, rxPps, txPps] = m.slice(1).map(Number) as [number, number, number, number];
      this.#samples.push({ at, rxPackets, txPackets, rxPps, txPps });
      this.#parsed = BLOCK.lastIndex;
    }
  }

  /** The port statistics blocks received so far. */
  get samples(): readonly TestpmdSample[] {
    return this.#samples;
  }

  /**
   * The port's mean packet rate over the blocks that arrived between `from` and `to`
   * (performance.now()): their packets over their intervals, each interval as testpmd timed it
   * (packets / its pps; 1 s, the period, for a block without packets). NaN without blocks.
   */
  rate(direction: 'rx' | 'tx', from: number, to: number): number {
    let packets = 0;
    let seconds = 0;
    let prev = this.#samples.findLast((s) => s.at <= from);
    for (const s of this.#samples) {
      if (s.at <= from || s.at > to) continue;
      const d =
        direction === 'rx' ? s.rxPackets - (prev?.rxPackets ?? 0) : s.txPackets - (prev?.txPackets ?? 0);
      const pps = direction === 'rx' ? s.rxPps : s.txPps;
      packets += d;
      seconds += d > 0 && pps > 0 ? d / pps : 1;
      prev = s;
    }
    return seconds > 0 ? packets / seconds : NaN;
  }

  get output(): string {
    return this.#out;
  }

  /** Whether testpmd has started forwarding (it prints its first statistics after that). */
  get started(): boolean {
    return this.#out.includes('Port statistics');
  }

  /** For exit paths that cannot wait: SIGKILL and remove the runtime directory at once. */
  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    rmSync(`/var/run/dpdk/${this.#prefix}`, { recursive: true, force: true });
  }

  async stop(): Promise<TestpmdCounts> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGINT');
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
      await this.#exited;
      clearTimeout(timer);
    }
    rmSync(`/var/run/dpdk/${this.#prefix}`, { recursive: true, force: true });
    const o = this.#out;
    return {
      rxPackets: lastNumber(o, /RX-packets:\s+(\d+)\s+RX-dropped/g),
      txPackets: lastNumber(o, /TX-packets:\s+(\d+)\s+TX-dropped/g),
      txDropped: lastNumber(o, /TX-dropped:\s+(\d+)/g),
      rxPps: maxNumber(o, /Rx-pps:\s+(\d+)/g),
      txPps: maxNumber(o, /Tx-pps:\s+(\d+)/g),
    };
  }
}

/**
 * Stops every testpmd in `pmds` (emptying it), then runs each of `then` in order; all of them run
 * even when one fails, and the first failure is thrown at the end. For a suite's afterEach:
 * `afterEach(() => stopAll(pmds, () => closer.closeAll(), () => fx.cleanup()))`.
 */
export async function stopAll(pmds: Testpmd[], ...then: (() => void)[]): Promise<void> {
  const failures: unknown[] = [];
  await Promise.all(pmds.splice(0).map((p) => p.stop().catch((err: unknown) => void failures.push(err))));
  for (const step of then) {
    try {
      step();
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length > 0) throw failures[0];
}
