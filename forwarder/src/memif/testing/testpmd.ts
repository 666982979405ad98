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
}

function lastNumber(out: string, re: RegExp): number {
  const all = [...out.matchAll(re)];
  return Number(all.at(-1)?.[1] ?? NaN);
}

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
    this.proc = spawn(TESTPMD, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout?.on('data', (d: Buffer) => (this.#out += d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => (this.#out += d.toString()));
    this.#exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
  }

  get output(): string {
    return this.#out;
  }

  /** Whether testpmd has started forwarding (it prints its first statistics after that). */
  get started(): boolean {
    return this.#out.includes('Port statistics');
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
