/**
 * `nsm status --kubeconfig`: a cluster's mesh as the lab's tables show it. NetworkServices and NSEs
 * come from the registry's custom resources (read through the Kubernetes API, normalised as the
 * registry reads them); the managers are the pods of the nsmgr DaemonSet; the connections come from
 * each manager's monitor stream, dialled on its node's address with an identity of the trust domain
 * (an operator identity sees every connection, any other only its own).
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { firstValueFrom, take, timeout } from 'rxjs';
import type { Connection, NetworkService, NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import { createContext } from '@nsm-ts/sdk/core';
import { dial } from '@nsm-ts/sdk/grpc';
import type { Security } from '@nsm-ts/sdk/security';
import {
  GROUP,
  NS_RESOURCE,
  NSE_RESOURCE,
  VERSION,
  type CustomResource,
  type Resource,
} from '@nsm-ts/registry/k8s';

/** One manager of the cluster. */
export interface ManagerRow {
  pod: string;
  node: string;
  phase: string;
  url: string;
  /** Why its connections are not shown, when they are not. */
  error?: string;
}

/** One connection, as its client's manager sees it. */
export interface ConnectionRow {
  id: string;
  client: string;
  endpoint: string;
  service: string;
  mechanism: string;
  /** The managers on the path, the client's first. */
  managers: string[];
  state: string;
}

/** The cluster's mesh. */
export interface ClusterStatus {
  cluster: string;
  namespace: string;
  services: NetworkService[];
  endpoints: NetworkServiceEndpoint[];
  /** Records that are not what the registry would read, with why. */
  unreadable: string[];
  managers: ManagerRow[];
  connections: ConnectionRow[];
}

async function records<T>(
  api: CustomObjectsApi,
  namespace: string,
  resource: Resource<T>,
  unreadable: string[],
): Promise<T[]> {
  const list = (await api.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: resource.plural,
  })) as { items: CustomResource[] };
  return list.items.flatMap((cr) => {
    try {
      return [resource.fromCr(cr)];
    } catch (err) {
      unreadable.push((err as Error).message);
      return [];
    }
  });
}

async function managerConnections(url: string, security: Security): Promise<Connection[]> {
  const client = dial(url, {
    dialTimeoutMs: 2000,
    tokens: security.tokens,
    ...(security.identity ? { identity: security.identity } : {}),
  });
  try {
    const ctx = createContext({ deadline: Date.now() + 5000 });
    const event = await firstValueFrom(
      client.monitor(ctx, { path_segments: [], network_services: [] }).pipe(take(1), timeout(5000)),
    );
    return Object.values(event.connections);
  } finally {
    client.close();
  }
}

/** Reads the mesh of the cluster `kubeConfig` names. Usage: `await clusterStatus({ kubeConfig, namespace: 'nsm-system', managerPort: 5001, security })`. */
export async function clusterStatus(options: {
  kubeConfig: KubeConfig;
  namespace: string;
  managerPort: number;
  security: Security;
}): Promise<ClusterStatus> {
  const { kubeConfig, namespace } = options;
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const unreadable: string[] = [];
  const [services, endpoints, pods] = await Promise.all([
    records(custom, namespace, NS_RESOURCE, unreadable),
    records(custom, namespace, NSE_RESOURCE, unreadable),
    core.listNamespacedPod({ namespace, labelSelector: 'app=nsmgr' }),
  ]);
  const managers: ManagerRow[] = pods.items.map((p) => ({
    pod: p.metadata?.name ?? '',
    node: p.spec?.nodeName ?? '',
    phase: p.status?.phase ?? 'Unknown',
    url: p.status?.hostIP ? `tcp://${p.status.hostIP}:${options.managerPort}` : '',
  }));
  const connections: ConnectionRow[] = [];
  await Promise.all(
    managers.map(async (m) => {
      if (!m.url) {
        m.error = 'the pod has no host address yet';
        return;
      }
      if (!options.security.identity) {
        m.error = 'connections need mTLS: give --identity <dir> (an X.509-SVID of the trust domain)';
        return;
      }
      try {
        for (const conn of await managerConnections(m.url, options.security)) {
          // Each connection once: from the manager its client asked (the manager at path index 1).
          if (conn.path?.index !== 1) continue;
          const segments = conn.path.path_segments;
          connections.push({
            id: segments[0]?.id ?? conn.id,
            client: segments[0]?.name ?? '',
            endpoint: conn.network_service_endpoint_name,
            service: conn.network_service,
            mechanism: conn.mechanism?.type ?? '',
            managers: segments.map((s) => s.name).filter((n) => n.startsWith('nsmgr')),
            state: conn.state,
          });
        }
      } catch (err) {
        m.error = (err as Error).message;
      }
    }),
  );
  connections.sort((a, b) => a.client.localeCompare(b.client) || a.id.localeCompare(b.id));
  return {
    cluster: kubeConfig.getCurrentCluster()?.server ?? '',
    namespace,
    services,
    endpoints,
    unreadable,
    managers,
    connections,
  };
}
