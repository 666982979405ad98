/**
 * memif for a CNF in the mesh: a client opens the memif its forwarder serves for a connection, and an
 * endpoint serves one memif per connection and names it in its MEMIF mechanism, so that the
 * forwarder joins it to the client (directly for a memif client, through its packet loop for a
 * kernel client or another node).
 */
import type { Connection } from '@nsm-ts/sdk/api';
import { Code, NsmError, invalidArgument, metadataSlot, type NetworkServiceElement } from '@nsm-ts/sdk/core';
import { createMemifClient, createMemifServer, type MemifClient, type MemifServer } from './endpoint.js';
import type { MemifInterface } from './interface.js';
import type { MemifClientOptions } from './endpoint.js';

/** The mechanism parameter naming a memif socket, as upstream. */
const SOCKETFILE = 'socketfile';

/**
 * Opens the memif of a connection a client holds: a memif client of the socket the forwarder named
 * in the connection's MEMIF mechanism (an abstract socket in this pod's namespace). It reconnects on
 * its own when the forwarder restarts. Throws INVALID_ARGUMENT for a connection that is not MEMIF.
 * Usage: `const conn = await client.request({ networkService: 's', mechanisms: ['MEMIF'] });
 * const memif = openMemifOf(conn); await memif.waitUp(); memif.send(frames)`.
 */
export function openMemifOf(conn: Connection, options: Omit<MemifClientOptions, 'socket'> = {}): MemifClient {
  const mech = conn.mechanism;
  if (mech?.type !== 'MEMIF')
    throw invalidArgument(
      `connection ${conn.id} has mechanism ${mech?.type ?? 'none'}: expected MEMIF (request it with mechanisms: ['MEMIF'])`,
    );
  const socket = mech.parameters[SOCKETFILE];
  if (!socket)
    throw invalidArgument(
      `connection ${conn.id}'s MEMIF mechanism has no ${SOCKETFILE}: expected the socket its forwarder serves`,
    );
  return createMemifClient({ ...options, socket });
}

/** Options of {@link memifEndpoint}. */
export interface MemifEndpointOptions {
  /**
   * Called once per connection, when it is first answered (its addresses are in `conn.context`),
   * with the memif that serves it; what it returns is called when the connection closes.
   */
  onConnection?: (conn: Connection, memif: MemifInterface) => (() => void) | void;
  /** The socket of a connection (default `@nsm/<connection id>/memif.socket`); abstract: `@` first. */
  socketOf?: (connId: string) => string;
  /** This pod's network namespace as the forwarder reaches it (default `file:///proc/<pid>/ns/net`). */
  inodeURL?: string;
}

interface Served {
  server: MemifServer;
  done?: () => void;
}

const kServed = metadataSlot<Served>('memif.endpoint', 'server');

/** The default socket of an endpoint's connection. */
export function endpointSocketOf(connId: string): string {
  return `@nsm/${connId}/memif.socket`;
}

/**
 * The endpoint's side of a MEMIF mechanism: a memif server per connection on an abstract socket in
 * this pod's namespace, named in the answer (`socketfile`, `inodeURL`). A refresh keeps it; close
 * calls what `onConnection` returned and closes the server.
 * Usage: `createEndpoint({ ..., mechanisms: { MEMIF: memifEndpoint({ onConnection: (conn, memif) => ... }) } })`.
 */
export function memifEndpoint(options: MemifEndpointOptions = {}): NetworkServiceElement {
  const socketOf = options.socketOf ?? endpointSocketOf;
  const inodeURL = options.inodeURL ?? `file:///proc/${process.pid}/ns/net`;
  const release = (served: Served | undefined): void => {
    served?.done?.();
    served?.server.close();
  };
  return {
    async request(ctx, req, next) {
      const conn = req.connection;
      if (!conn?.mechanism) throw invalidArgument('MEMIF request without connection.mechanism');
      let served = kServed.get(ctx);
      const fresh = served === undefined;
      if (!served) {
        const socket = socketOf(conn.id);
        if (!socket.startsWith('@'))
          throw invalidArgument(
            `memif endpoint socket "${socket}": expected an abstract socket (@name), which the forwarder reaches in this pod's namespace`,
          );
        try {
          served = { server: createMemifServer({ socket }) };
        } catch (err) {
          throw NsmError.from(err, Code.INTERNAL);
        }
        kServed.set(ctx, served);
      }
      const mechanism = {
        ...conn.mechanism,
        parameters: { ...conn.mechanism.parameters, [SOCKETFILE]: served.server.socket, inodeURL },
      };
      try {
        const result = await next.request(ctx, { ...req, connection: { ...conn, mechanism } });
        if (fresh) {
          const done = options.onConnection?.(result, served.server.interface(0));
          if (done) served.done = done;
        }
        return result;
      } catch (err) {
        if (fresh) {
          kServed.delete(ctx);
          release(served);
        }
        throw err;
      }
    },
    async close(ctx, conn, next) {
      const served = kServed.get(ctx);
      kServed.delete(ctx);
      release(served);
      await next.close(ctx, conn);
    },
  };
}
