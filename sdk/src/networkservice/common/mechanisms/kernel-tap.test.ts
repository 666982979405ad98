import { describe, expect, it } from 'vitest';
import { newMechanism } from '../../../api/builders.js';
import { requestMechanisms } from '../../../client/create-client.js';
import { Code } from '../../../core/errors.js';
import { errorOf } from '../../../testing/errors.js';
import { kernelMechanism } from './kernel.js';
import { KERNEL_DEVICE_PARAMETER, tapOptions, tapProblem, withTap } from './kernel-tap.js';

describe('kernel mechanism: tap', () => {
  it('asks for a tap with its options and reads them back', () => {
    const m = withTap(kernelMechanism({ name: 'net0', inodeURL: 'file:///proc/7/ns/net' }), {
      multiQueue: true,
      owner: 107,
      group: 107,
    });
    expect(m.parameters).toEqual({
      name: 'net0',
      inodeURL: 'file:///proc/7/ns/net',
      nsm_kernel_device: 'tap',
      nsm_tap_multi_queue: 'true',
      nsm_tap_owner: '107',
      nsm_tap_group: '107',
    });
    expect(tapOptions(m)).toEqual({ multiQueue: true, owner: 107, group: 107 });
    expect(tapOptions(withTap(kernelMechanism()))).toEqual({ multiQueue: false });
    expect(tapOptions(kernelMechanism({ name: 'net0' }))).toBeUndefined();
  });

  it('replaces earlier tap options instead of merging them', () => {
    const first = withTap(kernelMechanism(), { owner: 1, multiQueue: true });
    expect(tapOptions(withTap(first, { group: 2 }))).toEqual({ multiQueue: false, group: 2 });
  });

  it.each([
    [{ nsm_kernel_device: 'veth' }, /nsm_kernel_device is "veth"; expected "tap"/],
    [{ nsm_tap_owner: '1' }, /nsm_tap_owner is given without nsm_kernel_device=tap/],
    [{ nsm_kernel_device: 'tap', tokenID: 't-1' }, /with an SR-IOV device \(tokenID\/pciAddress\)/],
    [{ nsm_kernel_device: 'tap', pciAddress: '0000:01:00.1' }, /with an SR-IOV device/],
    [
      { nsm_kernel_device: 'tap', nsm_tap_multi_queue: 'yes' },
      /nsm_tap_multi_queue is "yes"; expected true or false/,
    ],
    [
      { nsm_kernel_device: 'tap', nsm_tap_owner: '-1' },
      /nsm_tap_owner is "-1"; expected a numeric id 0..4294967294/,
    ],
    [{ nsm_kernel_device: 'tap', nsm_tap_group: '4294967295' }, /nsm_tap_group is "4294967295"/],
  ])('refuses the parameters %j', (params, message) => {
    expect(tapProblem(params)).toMatch(message);
    const err = errorOf(() => tapOptions(newMechanism('KERNEL', 'LOCAL', params)));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/^KERNEL parameter /);
  });

  it('refuses a tap on another mechanism, beside an SR-IOV token, or with a bad id', () => {
    expect(errorOf(() => withTap(newMechanism('MEMIF', 'LOCAL'))).message).toMatch(
      /a tap is a KERNEL interface; mechanism MEMIF/,
    );
    expect(errorOf(() => withTap(kernelMechanism({ tokenID: 'x' }))).code).toBe(Code.INVALID_ARGUMENT);
    expect(errorOf(() => withTap(kernelMechanism(), { owner: 1.5 })).message).toMatch(
      /nsm_tap_owner is "1.5"/,
    );
  });

  it('turns the client request option into the KERNEL preference', () => {
    const [kernel, noop] = requestMechanisms({
      mechanisms: ['KERNEL', 'NOOP'],
      interfaceName: 'net0',
      tap: true,
    });
    expect(kernel?.parameters).toMatchObject({ name: 'net0', [KERNEL_DEVICE_PARAMETER]: 'tap' });
    expect(kernel?.parameters['inodeURL']).toBe(`file:///proc/${process.pid}/ns/net`);
    expect(noop?.parameters).toEqual({});
    const [owned] = requestMechanisms({ tap: { owner: 107 } });
    expect(owned && tapOptions(owned)).toEqual({ multiQueue: false, owner: 107 });
    expect(requestMechanisms({})[0]?.parameters[KERNEL_DEVICE_PARAMETER]).toBeUndefined();
    expect(errorOf(() => requestMechanisms({ mechanisms: ['MEMIF'], tap: true })).message).toMatch(
      /a tap is asked for, but the mechanisms hold no KERNEL/,
    );
  });
});
