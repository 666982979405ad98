import { throwError } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { newConnection, newRequest, toTimestamp } from '../../../api/builders.js';
import type { Connection, NetworkServiceEndpoint, NetworkServiceRequest } from '../../../api/types.js';
import { element, toHandler } from '../../../core/chain.js';
import { FakeClock } from '../../../core/clock.js';
import { createContext } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { registryElement, toRegistryHandler, type NseHandler } from '../../../core/registry-chain.js';
import { candidatesOf, type Candidates } from './candidates.js';
import { discoverCandidates } from './discover.js';
import { endpoint, fakeNseRegistry, fakeNsRegistry, match, networkService } from './testing.js';

const clock = new FakeClock();
const ctx = createContext({ clock });

/** discoverCandidates followed by a sink that records what it saw. */
function setup(
  nses: NetworkServiceEndpoint[],
  services = [networkService('svc', [], 'ETHERNET')],
  nse?: NseHandler,
) {
  const seen: { candidates: Candidates | undefined; req?: NetworkServiceRequest; closed?: Connection }[] = [];
  const sink = element({
    request: (c, req, next) => (seen.push({ candidates: candidatesOf(c), req }), next.request(c, req)),
    close: (c, conn, next) => (seen.push({ candidates: candidatesOf(c), closed: conn }), next.close(c, conn)),
  });
  const handler = toHandler([
    discoverCandidates({ nse: nse ?? fakeNseRegistry(nses), ns: fakeNsRegistry(services) }),
    sink,
  ]);
  return { handler, seen };
}

const names = (c: Candidates | undefined): string[] => c?.endpoints.map((e) => e.nse.name) ?? [];

describe('discoverCandidates', () => {
  afterEach(() => expect(clock.pending).toBe(0));

  it('hands the matching endpoints and the service to the next element', async () => {
    const { handler, seen } = setup([
      endpoint('nse-1', ['svc']),
      endpoint('nse-2', ['svc']),
      endpoint('x', ['other']),
    ]);
    await handler.request(ctx, newRequest({ id: 'c1', network_service: 'svc' }));
    expect(names(seen[0]?.candidates)).toEqual(['nse-1', 'nse-2']);
    expect(seen[0]?.candidates?.networkService?.name).toBe('svc');
  });

  it('fills an empty payload from the service and keeps a given one', async () => {
    const { handler, seen } = setup([endpoint('nse-1', ['svc'])]);
    const req = newRequest({ id: 'c1', network_service: 'svc' });
    await handler.request(ctx, req);
    expect(seen[0]?.req?.connection?.payload).toBe('ETHERNET');
    expect(req.connection?.payload).toBe('');
    await handler.request(ctx, newRequest({ id: 'c2', network_service: 'svc', payload: 'IP' }));
    expect(seen[1]?.req?.connection?.payload).toBe('IP');
  });

  it('fails with NOT_FOUND for an unknown service, exact names only', async () => {
    const { handler } = setup([endpoint('nse-1', ['svc-long'])], [networkService('svc-long')]);
    await expect(
      handler.request(ctx, newRequest({ id: 'c1', network_service: 'svc' })),
    ).rejects.toMatchObject({
      code: Code.NOT_FOUND,
      message: 'network service "svc" is not found',
    });
  });

  it('drops expired registrations', async () => {
    const now = clock.now();
    const nses = [
      endpoint('old', ['svc'], {}, { expiration_time: toTimestamp(now - 1) }),
      endpoint('live', ['svc'], {}, { expiration_time: toTimestamp(now + 60_000) }),
      endpoint('forever', ['svc']),
    ];
    const { handler, seen } = setup(nses);
    await handler.request(ctx, newRequest({ id: 'c1', network_service: 'svc' }));
    expect(names(seen[0]?.candidates)).toEqual(['live', 'forever']);

    const onlyOld = setup([nses[0]!]);
    await expect(
      onlyOld.handler.request(ctx, newRequest({ id: 'c2', network_service: 'svc' })),
    ).rejects.toThrow(
      /no endpoint of network service "svc" matches labels \{\}: no endpoint is registered \(1 expired/,
    );
  });

  it('fails with NOT_FOUND naming the service, labels and selectors when nothing matches', async () => {
    const services = [networkService('svc', [match({ app: 'a' }, [{ app: 'b' }])])];
    const { handler, seen } = setup([endpoint('nse-1', ['svc'], { app: 'c' })], services);
    const failed = handler.request(
      ctx,
      newRequest({ id: 'c1', network_service: 'svc', labels: { app: 'a' } }),
    );
    await expect(failed).rejects.toMatchObject({
      code: Code.NOT_FOUND,
      message:
        'no endpoint of network service "svc" matches labels {app=a}: tried matches [app=a → app=b (source matched, ' +
        'no endpoint)]; endpoints: nse-1 {app=c}',
    });
    expect(seen).toEqual([]);
  });

  it('uses the endpoint the connection names as the only candidate, whatever the matches say', async () => {
    const services = [networkService('svc', [match({ app: 'a' }, [{ app: 'b' }])])];
    const { handler, seen } = setup(
      [endpoint('nse-1', ['svc'], { app: 'b' }), endpoint('nse-10', ['svc'])],
      services,
    );
    await handler.request(
      ctx,
      newRequest({ id: 'c1', network_service: 'svc', network_service_endpoint_name: 'nse-1' }),
    );
    expect(names(seen[0]?.candidates)).toEqual(['nse-1']);
    expect(seen[0]?.req?.connection?.payload).toBe('IP');
  });

  it('fails with NOT_FOUND when the named endpoint is missing or expired', async () => {
    const expired = endpoint('gone', ['svc'], {}, { expiration_time: toTimestamp(clock.now() - 1000) });
    const { handler } = setup([expired, endpoint('nse-10', ['svc'])]);
    await expect(
      handler.request(
        ctx,
        newRequest({ id: 'c1', network_service: 'svc', network_service_endpoint_name: 'nse-1' }),
      ),
    ).rejects.toMatchObject({
      code: Code.NOT_FOUND,
      message:
        'network service endpoint "nse-1" requested for network service "svc" is not found: it is not registered',
    });
    await expect(
      handler.request(
        ctx,
        newRequest({ id: 'c1', network_service: 'svc', network_service_endpoint_name: 'gone' }),
      ),
    ).rejects.toThrow(/"gone" .* its registration expired/);
  });

  it('passes registry failures on, saying what was looked up', async () => {
    const failing: NseHandler = toRegistryHandler([
      registryElement({ find: () => throwError(() => new NsmError(Code.UNAVAILABLE, 'registry down')) }),
    ]);
    const { handler } = setup([], undefined, failing);
    await expect(
      handler.request(ctx, newRequest({ id: 'c1', network_service: 'svc' })),
    ).rejects.toMatchObject({
      code: Code.UNAVAILABLE,
      message: 'registry lookup of endpoints of ["svc"] failed: registry down',
    });
  });

  it('on close, hands on the named endpoint (even expired) and always continues', async () => {
    const expired = endpoint('nse-1', ['svc'], {}, { expiration_time: toTimestamp(clock.now() - 1000) });
    const { handler, seen } = setup([expired]);
    await handler.close(
      ctx,
      newConnection({ id: 'c1', network_service: 'svc', network_service_endpoint_name: 'nse-1' }),
    );
    await handler.close(
      ctx,
      newConnection({ id: 'c2', network_service: 'svc', network_service_endpoint_name: 'nse-2' }),
    );
    await handler.close(ctx, newConnection({ id: 'c3', network_service: 'svc' }));
    expect(seen.map((s) => [s.closed?.id, names(s.candidates)])).toEqual([
      ['c1', ['nse-1']],
      ['c2', []],
      ['c3', []],
    ]);
  });

  it('rejects a request without a connection', async () => {
    const { handler } = setup([]);
    await expect(handler.request(ctx, { connection: null, mechanism_preferences: [] })).rejects.toMatchObject(
      {
        code: Code.INVALID_ARGUMENT,
      },
    );
  });
});
