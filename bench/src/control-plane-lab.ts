/**
 * Benchmarks 1 and 2 as deployed: registry, managers, forwarders and endpoints are separate processes
 * in the lab's namespaces (two nodes); this process is the client. NOOP mechanism, so the figures are
 * the control plane alone. Baseline: plain unary round trips (health checks) on the same sockets. The
 * lab is secured as shipped; the client joins with an identity from the lab's CA (`nsm identity`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from '@nsm-ts/sdk';
import { createContext } from '@nsm-ts/sdk/core';
import type { MeshClient } from '@nsm-ts/sdk/grpc';
import { fileIdentity } from '@nsm-ts/sdk/security';
import { down } from '@nsm-ts/cli/lab';
import { Lab } from '@nsm-ts/cli/lab';
import { issueIdentity, labDial, up } from '@nsm-ts/cli/lab';
import { connectRows, saveResult, toMarkdown, type BenchResult } from './result.js';

const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 400);
const WARMUP = 40;

const manifest = (name: string, node: string, service: string, cidr: string): string => `
apiVersion: networkservicemesh.io/v1
kind: NetworkService
metadata: { name: ${service} }
spec: { payload: ETHERNET }
---
apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  nodeName: ${node}
  containers:
    - name: nse
      image: nse
      env:
        - { name: NSM_SERVICE_NAMES, value: ${service} }
        - { name: NSM_LABELS, value: "app:${name}" }
        - { name: NSM_CIDR_PREFIX, value: ${cidr} }
`;

const ms = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

async function measure(
  lab: Lab,
  service: string,
  floorUrls: string[],
): Promise<{ latency: number[]; floor: number[]; rate: number }> {
  const idDir = mkdtempSync(join(tmpdir(), 'nsm-bench-id-'));
  await issueIdentity(lab, 'ns/default/pod/bench-nsc', idDir, 3_600_000);
  const identity = await fileIdentity({ dir: idDir });
  const floorClients = new Map<string, MeshClient>();
  for (const url of floorUrls) if (!floorClients.has(url)) floorClients.set(url, await labDial(lab, url));
  const client = createClient({ name: 'bench-nsc', managerUrl: lab.socket('nsmgr-node-1'), identity });
  const ctx = createContext();
  const latency: number[] = [];
  const floor: number[] = [];
  try {
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      // Alternate a connect and a floor sample so machine noise hits both alike.
      let start = process.hrtime.bigint();
      const conn = await client.request({ networkService: service, mechanisms: ['NOOP'] });
      const connect = ms(start);
      await client.close(conn);
      start = process.hrtime.bigint();
      for (const url of floorUrls) await floorClients.get(url)!.health(ctx);
      if (i >= WARMUP) {
        latency.push(connect);
        floor.push(ms(start));
      }
    }
    const until = Date.now() + 5000;
    let done = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          const conn = await client.request({ networkService: service, mechanisms: ['NOOP'] });
          done++;
          await client.close(conn);
        }
      }),
    );
    return { latency, floor, rate: done / 5 };
  } finally {
    await client.shutdown();
    for (const c of floorClients.values()) c.close();
    identity.close();
    rmSync(idDir, { recursive: true, force: true });
  }
}

/** Runs benchmarks 1 and 2 against lab processes. */
export async function controlPlaneLabBench(): Promise<BenchResult> {
  const lab = new Lab(`bcp${process.pid % 10000}`);
  const dir = mkdtempSync(join(tmpdir(), 'nsm-bench-'));
  writeFileSync(join(dir, 'a.yaml'), manifest('bench-local', 'node-1', 'bench-local', '10.90.0.0/16'));
  writeFileSync(join(dir, 'b.yaml'), manifest('bench-remote', 'node-2', 'bench-remote', '10.91.0.0/16'));
  try {
    await up({ paths: [dir], nodes: 2, lab: lab.name, logLevel: 'warn', progress: () => undefined });
    const [m1, f1, m2, f2] = ['nsmgr-node-1', 'forwarder-node-1', 'nsmgr-node-2', 'forwarder-node-2'].map(
      (n) => lab.socket(n),
    );
    const local = await measure(lab, 'bench-local', [m1!, f1!, lab.socket('pod-bench-local'), m1!]);
    const remote = await measure(lab, 'bench-remote', [
      m1!,
      f1!,
      m2!,
      f2!,
      lab.socket('pod-bench-remote'),
      m1!,
    ]);
    return {
      name: 'Control-plane connect, daemons as processes (benchmarks 1 and 2)',
      rows: [...connectRows('local', 4, local), ...connectRows('remote', 6, remote)],
      notes: [
        `${SAMPLES} samples after ${WARMUP} warm-up, connects alternating with floor samples; NOOP mechanism; registry, 2 managers, 2 forwarders and the endpoints are separate processes in the lab; the client is the benchmark process. The remote floor uses the second manager's unix socket, which is faster than the TCP hop the connect takes, so the remote ratio is conservative.`,
      ],
    };
  } finally {
    await down(lab);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await controlPlaneLabBench();
  saveResult('control-plane-lab', result);
  process.stdout.write(toMarkdown(result));
}
