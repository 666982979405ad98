import { describe, expect, it } from 'vitest';
import { newRequest } from '../../../api/builders.js';
import type { NetworkServiceRequest } from '../../../api/types.js';
import { element, toHandler } from '../../../core/chain.js';
import { createContext } from '../../../core/context.js';
import { clientInfo } from './clientinfo.js';

async function labelsAfter(
  info: Parameters<typeof clientInfo>[0],
  env: NodeJS.ProcessEnv,
  labels: Record<string, string>,
): Promise<Record<string, string>> {
  let seen: NetworkServiceRequest | undefined;
  const capture = element({ request: (ctx, req, next) => ((seen = req), next.request(ctx, req)) });
  const req = newRequest({ id: 'c1', network_service: 'svc', labels });
  await toHandler([clientInfo(info, env), capture]).request(createContext(), req);
  expect(req.connection?.labels).toEqual(labels); // the caller's request is not mutated
  return seen?.connection?.labels ?? {};
}

describe('clientInfo', () => {
  const env = { NODE_NAME: 'node-1', POD_NAME: 'nsc-1', CLUSTER_NAME: 'cluster-a' };

  it('adds nodeName, podName and clusterName from the environment', async () => {
    expect(await labelsAfter({}, env, { app: 'web' })).toEqual({
      app: 'web',
      nodeName: 'node-1',
      podName: 'nsc-1',
      clusterName: 'cluster-a',
    });
  });

  it('prefers explicit options over the environment', async () => {
    expect(await labelsAfter({ nodeName: 'node-9' }, env, {})).toMatchObject({
      nodeName: 'node-9',
      podName: 'nsc-1',
    });
  });

  it('keeps labels the client set itself', async () => {
    expect(await labelsAfter({}, env, { nodeName: 'elsewhere', podName: '' })).toEqual({
      nodeName: 'elsewhere',
      podName: '',
      clusterName: 'cluster-a',
    });
  });

  it('adds nothing whose value is unknown', async () => {
    expect(await labelsAfter({}, { NODE_NAME: '  ' }, { app: 'x' })).toEqual({ app: 'x' });
    expect(await labelsAfter({ podName: '' }, { POD_NAME: 'p' }, {})).toEqual({ podName: 'p' });
  });
});
