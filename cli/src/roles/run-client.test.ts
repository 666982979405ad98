import { describe, expect, it } from 'vitest';

import { newMechanism, type Connection } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import { withTap } from '@nsm-ts/sdk/elements';
import { tapAware } from './run-client.js';

const connWith = (mechanism: Connection['mechanism']): Connection => ({ id: 'c-1', mechanism }) as Connection;

describe('tapAware', () => {
  it("answers alive for a tap's connection without pinging, and asks the check for any other", async () => {
    const asked: string[] = [];
    const check = tapAware((_ctx, conn) => {
      asked.push(conn.mechanism?.parameters['name'] ?? '');
      return Promise.resolve(false);
    });
    const ctx = createContext();
    const kernel = newMechanism('KERNEL', 'LOCAL', { name: 'eth1' });
    expect(await check(ctx, connWith(withTap(newMechanism('KERNEL', 'LOCAL', { name: 'net0' }))))).toBe(true);
    expect(await check(ctx, connWith(kernel))).toBe(false);
    expect(await check(ctx, connWith(null))).toBe(false);
    expect(asked).toEqual(['eth1', '']);
  });
});
