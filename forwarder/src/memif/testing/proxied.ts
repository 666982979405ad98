import { createMemifClient, createMemifProxy, createMemifServer } from '../index.js';
import { abstractName, type Closer } from './names.js';

/** A server behind a proxy; `plain`: interface 0 without a secret, as the python peer asks. */
export function proxied(
  closer: Closer,
  o: { listenNs?: string; connectNs?: string; plain?: boolean; handshakeMs?: number } = {},
) {
  const iface = o.plain ? { id: 0 } : { id: 3, secret: 's3' };
  const ep = abstractName('endpoint');
  const cl = abstractName('proxied');
  const srv = closer.add(
    createMemifServer({
      socket: ep,
      interfaces: [{ ...iface, name: 'nse0' }],
      ...(o.connectNs ? { netns: o.connectNs } : {}),
    }),
  );
  const proxy = closer.add(
    createMemifProxy({
      listen: { socket: cl, ...(o.listenNs ? { netns: o.listenNs } : {}) },
      connect: { socket: ep, ...(o.connectNs ? { netns: o.connectNs } : {}) },
      ...(o.handshakeMs ? { handshakeTimeoutMs: o.handshakeMs } : {}),
    }),
  );
  const client = (): ReturnType<typeof createMemifClient> =>
    closer.add(
      createMemifClient({
        socket: cl,
        ...iface,
        name: 'nsc0',
        reconnectMs: 30,
        ...(o.listenNs ? { netns: o.listenNs } : {}),
      }),
    );
  return { ep, cl, srv, s: srv.interface(iface.id), proxy, client };
}
