import { describe, expect, it } from 'vitest';
import { newConnection, newRequest } from '../../../api/builders.js';
import { element, toHandler } from '../../../core/chain.js';
import { createContext } from '../../../core/context.js';
import { clientUrl, clientUrlOf, withClientUrl } from './clienturl.js';

describe('clienturl', () => {
  it('is undefined until set, and set by withClientUrl', () => {
    const ctx = createContext();
    expect(clientUrlOf(ctx)).toBeUndefined();
    expect(clientUrlOf(withClientUrl(ctx, 'tcp://10.0.0.1:5001'))).toBe('tcp://10.0.0.1:5001');
    expect(clientUrlOf(ctx)).toBeUndefined();
  });

  it('clientUrl(url) sets it for request and close', async () => {
    const seen: (string | undefined)[] = [];
    const spy = element({
      request: (ctx, req, next) => (seen.push(clientUrlOf(ctx)), next.request(ctx, req)),
      close: (ctx, conn, next) => (seen.push(clientUrlOf(ctx)), next.close(ctx, conn)),
    });
    const handler = toHandler([clientUrl('unix:///run/nsm.sock'), spy]);
    const ctx = createContext();
    await handler.request(ctx, newRequest({ id: 'c1' }));
    await handler.close(ctx, newConnection({ id: 'c1' }));
    expect(seen).toEqual(['unix:///run/nsm.sock', 'unix:///run/nsm.sock']);
  });
});
