/**
 * The memif examples end to end, as root, with the built `nsm` command: memif2memif (one client on
 * the endpoint's node, whose memif shares the endpoint's region, one on the other node over VXLAN),
 * memif2kernel (a memif client, a kernel endpoint, through the forwarder's packet loop) and
 * kernel2memif (a kernel client, a memif endpoint on the other node). Each: up → `nsm check` passes
 * with traffic both ways → `nsm status --json` names each memif's socket and namespace → a forwarder
 * killed with SIGKILL is restarted and its memif wires come back under the same connections →
 * `nsm down` leaves no namespace, process or state behind.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusJson, type StatusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, checkProblems, nsm, testLabName } from '../harness/nsm-cli.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

interface Example {
  dir: string;
  prefix: string;
  /** client → [mechanism, locality, which sides are memif]. */
  links: Record<
    string,
    { mechanism: string; locality: 'local' | 'remote'; memif: ('client' | 'endpoint')[] }
  >;
  /** The forwarder killed in the restart test: the one that runs the memif's loop or relay. */
  forwarder: string;
}

const examples: Example[] = [
  {
    dir: 'deploy/examples/memif2memif',
    prefix: 'ex-m2m',
    links: {
      'nsc-memif': { mechanism: 'MEMIF', locality: 'local', memif: ['client', 'endpoint'] },
      'nsc-memif-remote': { mechanism: 'MEMIF', locality: 'remote', memif: ['client', 'endpoint'] },
    },
    forwarder: 'forwarder-node-1',
  },
  {
    dir: 'deploy/examples/memif2kernel',
    prefix: 'ex-m2k',
    links: { 'nsc-memif2kernel': { mechanism: 'MEMIF', locality: 'local', memif: ['client'] } },
    forwarder: 'forwarder-node-1',
  },
  {
    dir: 'deploy/examples/kernel2memif',
    prefix: 'ex-k2m',
    links: { 'nsc-kernel2memif': { mechanism: 'KERNEL', locality: 'remote', memif: ['endpoint'] } },
    forwarder: 'forwarder-node-2',
  },
];

describe.skipIf(!isRoot)(rootTitle('test/e2e/memif'), () => {
  const nothingLeft = { namespaces: [], processes: [], stateDir: false };

  for (const ex of examples) {
    describe(ex.dir, () => {
      const lab = testLabName(ex.prefix);
      let status: StatusJson;

      beforeAll(async () => {
        const run = await nsm(lab, 'up', ex.dir, '--timeout', '60s');
        expect(run.code, run.stderr).toBe(0);
        status = await statusJson(lab);
      }, 90_000);

      afterAll(async () => {
        await nsm(lab, 'down');
        expect(leftovers(lab)).toEqual(nothingLeft);
      }, 60_000);

      it('passes nsm check on every link, with traffic both ways', async () => {
        const result = await checkJson(lab);
        expect(result.links.map((l) => l.problems)).toEqual(Object.keys(ex.links).map(() => []));
        for (const [client, want] of Object.entries(ex.links)) {
          const link = status.links.find((l) => l.client === client)!;
          expect(link, client).toMatchObject({
            mechanism: want.mechanism,
            locality: want.locality,
            state: 'UP',
          });
          const row = result.links.find((l) => l.client === client)!;
          expect(row).toMatchObject({ forward: true, reverse: true, peer: true, ok: true });
        }
      }, 60_000);

      it('nsm status --json names each memif: its socket in a namespace that exists, up, answered', async () => {
        const now = await statusJson(lab);
        for (const [client, want] of Object.entries(ex.links)) {
          const link = now.links.find((l) => l.client === client)!;
          const sides = { client: link.clientMemif, endpoint: link.endpointMemif };
          for (const side of ['client', 'endpoint'] as const) {
            const memif = sides[side];
            if (!want.memif.includes(side)) {
              expect(memif, `${client} ${side}`).toBeUndefined();
              continue;
            }
            expect(memif, `${client} ${side}`).toMatchObject({
              role: side === 'client' ? 'client' : 'server',
              up: true,
            });
            expect(memif!.socket).toMatch(/^@/);
            expect(existsSync(`/run/netns/${memif!.netns}`), memif!.netns).toBe(true);
            expect(memif!.probe.answered).toBeGreaterThan(0);
          }
          if (want.memif.includes('client'))
            expect(link.clientMemif!.socket).toMatch(/^@\/tmp\/memif\/[0-9a-f-]{36}\/memif\.socket$/);
        }
      }, 30_000);

      it(`${ex.forwarder} killed with SIGKILL: restarted, and every memif link passes again under the same connection`, async () => {
        const before = await statusJson(lab);
        const forwarder = before.components.find((c) => c.name === ex.forwarder)!;
        process.kill(forwarder.pid!, 'SIGKILL');
        await expect
          .poll(async () => (await statusJson(lab)).components.find((c) => c.name === ex.forwarder), {
            timeout: 15_000,
          })
          .toMatchObject({ state: 'running', restarts: forwarder.restarts + 1 });
        await expect.poll(() => checkProblems(lab), { timeout: 40_000, interval: 500 }).toEqual([]);
        const after = await statusJson(lab);
        expect(after.links.map((l) => l.id).sort()).toEqual(before.links.map((l) => l.id).sort());
      }, 90_000);

      it('nsm down leaves no namespace or process (and so no memif socket, region or thread), no state', async () => {
        const run = await nsm(lab, 'down');
        expect(run.code, run.stderr).toBe(0);
        // The memif regions, eventfds, threads and abstract sockets live in the lab's processes and
        // namespaces: none of them is left.
        expect(leftovers(lab)).toEqual(nothingLeft);
      }, 60_000);
    });
  }
});
