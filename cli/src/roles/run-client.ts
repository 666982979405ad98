/**
 * The client role: requests each connection in order, retrying until it is up (as upstream's NSC
 * does), keeps them (refresh and heal are the SDK's), reports progress in its status file.
 */
import { createClient } from '../../../sdk/src/client/create-client.js';
import type { Logger } from '../../../sdk/src/core/log.js';
import type { DataPlaneMonitor, LivenessCheck } from '../../../sdk/src/networkservice/common/heal/heal.js';
import type { ClientRequest } from '../manifests/client-url.js';
import type { PodStatus, RequestStatus } from './status-file.js';

/** Starts the requests in the background; returns the stop function (closes every connection). */
export function runClient(options: {
  log: Logger;
  managerUrl: string;
  pod: string;
  requests: ClientRequest[];
  status: PodStatus;
  save: () => void;
  livenessCheck?: LivenessCheck;
  dataPlane?: DataPlaneMonitor;
}): () => Promise<void> {
  const client = createClient({
    name: options.pod,
    managerUrl: options.managerUrl,
    log: options.log,
    ...(options.livenessCheck ? { livenessCheck: options.livenessCheck } : {}),
    ...(options.dataPlane ? { dataPlane: options.dataPlane } : {}),
  });
  let stopped = false;
  const statuses: RequestStatus[] = options.requests.map((r) => ({ ...r, state: 'pending', attempts: 0 }));
  options.status.requests = statuses;

  const connectAll = async (): Promise<void> => {
    for (const [i, request] of options.requests.entries()) {
      const status = statuses[i]!;
      while (!stopped && status.state !== 'up') {
        status.attempts++;
        try {
          const conn = await client.request({
            networkService: request.service,
            labels: request.labels,
            mechanisms: ['KERNEL'],
            interfaceName: request.ifname,
          });
          Object.assign(status, {
            state: 'up',
            connectionId: conn.id,
            endpoint: conn.network_service_endpoint_name,
            srcIps: conn.context?.ip_context?.src_ip_addrs ?? [],
            dstIps: conn.context?.ip_context?.dst_ip_addrs ?? [],
          });
          delete status.error;
          options.log.info(
            { service: request.service, ifname: request.ifname, endpoint: status.endpoint },
            'connected',
          );
        } catch (err) {
          status.error = err instanceof Error ? err.message : String(err);
          options.log.warn(
            { service: request.service, ifname: request.ifname, attempt: status.attempts, err: status.error },
            'request failed; retrying',
          );
          options.save();
          await new Promise((r) => setTimeout(r, 1000));
        }
        options.save();
      }
    }
  };
  void connectAll();
  return async () => {
    stopped = true;
    await client.shutdown();
  };
}
