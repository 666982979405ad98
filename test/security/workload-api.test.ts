/**
 * SPIRE is optional: with SPIFFE_ENDPOINT_SOCKET, identities come from the SPIFFE Workload API and follow
 * its rotations. No SPIRE agent runs here; a stand-in serving the same API from the mesh CA does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '@nsm-ts/sdk/core';
import { workloadApiIdentity, workloadApiTarget } from '@nsm-ts/sdk/grpc';
import { MeshPki } from '../../bench/src/mesh/pki.js';
import { startWorkloadApi, type WorkloadApiServer } from '../harness/workload-api.js';

const dir = mkdtempSync(join(tmpdir(), 'nsm-wlapi-'));
let pki: MeshPki;
let agent: WorkloadApiServer;
const id = 'spiffe://nsm.test/nsmgr/node-1';

beforeAll(async () => {
  pki = await MeshPki.create();
  agent = await startWorkloadApi(pki, id, join(dir, 'agent.sock'));
});

afterAll(async () => {
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('identity from the SPIFFE Workload API', () => {
  it('takes the first SVID and its bundle, and follows rotations and broken streams', async () => {
    const identity = await workloadApiIdentity({ address: agent.address });
    try {
      expect(identity.id).toBe(id);
      expect(identity.bundle()[0]!.subject).toBe(pki.ca.certificate.subject);
      const first = identity.svid().chain[0]!.serialNumber;
      let changed = new Promise<void>((resolve) => identity.onChange(resolve));
      await agent.rotate();
      await changed;
      const second = identity.svid().chain[0]!.serialNumber;
      expect(second).not.toBe(first);
      // The agent restarts: the stream is opened again and the next rotation still arrives.
      agent.breakStreams();
      changed = new Promise<void>((resolve) => identity.onChange(resolve));
      await changed; // opened again: the agent sends the current SVID at once
      expect(identity.svid().chain[0]!.serialNumber).toBe(second);
      await agent.rotate();
      await expect.poll(() => identity.svid().chain[0]!.serialNumber).not.toBe(second);
      expect(agent.refused).toBe(0);
    } finally {
      identity.close();
    }
  });

  it('says where it waited when no agent answers, and refuses a malformed address', async () => {
    await expect(
      workloadApiIdentity({ address: `unix://${join(dir, 'nobody.sock')}`, timeoutMs: 300 }),
    ).rejects.toMatchObject({
      code: Code.UNAVAILABLE,
      message: expect.stringMatching(
        /no X\.509-SVID from the SPIFFE Workload API at unix:\/\/.*nobody\.sock within 300 ms/,
      ) as string,
    });
    expect(workloadApiTarget('unix:/run/spire/agent.sock')).toBe('unix:///run/spire/agent.sock');
    expect(workloadApiTarget('tcp://127.0.0.1:8081')).toBe('127.0.0.1:8081');
    expect(() => workloadApiTarget('http://agent')).toThrow(
      /SPIFFE Workload API address "http:\/\/agent" is not usable: expected unix:\/\/\/absolute\/path.sock or tcp:\/\/<ip>:<port>/,
    );
  });
});
