/**
 * Pieces of the scale benchmark around the lab runtime: the manifests it brings up (one network
 * service, one endpoint), the bench client process in a pod namespace of the lab (speaking JSON lines),
 * and reading a daemon's resident memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The network service and endpoint of the scale lab. */
export const SCALE_SERVICE = 'scale';
export const SCALE_ENDPOINT = 'nse-scale';

/** Writes the lab's manifests into `dir`: the service and one endpoint handing out /32s from a /16. */
export function writeScaleManifests(dir: string, node = 'node-1'): void {
  writeFileSync(
    join(dir, 'network-service.yaml'),
    `apiVersion: networkservicemesh.io/v1\nkind: NetworkService\nmetadata:\n  name: ${SCALE_SERVICE}\nspec:\n  payload: ETHERNET\n`,
  );
  writeFileSync(
    join(dir, 'nse.yaml'),
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      `  name: ${SCALE_ENDPOINT}`,
      'spec:',
      '  selector:',
      `    matchLabels: { app: ${SCALE_ENDPOINT} }`,
      '  template:',
      '    metadata:',
      `      labels: { app: ${SCALE_ENDPOINT} }`,
      '    spec:',
      `      nodeName: ${node}`,
      '      containers:',
      '        - name: nse',
      '          image: icmp-responder',
      '          env:',
      '            - name: NSM_SERVICE_NAMES',
      `              value: ${SCALE_SERVICE}`,
      '            - name: NSM_CIDR_PREFIX',
      '              value: 10.90.0.0/16',
      '',
    ].join('\n'),
  );
}

/** VmRSS of a process in MB (NaN when it is gone). */
export function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** One JSON line from the bench client. */
export type ClientLine = Record<string, unknown>;

/** The bench client process: read its lines, tell it to go on, kill it. */
export interface BenchClient {
  readonly pid: number | undefined;
  /** The next line; rejects after `timeoutMs` or when the process ends. */
  next(timeoutMs: number): Promise<ClientLine>;
  go(): void;
  kill(): void;
}

/** Starts `scale-client.js` with node inside namespace `netns`; `env` is added to this process's. */
export function startBenchClient(netns: string, env: Record<string, string>): BenchClient {
  const script = fileURLToPath(new URL('./scale-client.js', import.meta.url));
  const child: ChildProcess = spawn('ip', ['netns', 'exec', netns, process.execPath, script], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    pid: child.pid,
    async next(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the bench client said nothing for ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        const line = await Promise.race([lines.next(), timeout]);
        if (line.done) throw new Error(`the bench client ended (exit ${child.exitCode}): ${stderr.trim()}`);
        return JSON.parse(line.value) as ClientLine;
      } finally {
        clearTimeout(timer);
      }
    },
    go() {
      child.stdin?.write('\n');
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Runs `cleanup` and exits when the process is interrupted (SIGINT/SIGTERM), so an interrupted
 * benchmark still removes its lab. Returns the function that unregisters it.
 */
export function onInterrupt(cleanup: () => Promise<unknown>): () => void {
  const handler = (signal: NodeJS.Signals): void => {
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.removeListener('SIGINT', handler);
    process.removeListener('SIGTERM', handler);
  };
}
