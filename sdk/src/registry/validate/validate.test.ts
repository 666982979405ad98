import { describe, expect, it } from 'vitest';
import { newEndpoint } from '../../api/builders.js';
import type { NetworkService, NetworkServiceEndpoint } from '../../api/types.js';
import { createContext } from '../../core/context.js';
import { Code } from '../../core/errors.js';
import { toRegistryHandler } from '../../core/registry-chain.js';
import { labelKeyProblem, validateKubernetesLabels } from '../../tools/labels.js';
import { validateNs, validateNse } from './validate.js';

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

  it('stores any label strings, as upstream does, and refuses an empty service key', async () => {
    const odd = withLabels({ greeting: 'hello world', 'bad key': 'x', '': '', app: 'v'.repeat(64) });
    await expect(handler.register(ctx, odd)).resolves.toEqual(odd);
    await rejects(nse({ network_service_labels: { '': { labels: {} } } }), /empty service name/);
  });

  it('accepts more than 64 labels', async () => {
    const max = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`l${i}`, 'x']));
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

  it('stores selectors as they come: template values and keys the YAML rules would refuse', async () => {
    const sel = ns({
      matches: [
        {
          source_selector: { app: 'x' },
          routes: [{ destination_selector: { nodeName: '{{.nodeName}}', 'no spaces': 'x' }, weight: 0 }],
          fallthrough: false,
          metadata: null,
        },
      ],
    });
    await expect(handler.register(ctx, sel)).resolves.toEqual(sel);
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

describe('validateKubernetesLabels (YAML)', () => {
  const refuses = (labels: Record<string, string>, why: RegExp) =>
    expect(() => validateKubernetesLabels('labels', labels)).toThrow(why);

  it('accepts Kubernetes labels', () => {
    validateKubernetesLabels('labels', {
      app: 'gw',
      'example.com/tier': 'front',
      empty: '',
      ['k'.repeat(63)]: 'v'.repeat(63),
    });
  });

  it('refuses what Kubernetes refuses, naming the key or value and the rule', () => {
    refuses({ ['a'.repeat(64)]: 'v' }, /invalid key "a{64}" \(64 characters\): expected \[prefix\/\]name/);
    refuses({ [`${'a'.repeat(252)}/b`]: 'v' }, /invalid key .*\(254 characters\)/);
    refuses({ 'a b': 'v' }, /invalid key "a b"/);
    refuses({ 'app-': 'v' }, /invalid key "app-"/);
    refuses({ 'Bad_Prefix/app': 'v' }, /invalid key "Bad_Prefix\/app"/);
    refuses({ 'a/b/c': 'v' }, /invalid key "a\/b\/c"/);
    refuses(
      { app: 'v'.repeat(64) },
      /labels\["app"\] has an invalid value "v+" \(64 characters\): expected at most 63/,
    );
    refuses({ app: 'hello world' }, /invalid value "hello world"/);
    refuses(
      Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])),
      /65 entries: at most 64/,
    );
  });
});
