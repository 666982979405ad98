/**
 * iperf3 between two pods of a topology: the server in the endpoint pod (one test, then it exits),
 * the client in the client pod, one TCP stream, JSON output. The server is always killed afterwards.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type BenchNamespaces, killStarted } from './namespaces.js';
import { NSE_IP, type Topology } from './wires.js';

/** One iperf3 run's result. */
export interface IperfResult {
  gbps: number;
  retransmits: number;
}

/** Throws a clear error when iperf3 is not installed. */
export function requireIperf(): void {
  try {
    execFileSync('iperf3', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('iperf3 is not installed: apt-get install -y iperf3');
  }
}

function startServer(ns: string, nss: BenchNamespaces): Promise<number> {
  const server = spawn('ip', ['netns', 'exec', ns, 'iperf3', '-s', '-1', '-B', NSE_IP, '--forceflush'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = server.pid;
  // Registered at once: an interrupted run must not leave a server that has not said "listening" yet.
  if (pid !== undefined) nss.defer(() => killServer(pid));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      killStarted(server.pid);
      reject(new Error(`iperf3 server in ${ns} did not start listening: ${out}`));
    }, 5000);
    const seen = (d: Buffer): void => {
      out += d.toString();
      if (/listening/i.test(out)) {
        clearTimeout(timer);
        resolve(server.pid ?? -1);
      }
    };
    server.stdout.on('data', seen);
    server.stderr.on('data', seen);
    server.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second: number }; sum_sent?: { retransmits?: number } };
}

/**
 * Runs one `seconds`-long single-stream TCP test from the client pod to the endpoint pod; the
 * server is also registered with `nss`, so an interrupted run kills it too.
 */
export async function iperf(t: Topology, seconds: number, nss: BenchNamespaces): Promise<IperfResult> {
  const pid = await startServer(t.nse.name, nss);
  try {
    const out = execFileSync(
      'ip',
      ['netns', 'exec', t.nsc.name, 'iperf3', '-c', NSE_IP, '-t', String(seconds), '-J'],
      {
        encoding: 'utf8',
        timeout: (seconds + 20) * 1000,
      },
    );
    const json = JSON.parse(out) as IperfJson;
    const bps = json.end?.sum_received?.bits_per_second;
    if (json.error || bps === undefined)
      throw new Error(`iperf3 failed: ${json.error ?? 'no sum_received in its output'}`);
    return { gbps: bps / 1e9, retransmits: json.end?.sum_sent?.retransmits ?? 0 };
  } finally {
    killServer(pid);
  }
}

/** Kills our iperf3 server if it still runs (the pid is checked to still be an iperf3). */
function killServer(pid: number): void {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('iperf3')) return;
  } catch {
    return; // gone
  }
  killStarted(pid);
}
