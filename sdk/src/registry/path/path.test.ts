import { describe, expect, it } from 'vitest';
import { createContext, withValue } from '../../core/context.js';
import { kIncomingMetadata, kOutgoingMetadata } from '../../grpc/call-metadata.js';
import {
  formatRegistryPath,
  incomingRegistryPath,
  parseRegistryPath,
  registryPathOf,
  withRegistryPath,
} from './path.js';

describe('registry path (upstream JSON)', () => {
  it('reads what upstream sends, keys in any case, and writes it back', () => {
    const upstream = '{"Index":1,"PathSegments":[{"token":"a"},{"token":"b"}]}';
    expect(parseRegistryPath(upstream)).toEqual({ index: 1, segments: [{ token: 'a' }, { token: 'b' }] });
    expect(
      parseRegistryPath(
        '{"index":0,"path_segments":[{"Token":"x"}]}'.replace('path_segments', 'pathSegments'),
      ),
    ).toEqual({
      index: 0,
      segments: [{ token: 'x' }],
    });
    expect(parseRegistryPath('{"Index":0,"PathSegments":null}')).toEqual({ index: 0, segments: [] });
    expect(formatRegistryPath(parseRegistryPath(upstream))).toBe(upstream);
  });

  it.each([
    ['{not json', /is not JSON: expected JSON \{"Index"/],
    ['[]', /is not an object/],
    ['{"Index":-1}', /Index -1 is not a non-negative integer/],
    ['{"Index":"1"}', /Index "1" is not a non-negative integer/],
    ['{"PathSegments":{}}', /PathSegments is not a list/],
    ['{"PathSegments":[{"token":5}]}', /segment 0 has a token that is not a string/],
  ])('refuses %s with INVALID_ARGUMENT', (text, why) => {
    expect(() => parseRegistryPath(text)).toThrow(why);
  });

  it('is empty when a call carries none, and travels on to the next hop', () => {
    const ctx = createContext();
    expect(incomingRegistryPath(ctx)).toEqual({ index: 0, segments: [] });
    const path = { index: 1, segments: [{ token: 'a' }, { token: 'b' }] };
    const hop = withRegistryPath(withValue(ctx, kIncomingMetadata, { path: '{}' }), path);
    expect(registryPathOf(hop)).toEqual(path);
    expect(hop.value(kOutgoingMetadata)['path']).toBe(formatRegistryPath(path));
  });
});
