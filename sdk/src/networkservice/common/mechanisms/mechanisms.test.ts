import { describe, expect, it } from 'vitest';
import { newMechanism, newRequest } from '../../../api/builders.js';
import type { Connection, NetworkServiceRequest } from '../../../api/types.js';
import { element, toHandler, type NetworkServiceElement } from '../../../core/chain.js';
import { createContext } from '../../../core/context.js';
import { Code, NsmError } from '../../../core/errors.js';
import { kernelMechanism } from './kernel.js';
import { mechanisms } from './mechanisms.js';
import { noopMechanism } from './noop.js';
import { mechanismPreferences } from './preferences.js';
import { rejectionOf } from '../../../testing/errors.js';

const ctx = createContext();

/** A mechanism element that records what it saw, marks the mechanism, and may fail. */
function recorder(log: string[], name: string, fail?: NsmError): NetworkServiceElement {
  return {
    request(c, req, next) {
      log.push(`request:${name}`);
      if (fail) return Promise.reject(fail);
      req.connection!.mechanism!.parameters['by'] = name;
      req.connection!.labels['touched'] = name;
      return next.request(c, req);
    },
    close(c, conn, next) {
      log.push(`close:${name}`);
      return next.close(c, conn);
    },
  };
}

function setup(fail: { KERNEL?: NsmError; NOOP?: NsmError } = {}): {
  log: string[];
  handler: ReturnType<typeof toHandler>;
} {
  const log: string[] = [];
  const tailLog = element({
    close: (c, conn, next) => {
      log.push('close:tail');
      return next.close(c, conn);
    },
  });
  const handler = toHandler([
    mechanisms({ KERNEL: recorder(log, 'KERNEL', fail.KERNEL), NOOP: recorder(log, 'NOOP', fail.NOOP) }),
    tailLog,
  ]);
  return { log, handler };
}

describe('mechanisms', () => {
  it('takes the first preference this hop supports and sets a copy of it as the mechanism', async () => {
    const { log, handler } = setup();
    const prefs = [newMechanism('MEMIF', 'LOCAL'), kernelMechanism({ name: 'nsm-1' }), noopMechanism()];
    const conn = await handler.request(ctx, newRequest({ id: 'c' }, prefs));
    expect(conn.mechanism).toEqual({
      type: 'KERNEL',
      cls: 'LOCAL',
      parameters: { name: 'nsm-1', by: 'KERNEL' },
    });
    expect(prefs[1]!.parameters).toEqual({ name: 'nsm-1' }); // the offer itself is not mutated
    expect(log).toEqual(['request:KERNEL']);
  });

  it('falls back to the next supported preference when one fails, without leftovers of the failed one', async () => {
    const { log, handler } = setup({ KERNEL: new NsmError(Code.INTERNAL, 'no netns') });
    const req: NetworkServiceRequest = newRequest({ id: 'c' }, [kernelMechanism(), noopMechanism()]);
    const conn = await handler.request(ctx, req);
    expect(conn.mechanism?.type).toBe('NOOP');
    expect(conn.labels).toEqual({ touched: 'NOOP' });
    expect(log).toEqual(['request:KERNEL', 'request:NOOP']);
  });

  it('reports the failure of the only supported mechanism as is, and of several together', async () => {
    const one = setup({ KERNEL: new NsmError(Code.INTERNAL, 'no netns') });
    const single = await rejectionOf(one.handler.request(ctx, newRequest({ id: 'c' }, [kernelMechanism()])));
    expect(single.code).toBe(Code.INTERNAL);
    expect(single.message).toBe('no netns');

    const both = setup({
      KERNEL: new NsmError(Code.INTERNAL, 'no netns'),
      NOOP: new NsmError(Code.UNAVAILABLE, 'next hop down'),
    });
    const err = await rejectionOf(
      both.handler.request(ctx, newRequest({ id: 'c' }, [kernelMechanism(), noopMechanism()])),
    );
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.message).toBe('every supported mechanism failed: KERNEL: no netns; NOOP: next hop down');
  });

  it('keeps the mechanism of a refresh', async () => {
    const { log, handler } = setup();
    const req = newRequest({ id: 'c', mechanism: noopMechanism() }, [kernelMechanism()]);
    expect((await handler.request(ctx, req)).mechanism?.type).toBe('NOOP');
    expect(log).toEqual(['request:NOOP']);
  });

  it('rejects unsupported offers naming offered and supported types', async () => {
    const { log, handler } = setup();
    const err = await rejectionOf(
      handler.request(ctx, newRequest({ id: 'c' }, [newMechanism('MEMIF', 'LOCAL')])),
    );
    expect(err.code).toBe(Code.UNIMPLEMENTED);
    expect(err.message).toBe('no supported mechanism in [MEMIF]; this hop supports [KERNEL, NOOP]');
    expect(log).toEqual([]);
  });

  it('rejects a request without preferences and a refresh with an unsupported mechanism', async () => {
    const { handler } = setup();
    const none = await rejectionOf(handler.request(ctx, newRequest({ id: 'c' })));
    expect(none.code).toBe(Code.INVALID_ARGUMENT);
    expect(none.message).toContain('offers no mechanism_preferences');
    expect(none.message).toContain('[KERNEL, NOOP]');
    const wrong = await rejectionOf(
      handler.request(ctx, newRequest({ id: 'c', mechanism: newMechanism('VXLAN', 'REMOTE') })),
    );
    expect(wrong.code).toBe(Code.UNIMPLEMENTED);
    expect(wrong.message).toContain('mechanism VXLAN');
    const proto = await rejectionOf(
      handler.request(ctx, newRequest({ id: 'c' }, [newMechanism('constructor', 'LOCAL')])),
    );
    expect(proto.code).toBe(Code.UNIMPLEMENTED);
  });

  it('dispatches close on the connection mechanism and passes unknown ones through', async () => {
    const { log, handler } = setup();
    const conn = (m: Connection['mechanism']): Connection =>
      newRequest({ id: 'c', mechanism: m }).connection!;
    await handler.close(ctx, conn(noopMechanism()));
    await handler.close(ctx, conn(newMechanism('MEMIF', 'LOCAL')));
    await handler.close(ctx, conn(null));
    expect(log).toEqual(['close:NOOP', 'close:tail', 'close:tail', 'close:tail']);
  });
});

describe('mechanismPreferences', () => {
  it('offers its preferences only when the request has none', async () => {
    const seen: string[][] = [];
    const probe = element({
      request: (c, req, next) => {
        seen.push(req.mechanism_preferences.map((m) => m.type));
        return next.request(c, req);
      },
    });
    const handler = toHandler([mechanismPreferences([kernelMechanism(), noopMechanism()]), probe]);
    await handler.request(ctx, newRequest({ id: 'a' }));
    await handler.request(ctx, newRequest({ id: 'b' }, [newMechanism('MEMIF', 'LOCAL')]));
    expect(seen).toEqual([['KERNEL', 'NOOP'], ['MEMIF']]);
  });
});
