import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Code } from '../core/errors.js';
import { rejectionOf } from '../testing/errors.js';
import { createEndpoint } from './create-endpoint.js';

describe('createEndpoint: address pools', () => {
  it.each([
    ['127.0.0.0/8', 'prefix "127.0.0.0/8" lies in the loopback range 127.0.0.0/8; expected a unicast prefix'],
    [['10.60.1.0/24', 'ff00::/8'], 'prefix "ff00::/8" lies in the multicast range ff00::/8; expected'],
    ['10.60.1.7/32', 'prefix "10.60.1.7/32" holds a single address; expected /31 or shorter'],
    ['0.0.0.0/0', 'prefix "0.0.0.0/0" is the default route'],
  ])('refuses %j with INVALID_ARGUMENT before it listens or registers', async (cidrPrefix, message) => {
    const name = `bad-pool-${process.pid}`;
    const err = await rejectionOf(
      createEndpoint({
        name,
        serviceNames: ['svc'],
        cidrPrefix,
        // Nothing may be dialled: the prefix is refused first.
        managerUrl: 'unix:///nonexistent/nsm.io.sock',
        passthrough: {},
      }),
    );
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toContain(message);
    expect(existsSync(join(tmpdir(), `nsm-${name}-${process.pid}.sock`))).toBe(false);
  });
});
