/**
 * The client role: requests each connection on its own (one that cannot be satisfied never holds up
 * the others), retrying until it is up as upstream's NSC does; keeps them (refresh and heal are the
 * SDK's) and reports in its status file what it holds right now, healing included.
 */
import { createClient, type ClientEvent } from '@nsm-ts/sdk';
import type { Identity } from '@nsm-ts/sdk/security';
import type { Connection } from '@nsm-ts/sdk/api';
import type { Logger } from '@nsm-ts/sdk/core';
import type { Tracer } from '@nsm-ts/sdk/tracing';
import { backoffDelay } from '@nsm-ts/sdk/tools';
import {
  type DataPlaneMonitor,
  KERNEL_DEVICE_PARAMETER,
  type LivenessCheck,
  TAP_DEVICE,
} from '@nsm-ts/sdk/elements';
import { openMemifOf } from '@nsm-ts/forwarder/memif';
import type { ClientRequest } from '../manifests/client-url.js';
import { memifAddresses, type MemifSides } from './memif-side.js';
import type { PodStatus, RequestStatus } from './status-file.js';

function holding(status: RequestStatus, conn: Connection): void {
  Object.assign(status, {
    state: 'up',
    connectionId: conn.id,
    endpoint: conn.network_service_endpoint_name,
    srcIps: conn.context?.ip_context?.src_ip_addrs ?? [],
    dstIps: conn.context?.ip_context?.dst_ip_addrs ?? [],
    connection: conn,
  });
  delete status.error;
}

/**
 * `check` for every connection but a tap's, which is alive as long as the control plane says so: its
 * addresses are the guest's, and the pod has nothing to ping from (a VM that is not running would
 * otherwise make heal rebuild the tap over and over).
 */
export function tapAware(check: LivenessCheck): LivenessCheck {
  return (ctx, conn) =>
    conn.mechanism?.parameters[KERNEL_DEVICE_PARAMETER] === TAP_DEVICE
      ? Promise.resolve(true)
      : check(ctx, conn);
}

/** The requests of a running client. */
export interface RunningClient {
  /** Closes every connection and the client. */
  stop(): Promise<void>;
  /** Leaves every connection as it is (for a process handing them to another, as an init container does). */
  abandon(): void;
}

/** Starts the requests in the background. */
export function runClient(options: {
  log: Logger;
  managerUrl: string;
  pod: string;
  requests: ClientRequest[];
  status: PodStatus;
  save: () => void;
  livenessCheck?: LivenessCheck;
  dataPlane?: DataPlaneMonitor;
  /** The pod's X.509-SVID (none in an insecure lab). */
  identity?: Identity | undefined;
  /** Where a MEMIF connection's memif is answered and probed (the lab's roles); none: not opened. */
  memif?: MemifSides;
  /**
   * What an earlier process of the pod held (the init container's status): a connection of the same
   * service and interface is taken over by a refresh, keeping its interface, instead of made anew.
   */
  resume?: RequestStatus[];
  /** Also told of every client event (the heal metrics, when NSM_METRICS_ADDR is set). */
  onEvent?: (event: ClientEvent) => void;
  /** Traces every request, refresh, heal and close (when NSM_TRACE_FILE or an OTLP endpoint is set). */
  tracer?: Tracer;
}): RunningClient {
  const statuses: RequestStatus[] = options.requests.map((r) => ({ ...r, state: 'pending', attempts: 0 }));
  options.status.requests = statuses;
  const byConnection = (id: string): RequestStatus | undefined => statuses.find((s) => s.connectionId === id);
  /** A MEMIF connection's memif, opened in this pod on the socket its forwarder named. */
  const openMemif = (conn: Connection): void => {
    const socket = conn.mechanism?.parameters['socketfile'];
    if (!options.memif || conn.mechanism?.type !== 'MEMIF' || !socket) return;
    const addrs = memifAddresses(conn, 'client');
    if (!addrs) {
      options.log.warn({ connId: conn.id }, 'memif connection without an IPv4 address pair: not probed');
      return;
    }
    options.memif.attach(conn.id, {
      socket,
      role: 'client',
      ...addrs,
      open: () => {
        const iface = openMemifOf(conn);
        return { iface, release: () => iface.close() };
      },
    });
  };
  const hold = (status: RequestStatus, conn: Connection): void => {
    holding(status, conn);
    openMemif(conn);
  };
  const onEvent = (event: ClientEvent): void => {
    options.onEvent?.(event);
    const status = byConnection(event.conn.id);
    if (!status) return;
    if (event.type === 'up' || event.type === 'healed') hold(status, event.conn);
    else if (event.type === 'lost') {
      status.state = 'healing';
      status.healFailures = 0;
      status.error = `connection lost (${event.reason}); healing`;
    } else {
      status.healFailures = (status.healFailures ?? 0) + 1;
      status.error = `healing (${event.how}, attempt ${event.attempt}): ${event.error}`;
    }
    options.save();
  };
  const client = createClient({
    name: options.pod,
    managerUrl: options.managerUrl,
    log: options.log,
    onEvent,
    ...(options.livenessCheck ? { livenessCheck: options.livenessCheck } : {}),
    ...(options.dataPlane ? { dataPlane: options.dataPlane } : {}),
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.tracer ? { tracer: options.tracer } : {}),
  });
  let stopped = false;

  /** Requests `request`'s connection (resuming one an earlier process held, when given). */
  const ask = (request: ClientRequest, resume?: Connection): Promise<Connection> =>
    client.request({
      networkService: request.service,
      labels: request.labels,
      mechanisms: [request.mechanism],
      interfaceName: request.ifname,
      ...(request.tap ? { tap: true } : {}),
      ...(resume ? { resume } : {}),
    });

  /** Takes over the connection an earlier process held for `request`; false when there is none or it is gone. */
  const takeOver = async (request: ClientRequest, status: RequestStatus): Promise<boolean> => {
    const held = options.resume?.find(
      (r) => r.service === request.service && r.ifname === request.ifname && r.state === 'up' && r.connection,
    );
    if (!held?.connection) return false;
    try {
      // Under its id and path, with this process's namespace in its mechanism (the earlier
      // process's namespace file is gone with it) and the preferences a later reselect needs.
      const conn = await ask(request, held.connection);
      hold(status, client.current(conn.id) ?? conn);
      options.log.info(
        { service: request.service, ifname: request.ifname, connId: conn.id, endpoint: status.endpoint },
        'connection taken over from the previous process of the pod',
      );
      return true;
    } catch (err) {
      options.log.warn(
        { service: request.service, ifname: request.ifname, connId: held.connection.id, err: String(err) },
        'cannot take the connection over; requesting it anew',
      );
      return false;
    }
  };

  const connect = async (request: ClientRequest, status: RequestStatus): Promise<void> => {
    if (await takeOver(request, status)) {
      options.save();
      return;
    }
    while (!stopped && status.state === 'pending') {
      status.attempts++;
      try {
        const conn = await ask(request);
        hold(status, client.current(conn.id) ?? conn);
        options.log.info(
          { service: request.service, ifname: request.ifname, endpoint: status.endpoint },
          'connected',
        );
      } catch (err) {
        status.error = err instanceof Error ? err.message : String(err);
        const level = status.attempts === 1 || status.attempts % 10 === 0 ? 'warn' : 'debug';
        options.log[level](
          { service: request.service, ifname: request.ifname, attempt: status.attempts, err: status.error },
          'request failed; retrying',
        );
        options.save();
        // Until it is up, as heal does once it is: quick retries first, then every 2 s at most.
        await new Promise((r) =>
          setTimeout(r, backoffDelay(status.attempts, { initialMs: 200, maxMs: 2000 })),
        );
      }
      options.save();
    }
  };
  for (const [i, request] of options.requests.entries()) void connect(request, statuses[i]!);
  return {
    stop: async () => {
      stopped = true;
      await client.shutdown();
      options.memif?.detachAll();
    },
    abandon: () => {
      stopped = true;
      client.abandon();
    },
  };
}
