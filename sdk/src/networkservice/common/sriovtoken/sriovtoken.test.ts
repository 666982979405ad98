import { describe, expect, it } from 'vitest';
import { newMechanism, newRequest } from '../../../api/builders.js';
import type { NetworkServiceRequest } from '../../../api/types.js';
import { toHandler, type NetworkServiceElement } from '../../../core/chain.js';
import { createContext } from '../../../core/context.js';
import { Code, type NsmError } from '../../../core/errors.js';
import { metadata } from '../../../core/metadata.js';
import { sriovTokenClient, sriovTokenEndpoint, tokensFromEnv } from './sriovtoken.js';

const POOL = 'worker.domain/10G';
const env = { [`NSM_SRIOV_TOKENS_${POOL}`]: 'tok-1, tok-2', NSM_SRIOV_TOKENS_other: 'x', PATH: '/bin' };

/** A chain ending in a hop that records what reached it and answers with the first preference. */
function chainWith(el: ReturnType<typeof sriovTokenClient>, side: 'client' | 'server') {
  const seen: NetworkServiceRequest[] = [];
  const handler = toHandler([
    metadata(side),
    el,
    {
      request: (_ctx, req) => {
        seen.push(req);
        return Promise.resolve({
          ...req.connection!,
          mechanism: req.connection!.mechanism ?? req.mechanism_preferences[0]!,
        });
      },
      close: () => Promise.resolve(),
    },
  ]);
  return { handler, seen };
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as NsmError,
  );

describe('SR-IOV tokens', () => {
  it('reads NSM_SRIOV_TOKENS_<pool> variables', () => {
    expect(tokensFromEnv(env)).toEqual(
      new Map([
        [POOL, ['tok-1', 'tok-2']],
        ['other', ['x']],
      ]),
    );
  });

  it('a client request labelled sriovToken gets a token per connection and serviceDomain in place of the label', async () => {
    const { handler, seen } = chainWith(sriovTokenClient(env), 'client');
    const ctx = createContext();
    const ask = (id: string) =>
      newRequest({ id, network_service: 's', labels: { sriovToken: POOL, app: 'a' } }, [
        newMechanism('KERNEL', 'LOCAL'),
      ]);
    const a = await handler.request(ctx, ask('a'));
    const b = await handler.request(ctx, ask('b'));
    expect(seen.map((r) => r.mechanism_preferences[0]!.parameters['tokenID'])).toEqual(['tok-1', 'tok-2']);
    expect(seen[0]!.connection!.labels).toEqual({
      sriovToken: POOL,
      serviceDomain: 'worker.domain',
      app: 'a',
    });
    // A refresh (labels as answered, no sriovToken) keeps the token; a third connection finds none free.
    await handler.request(ctx, { connection: a, mechanism_preferences: [] });
    expect(seen[2]!.connection!.mechanism!.parameters['tokenID']).toBe('tok-1');
    const third = await rejection(handler.request(ctx, ask('c')));
    expect(third?.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect(third?.message).toContain(`every SR-IOV token of pool "${POOL}" this pod holds (2) is in use`);
    // Closing gives the token back.
    await handler.close(ctx, b);
    await handler.request(ctx, ask('c'));
    expect(seen.at(-1)!.mechanism_preferences[0]!.parameters['tokenID']).toBe('tok-2');
  });

  it('a reselect that closes and asks again with the connection as answered gets a token of the same pool', async () => {
    const seen: NetworkServiceRequest[] = [];
    // Stands where heal is, below the metadata element: a reselect closes the connection down the
    // chain and requests it again as it was answered (labels without sriovToken).
    const reselect: NetworkServiceElement = {
      async request(ctx, req, next) {
        const first = await next.request(ctx, req);
        await next.close(ctx, first);
        return next.request(ctx, {
          connection: first,
          mechanism_preferences: [newMechanism('KERNEL', 'LOCAL')],
        });
      },
      close: (ctx, conn, next) => next.close(ctx, conn),
    };
    const handler = toHandler([
      metadata('client'),
      reselect,
      sriovTokenClient(env),
      {
        request: (_ctx, req) => {
          seen.push(req);
          return Promise.resolve({ ...req.connection!, mechanism: req.mechanism_preferences[0]! });
        },
        close: () => Promise.resolve(),
      },
    ]);
    const req = newRequest({ id: 'h', labels: { sriovToken: POOL } }, [newMechanism('KERNEL', 'LOCAL')]);
    await handler.request(createContext(), req);
    expect(seen.map((r) => r.mechanism_preferences[0]!.parameters['tokenID'])).toEqual(['tok-1', 'tok-1']);
    expect(seen[1]!.connection!.labels).toEqual({ sriovToken: POOL, serviceDomain: 'worker.domain' });
  });

  it('labels vlan-id and mac become parameters of every mechanism offered; bad ones are refused', async () => {
    const { handler, seen } = chainWith(sriovTokenClient(env), 'client');
    const ask = (labels: Record<string, string>) =>
      newRequest({ id: 'v', labels: { sriovToken: POOL, ...labels } }, [
        newMechanism('KERNEL', 'LOCAL'),
        newMechanism('KERNEL', 'LOCAL', { name: 'x' }),
      ]);
    await handler.request(createContext(), ask({ 'vlan-id': '0100', mac: '02:AA:00:00:00:01' }));
    for (const m of seen[0]!.mechanism_preferences)
      expect(m.parameters).toMatchObject({ tokenID: 'tok-1', 'vlan-id': '100', mac: '02:aa:00:00:00:01' });
    expect(seen[0]!.connection!.labels['vlan-id']).toBe('0100');
    for (const [labels, text] of [
      [{ 'vlan-id': '4095' }, 'label vlan-id is "4095"; expected a VLAN id 1..4094'],
      [{ 'vlan-id': 'ten' }, 'label vlan-id is "ten"'],
      [{ mac: '01:00:5e:00:00:01' }, 'expected a unicast MAC address'],
      [{ mac: '02:00:00:00:01' }, 'label mac is "02:00:00:00:01"'],
    ] as const) {
      const err = await rejection(handler.request(createContext(), ask(labels)));
      expect(err?.code).toBe(Code.INVALID_ARGUMENT);
      expect(err?.message).toContain(text);
    }
  });

  it('names the variable a pod without tokens of the pool lacks', async () => {
    const { handler } = chainWith(sriovTokenClient({}), 'client');
    const req = newRequest({ id: 'a', labels: { sriovToken: POOL } }, [newMechanism('KERNEL', 'LOCAL')]);
    const err = await rejection(handler.request(createContext(), req));
    expect(err?.code).toBe(Code.FAILED_PRECONDITION);
    expect(err?.message).toContain(
      `expected NSM_SRIOV_TOKENS_${POOL} from the device plugin (resources.limits ${POOL}: 1)`,
    );
  });

  it('leaves requests without the label alone', async () => {
    const { handler, seen } = chainWith(sriovTokenClient(env), 'client');
    await handler.request(
      createContext(),
      newRequest({ id: 'a', labels: { app: 'a' } }, [newMechanism('KERNEL', 'LOCAL')]),
    );
    expect(seen[0]!.mechanism_preferences[0]!.parameters).toEqual({});
  });

  it('an endpoint puts a token of its pool on a KERNEL mechanism without one', async () => {
    const { handler, seen } = chainWith(sriovTokenEndpoint(POOL, env), 'server');
    const ctx = createContext();
    const conn = (id: string, params: Record<string, string> = {}): NetworkServiceRequest => ({
      connection: {
        ...newRequest({ id }).connection!,
        mechanism: newMechanism('KERNEL', 'LOCAL', params),
      },
      mechanism_preferences: [],
    });
    await handler.request(ctx, conn('a'));
    await handler.request(ctx, conn('b', { tokenID: 'given' }));
    expect(seen.map((r) => r.connection!.mechanism!.parameters['tokenID'])).toEqual(['tok-1', 'given']);
  });
});
