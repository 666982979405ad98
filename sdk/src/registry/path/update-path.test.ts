import { describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import type { NetworkServiceEndpoint } from '../../api/types.js';
import { createContext, withValue, type Context } from '../../core/context.js';
import { registryElement, toRegistryHandler, type NseElement } from '../../core/registry-chain.js';
import { kIncomingMetadata } from '../../grpc/call-metadata.js';
import { decodeJwt } from '../../security/jwt.js';
import { jwtTokenGenerator } from '../../security/tokens.js';
import { registryPathOf, type RegistryPath } from './path.js';
import { registryUpdatePath } from './update-path.js';

const nse = (): NetworkServiceEndpoint => newEndpoint({ name: 'a', network_service_names: ['vpn'] });

/** Runs the element with a caller token and incoming path; returns the path and record the next element got. */
async function hop(
  name: string,
  callerToken: string | undefined,
  incoming: RegistryPath | undefined,
  record = nse(),
): Promise<{ path: RegistryPath; record: NetworkServiceEndpoint }> {
  let seen: { path: RegistryPath; record: NetworkServiceEndpoint } | undefined;
  const tail: NseElement = registryElement({
    register: (c: Context, r) => {
      seen = { path: registryPathOf(c)!, record: r };
      return Promise.resolve(r);
    },
  });
  const md: Record<string, string> = {};
  if (callerToken) md['nsm-client-token'] = callerToken;
  if (incoming) md['path'] = JSON.stringify({ Index: incoming.index, PathSegments: incoming.segments });
  await toRegistryHandler([registryUpdatePath(jwtTokenGenerator({ name })), tail]).register(
    withValue(createContext(), kIncomingMetadata, md),
    record,
  );
  return seen!;
}

describe('registryUpdatePath', () => {
  it("starts a path with the caller's token and its own, as upstream, and names both in path_ids", async () => {
    const caller = (await jwtTokenGenerator({ name: 'nse-a' })(createContext())).token;
    const { path, record } = await hop('nsmgr-1', caller, undefined);
    expect(path.index).toBe(1);
    expect(path.segments[0]!.token).toBe(caller);
    expect(decodeJwt(path.segments[1]!.token).claims.sub).toBe('nsmgr-1');
    expect(record.path_ids).toEqual(['nse-a', 'nsmgr-1']);
  });

  it('continues a path: the previous hop gets its per-call token, this hop is appended or refreshed', async () => {
    const nseToken = (await jwtTokenGenerator({ name: 'nse-a' })(createContext())).token;
    const mgrOwn = (await jwtTokenGenerator({ name: 'nsmgr-1' })(createContext())).token;
    const mgrCall = (await jwtTokenGenerator({ name: 'nsmgr-1' })(createContext(), { id: 'registry' })).token;
    const incoming = { index: 1, segments: [{ token: nseToken }, { token: mgrOwn }] };
    const first = await hop('registry', mgrCall, incoming, { ...nse(), path_ids: ['nse-a', 'nsmgr-1'] });
    expect(first.path.index).toBe(2);
    expect(first.path.segments.map((s) => decodeJwt(s.token).claims.sub)).toEqual([
      'nse-a',
      'nsmgr-1',
      'registry',
    ]);
    expect(first.path.segments[1]!.token).toBe(mgrCall);
    expect(first.record.path_ids).toEqual(['nse-a', 'nsmgr-1', 'registry']);
    const again = await hop('registry', mgrCall, { index: 1, segments: first.path.segments }, first.record);
    expect(again.path.segments).toHaveLength(3);
    expect(again.record.path_ids).toEqual(['nse-a', 'nsmgr-1', 'registry']);
  });

  it('refuses an index beyond the path with INVALID_ARGUMENT', async () => {
    await expect(hop('registry', undefined, { index: 3, segments: [{ token: '' }] })).rejects.toThrow(
      /registry path Index 3 is out of range for 1 segments/,
    );
  });
});
