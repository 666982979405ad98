import { describe, expect, it } from 'vitest';
import { newMechanism, newRequest } from '../../../api/builders.js';
import type { NetworkServiceRequest } from '../../../api/types.js';
import { element, toHandler } from '../../../core/chain.js';
import { createContext } from '../../../core/context.js';
import { Code } from '../../../core/errors.js';
import { validateRequest } from './validate.js';
import { rejectionOf } from '../../../testing/errors.js';

const ctx = createContext();

function valid(): NetworkServiceRequest {
  return newRequest(
    {
      id: 'c1',
      network_service: 'secure-intranet',
      labels: { app: 'firewall', 'networkservicemesh.io/role': 'gw', empty: '' },
      path: { index: 1, path_segments: [seg('nsc'), seg('nsmgr')] },
    },
    [newMechanism('KERNEL', 'LOCAL', { name: 'nsm-1' }), newMechanism('VXLAN', 'REMOTE')],
  );
}

function seg(name: string): {
  name: string;
  id: string;
  token: string;
  expires: null;
  metrics: Record<string, string>;
} {
  return { name, id: name, token: '', expires: null, metrics: {} };
}

function setup(): {
  handler: ReturnType<typeof toHandler>;
  calls: string[];
} {
  const calls: string[] = [];
  const probe = element({
    request: (c, req, next) => {
      calls.push('request');
      return next.request(c, req);
    },
    close: (c, conn, next) => {
      calls.push('close');
      return next.close(c, conn);
    },
  });
  return { handler: toHandler([validateRequest(), probe]), calls };
}

const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));

const cases: [string, (req: NetworkServiceRequest) => void, RegExp][] = [
  [
    'missing connection',
    (r) => (r.connection = null),
    /^request\.connection is missing: expected a Connection$/,
  ],
  [
    'empty network service',
    (r) => (r.connection!.network_service = ''),
    /connection\.network_service is empty: expected the name/,
  ],
  [
    'labels not a map',
    (r) => (r.connection!.labels = ['a'] as never),
    /connection\.labels is an array: expected a map of strings/,
  ],
  ['labels null', (r) => (r.connection!.labels = null as never), /connection\.labels is null/],
  [
    'non-string value',
    (r) => (r.connection!.labels = { a: 1 as never }),
    /connection\.labels\["a"\] is a number: expected a string/,
  ],
  [
    'path index out of range',
    (r) => (r.connection!.path!.index = 2),
    /connection\.path\.index 2 is out of range: the path has 2 segments \(expected 0\.\.1\)/,
  ],
  [
    'index on empty path',
    (r) => (r.connection!.path = { index: 1, path_segments: [] }),
    /index 1 is out of range: the path has 0 segments \(expected 0 for an empty path\)/,
  ],
  [
    'preference without type',
    (r) => (r.mechanism_preferences[1]!.type = ''),
    /^mechanism_preferences\[1\]\.type is empty: expected a mechanism type such as KERNEL/,
  ],
  [
    'null preference',
    (r) => (r.mechanism_preferences[0] = null as never),
    /mechanism_preferences\[0\]\.type is empty/,
  ],
  [
    'non-string parameter',
    (r) => (r.mechanism_preferences[1]!.parameters = { vni: 5 as never }),
    /mechanism_preferences\[1\]\.parameters\["vni"\] is a number/,
  ],
  [
    'interface name too long',
    (r) => (r.mechanism_preferences[0]!.parameters['name'] = 'a-very-long-ifname'),
    /mechanism_preferences\[0\]\.parameters\.name "a-very-long-ifname" is 18 bytes long: expected 1\.\.15 bytes/,
  ],
  [
    'interface name with slash',
    (r) => (r.connection!.mechanism = newMechanism('KERNEL', 'LOCAL', { name: 'a/b' })),
    /connection\.mechanism\.parameters\.name "a\/b" is not a valid interface name/,
  ],
];

describe('validateRequest', () => {
  it('passes a valid request on unchanged', async () => {
    const { handler, calls } = setup();
    const conn = await handler.request(ctx, valid());
    expect(conn.network_service).toBe('secure-intranet');
    expect(calls).toEqual(['request']);
    // A first request from a client: no path yet.
    await handler.request(ctx, newRequest({ network_service: 'svc' }));
  });

  it.each(cases)('refuses %s with INVALID_ARGUMENT naming the field', async (_name, spoil, message) => {
    const { handler, calls } = setup();
    const req = valid();
    spoil(req);
    const err = await rejectionOf(handler.request(ctx, req));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(message);
    expect(calls).toEqual([]);
  });

  it('accepts any map of strings as labels, as upstream does (the Kubernetes rules are for YAML)', async () => {
    const { handler, calls } = setup();
    const req = valid();
    req.connection!.labels = {
      ...many,
      greeting: 'hello world',
      'a b/c': '{{.nodeName}}',
      ['k'.repeat(300)]: 'v'.repeat(1000),
      '': '',
    };
    const conn = await handler.request(ctx, req);
    expect(conn.labels['greeting']).toBe('hello world');
    expect(calls).toEqual(['request']);
  });

  it('lets every close through', async () => {
    const { handler, calls } = setup();
    const req = valid();
    req.connection!.labels = many;
    await handler.close(ctx, req.connection!);
    expect(calls).toEqual(['close']);
  });

  it('shortens huge keys in messages', async () => {
    const { handler } = setup();
    const req = valid();
    req.connection!.labels = { ['x'.repeat(10_000)]: 1 as never };
    const err = await rejectionOf(handler.request(ctx, req));
    expect(err.message.length).toBeLessThan(400);
    expect(err.message).toContain('is a number: expected a string');
  });
});
