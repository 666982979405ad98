import { describe, expect, it } from 'vitest';

import { formatAlias, parseAlias } from './alias.js';

describe('wire alias', () => {
  it('round-trips owner and connection id, ids with colons included', () => {
    const alias = formatAlias('forwarder-node1', 'a:b:c-123');
    expect(alias).toBe('nsm:forwarder-node1:a:b:c-123');
    expect(parseAlias(alias)).toEqual({ owner: 'forwarder-node1', connId: 'a:b:c-123' });
  });

  it('ignores aliases that are not ours', () => {
    for (const alias of [undefined, '', 'eth0 uplink', 'nsm:', 'nsm:owner', 'nsm:owner:', 'nsm::id']) {
      expect(parseAlias(alias)).toBeUndefined();
    }
  });

  it('rejects owners with a colon, empty ids and aliases too long for the kernel', () => {
    expect(() => formatAlias('a:b', 'id')).toThrow(/must be non-empty without ':'/);
    expect(() => formatAlias('fwd', '')).toThrow(/connection id is empty/);
    expect(() => formatAlias('fwd', 'x'.repeat(260))).toThrow(
      /too long for an interface alias \(255 bytes\)/,
    );
  });
});
