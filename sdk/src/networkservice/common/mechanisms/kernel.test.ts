import { describe, expect, it } from 'vitest';
import { newMechanism } from '../../../api/builders.js';
import { Code } from '../../../core/errors.js';
import {
  stableInterfaceName,
  generateInterfaceName,
  isKernel,
  kernelInterfaceName,
  kernelMechanism,
  kernelParameters,
  validateInterfaceName,
} from './kernel.js';
import { isNoop, noopMechanism } from './noop.js';
import { errorOf } from '../../../testing/errors.js';

describe('kernel mechanism', () => {
  it('generates 15-character names from up to 10 characters of the service', () => {
    const name = generateInterfaceName('icmp-responder');
    expect(name).toMatch(/^icmp-respo-[a-z0-9]{4}$/);
    expect(generateInterfaceName('db')).toMatch(/^db-[a-z0-9]{12}$/);
    expect(generateInterfaceName('a/b c:d')).toMatch(/^a-b-c-d-[a-z0-9]{7}$/);
    expect(generateInterfaceName('')).toMatch(/^nsm-[a-z0-9]{11}$/);
    expect(() => validateInterfaceName(name)).not.toThrow();
    expect(generateInterfaceName('svc', () => 0)).toBe('svc-aaaaaaaaaaa');
    expect(new Set(Array.from({ length: 20 }, () => generateInterfaceName('svc'))).size).toBeGreaterThan(1);
  });

  it.each([
    ['', /is 0 bytes long/],
    ['sixteen-chars-xx', /"sixteen-chars-xx" is 16 bytes long: expected 1\.\.15 bytes/],
    ['ééééééééé', /is 18 bytes long/],
    ['eth/0', /not a valid interface name/],
    ['eth 0', /not a valid interface name/],
    ['eth:0', /not a valid interface name/],
    ['.', /not a valid interface name/],
    ['..', /not a valid interface name/],
  ])('rejects the interface name %j', (name, message) => {
    const err = errorOf(() => validateInterfaceName(name));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(message);
    expect(err.message).toContain('KERNEL parameter "name"');
  });

  it('builds and reads typed parameters', () => {
    const m = kernelMechanism({
      name: 'nsm-1',
      inodeURL: 'file:///proc/42/ns/net',
      vlan: 100,
      supportsVlan: true,
    });
    expect(m).toEqual({
      type: 'KERNEL',
      cls: 'LOCAL',
      parameters: { name: 'nsm-1', inodeURL: 'file:///proc/42/ns/net', vlan: '100', supportsVlan: 'true' },
    });
    expect(isKernel(m)).toBe(true);
    expect(kernelParameters(m)).toEqual({
      name: 'nsm-1',
      inodeURL: 'file:///proc/42/ns/net',
      vlan: 100,
      supportsVlan: true,
    });
    expect(errorOf(() => kernelMechanism({ name: 'much-too-long-name' })).code).toBe(Code.INVALID_ARGUMENT);
    const bad = newMechanism('KERNEL', 'LOCAL', { vlan: 'x' });
    expect(errorOf(() => kernelParameters(bad)).message).toContain('KERNEL parameter "vlan" is "x"');
  });

  it('keeps a given interface name and stores a generated one so refreshes keep it', () => {
    expect(kernelInterfaceName(kernelMechanism({ name: 'given' }), 'svc')).toBe('given');
    const m = kernelMechanism();
    const first = kernelInterfaceName(m, 'secure-intranet');
    expect(first).toMatch(/^secure-int-[a-z0-9]{4}$/);
    expect(kernelInterfaceName(m, 'secure-intranet')).toBe(first);
    expect(
      errorOf(() => kernelInterfaceName(newMechanism('KERNEL', 'LOCAL', { name: 'a/b' }), 'svc')).code,
    ).toBe(Code.INVALID_ARGUMENT);
  });

  it('builds NOOP', () => {
    expect(noopMechanism()).toEqual({ type: 'NOOP', cls: 'LOCAL', parameters: {} });
    expect(isNoop(noopMechanism())).toBe(true);
    expect(isNoop(kernelMechanism())).toBe(false);
  });

  it('derives a generated name from the connection id: the same id, the same name', () => {
    const a = stableInterfaceName('kernel2ethernet2kernel', 'conn-1');
    expect(a).toMatch(/^kernel2eth-[a-z0-9]{4}$/);
    expect(stableInterfaceName('kernel2ethernet2kernel', 'conn-1')).toBe(a);
    const others = new Set(Array.from({ length: 50 }, (_, i) => stableInterfaceName('svc', `conn-${i}`)));
    expect(others.size).toBeGreaterThan(45);
  });
});
