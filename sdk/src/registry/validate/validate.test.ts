import { describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';
import { createContext } from '../../core/context.js';
import { Code } from '../../core/errors.js';
import { toRegistryHandler } from '../../core/registry-chain.js';
import { labelKeyProblem, validateNs, validateNse } from './validate.js';

const ctx = createContext();
const nse = (init: Partial<NetworkServiceEndpoint>): NetworkServiceEndpoint =>
  newEndpoint({ name: 'nse-a', network_service_names: ['vpn'], url: 'unix:///run/a.sock', ...init });
const withLabels = (labels: Record<string, string>): NetworkServiceEndpoint =>
  nse({ network_service_labels: { vpn: { labels } } });
const ns = (init: Partial<NetworkService>): NetworkService => ({
  name: 'vpn',
  payload: 'IP',
  matches: [],
  path_ids: [],
  ...init,
});

describe('validateNse', () => {
  const handler = toRegistryHandler([validateNse()]);
  const rejects = (record: NetworkServiceEndpoint, why: RegExp) =>
    expect(handler.register(ctx, record)).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(why) as string,
    });

  it('accepts a well-formed NSE', async () => {
    const good = withLabels({
      app: 'gw',
      'example.com/tier': 'front',
      nodeName: 'worker-1',
      empty: '',
      ['k'.repeat(63)]: 'v'.repeat(63),
    });
    await expect(handler.register(ctx, good)).resolves.toEqual(good);
  });

  it('rejects an NSE without network services, naming it', async () => {
    await rejects(nse({ network_service_names: [] }), /endpoint "nse-a" lists no network_service_names/);
    await rejects(nse({ network_service_names: ['vpn', ''] }), /network_service_names\[1\] is empty/);
  });

  it('rejects malformed label maps', async () => {
    await rejects(withLabels({ '': 'x' }), /label key is empty/);
    await rejects(withLabels({ ['k'.repeat(64)]: 'x' }), /name part must be 1-63 characters/);
    await rejects(withLabels({ 'bad key': 'x' }), /label key "bad key" is invalid/);
    await rejects(withLabels({ '-app': 'x' }), /"-app" is invalid/);
    await rejects(withLabels({ 'Example.COM/app': 'x' }), /bad prefix/);
    await rejects(withLabels({ '/app': 'x' }), /bad prefix/);
    await rejects(withLabels({ 'a/': 'x' }), /name part/);
    await rejects(
      withLabels({ app: 'v'.repeat(64) }),
      /value of label "app" is 64 characters long, at most 63/,
    );
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'x']));
    await rejects(withLabels(many), /labels for service "vpn": 65 labels, at most 64/);
    await rejects(nse({ network_service_labels: { '': { labels: {} } } }), /empty service name/);
  });

  it('accepts exactly 64 labels', async () => {
    const max = Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`l${i}`, 'x']));
    await expect(handler.register(ctx, withLabels(max))).resolves.toBeDefined();
  });

  it('rejects a malformed URL but allows none', async () => {
    await rejects(nse({ url: 'http://x' }), /endpoint "nse-a": bad URL "http:\/\/x"/);
    await rejects(nse({ url: 'unix://relative.sock' }), /must be absolute/);
    await expect(handler.register(ctx, nse({ url: '' }))).resolves.toBeDefined();
  });
});

describe('validateNs', () => {
  const handler = toRegistryHandler([validateNs()]);

  it('accepts template selector values and rejects bad keys', async () => {
    const good = ns({
      matches: [
        {
          source_selector: { app: 'x' },
          routes: [{ destination_selector: { nodeName: '{{.nodeName}}' }, weight: 0 }],
          fallthrough: false,
          metadata: null,
        },
      ],
    });
    await expect(handler.register(ctx, good)).resolves.toEqual(good);
    const bad = ns({
      matches: [
        {
          source_selector: {},
          routes: [{ destination_selector: { 'no spaces': 'x' }, weight: 0 }],
          fallthrough: false,
          metadata: null,
        },
      ],
    });
    await expect(handler.register(ctx, bad)).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      message: expect.stringMatching(
        /"vpn" matches\[0\]\.routes\[0\]\.destination_selector: label key "no spaces"/,
      ) as string,
    });
  });

  it('rejects a network service without a name', async () => {
    await expect(handler.register(ctx, ns({ name: '' }))).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
    });
  });
});

describe('labelKeyProblem', () => {
  it.each(['a', 'app', 'A.b-c_d', 'networkservicemesh.io/app', 'a1/b'])('accepts %s', (key) =>
    expect(labelKeyProblem(key)).toBeUndefined(),
  );
  it.each(['', 'a b', '.a', 'a.', 'x/y/', 'ä'])('rejects %j', (key) =>
    expect(labelKeyProblem(key)).toBeDefined(),
  );
});
