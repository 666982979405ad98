import { describe, expect, it } from 'vitest';
import { parseVfAlias } from './sriov.js';

describe('the mark of a VF in a pod', () => {
  it('names owner, connection and node name, and the PF and VF index when settings were made', () => {
    expect(parseVfAlias('nsm-vf:forwarder-node-1:c-1:ens1f0v2')).toEqual({
      owner: 'forwarder-node-1',
      connId: 'c-1',
      netdev: 'ens1f0v2',
    });
    expect(parseVfAlias('nsm-vf:forwarder-node-1:c-1:ens1f0v2:ens1f0#2')).toEqual({
      owner: 'forwarder-node-1',
      connId: 'c-1',
      netdev: 'ens1f0v2',
      pf: { netdev: 'ens1f0', index: 2 },
    });
  });

  it('is undefined for other aliases and broken marks', () => {
    for (const alias of [undefined, '', 'nsm:fwd:c-1', 'nsm-vf:', 'nsm-vf:fwd:c-1'])
      expect(parseVfAlias(alias)).toBeUndefined();
  });
});
