/**
 * The main job end to end, as root: the 4G EPC example brought up with the real `nsm` command on two
 * emulated nodes, every link checked with traffic and the right peer, the negative cases of
 * docs/epc-4g.md, and `nsm down` leaving nothing behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@nsm-ts/sdk';
import { fileIdentity } from '@nsm-ts/sdk/security';
import { Lab } from '@nsm-ts/cli/lab';
import { counts, inventory, leaks } from '../harness/inventory.js';
import { statusJson } from '../harness/lab-probe.js';
import { leftovers } from '../harness/leaks.js';
import { checkJson, nsm, testLabName } from '../harness/nsm-cli.js';
import { isRoot, rootTitle } from '@nsm-ts/sdk/testing';

describe.skipIf(!isRoot)(rootTitle('test/e2e/epc'), () => {
  const lab = testLabName('epc');
  const expected: Record<string, string> = {
    'hss/nsm-0': 'mme',
    'pcrf/nsm-0': 'p-gw-c',
    's-gw-c/nsm-0': 'mme',
    's-gw-c/nsm-1': 'p-gw-c',
    's-gw-c/nsm-2': 's-gw-u',
    'p-gw-u/nsm-0': 'tdf-u',
    'p-gw-u/nsm-1': 's-gw-u',
    'p-gw-u/nsm-2': 'p-gw-c',
    'tdf-c/nsm-0': 'tdf-u',
  };

  beforeAll(async () => {
    const run = await nsm(lab, 'up', 'deploy/examples/4g-epc', '--nodes', '2', '--timeout', '90s');
    expect(run.code, run.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await nsm(lab, 'down');
  }, 60_000);

  describe('4G EPC on the local lab', () => {
    it('passes nsm check with nine links, each to the endpoint its label names, some local and some remote', async () => {
      const result = await checkJson(lab);
      expect(result.links.filter((l) => !l.ok).map((l) => l.problems)).toEqual([]);
      expect(result.ok).toBe(true);
      const peers = Object.fromEntries(
        result.links.map((l) => [`${l.client}/${l.clientInterface}`, l.endpoint]),
      );
      expect(peers).toEqual(expected);
      const where = result.links.map((l) => l.locality);
      expect(where).toContain('local');
      expect(where).toContain('remote');
    }, 60_000);

    it('routes app=s1-mme to mme, and refuses unknown or missing labels naming the service and labels', async () => {
      const state = new Lab(lab).readState()!;
      // A client the lab did not start joins as a user's own NSC would: with an identity from `nsm identity`.
      const dir = mkdtempSync(join(tmpdir(), 'nsm-e2e-probe-'));
      const issued = await nsm(lab, 'identity', 'ns/default/pod/e2e-probe', '--out', dir);
      expect(issued.code, issued.stderr).toBe(0);
      expect(issued.stderr).toContain('issued spiffe://nsm.local/ns/default/pod/e2e-probe');
      const identity = await fileIdentity({ dir });
      const client = createClient({ name: 'e2e-probe', managerUrl: state.nodes[0]!.managerUrl, identity });
      try {
        const conn = await client.request({
          networkService: '4g-network',
          labels: { app: 's1-mme' },
          mechanisms: ['NOOP'],
        });
        expect(conn.network_service_endpoint_name).toBe('mme');
        await client.close(conn);
        await expect(
          client.request({ networkService: '4g-network', labels: { app: 'x2' }, mechanisms: ['NOOP'] }),
        ).rejects.toThrow(/4g-network.*app=x2/);
        await expect(client.request({ networkService: '4g-network', mechanisms: ['NOOP'] })).rejects.toThrow(
          /4g-network/,
        );
      } finally {
        await client.shutdown();
        identity.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 30_000);

    it('stopping mme takes down exactly its two links while the seven others pass; they heal when it returns', async () => {
      const before = inventory(await statusJson(lab));
      expect(before['mme']).toHaveLength(2);
      expect((await nsm(lab, 'stop', 'mme')).code).toBe(0);
      const failing = async (): Promise<string[]> =>
        (await checkJson(lab)).links
          .filter((l) => !l.ok)
          .map((l) => `${l.client}/${l.clientInterface}`)
          .sort();
      await expect.poll(failing, { timeout: 30_000, interval: 500 }).toEqual(['hss/nsm-0', 's-gw-c/nsm-0']);

      expect((await nsm(lab, 'start', 'mme')).code).toBe(0);
      await expect.poll(failing, { timeout: 30_000, interval: 500 }).toEqual([]);
      const result = await checkJson(lab);
      expect(
        Object.fromEntries(result.links.map((l) => [`${l.client}/${l.clientInterface}`, l.endpoint])),
      ).toEqual(expected);
      // Every pod holds again exactly what it held before: mme its two interfaces, not four.
      const after = inventory(await statusJson(lab));
      expect(leaks(after)).toEqual([]);
      expect(counts(after)).toEqual(counts(before));
    }, 90_000);

    it('nsm down leaves no namespace, process or file behind, and is idempotent', async () => {
      expect((await nsm(lab, 'down')).code).toBe(0);
      expect(leftovers(lab)).toEqual({ namespaces: [], processes: [], stateDir: false });
      expect((await nsm(lab, 'down')).code).toBe(0);
    }, 60_000);
  });
});
