/** The tables of `nsm status` and `nsm check`. */
import type { LinkCheck } from './lab/check.js';
import type { LabStatus } from './lab/inspect.js';
import { table } from './format.js';
import type { NetworkService, NetworkServiceEndpoint } from '@nsm-ts/sdk/api';
import type { ClusterStatus } from './cluster/status.js';

const since = (iso: string | undefined): string => {
  if (!iso) return '';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
};

const exitText = (e: { code: number | null; signal: string | null } | undefined): string =>
  !e ? '' : e.signal ? `killed by ${e.signal}` : `exit ${e.code ?? '?'}`;

/** The NETWORK SERVICE table. */
function servicesTable(services: readonly NetworkService[]): string {
  return table(
    ['NETWORK SERVICE', 'PAYLOAD', 'MATCHES'],
    services.map((s) => [s.name, s.payload, String(s.matches.length)]),
  );
}

/** The ENDPOINT table. */
function endpointsTable(endpoints: readonly NetworkServiceEndpoint[]): string {
  return table(
    ['ENDPOINT', 'SERVICES', 'URL', 'EXPIRES'],
    endpoints.map((e) => [
      e.name,
      e.network_service_names.join(','),
      e.url,
      e.expiration_time ? new Date(Number(e.expiration_time.seconds) * 1000).toISOString() : '',
    ]),
  );
}

/** `nsm status --kubeconfig`: a cluster's mesh, with the lab's tables where they apply. */
export function clusterStatusText(status: ClusterStatus): string {
  const parts: string[] = [`cluster ${status.cluster}, namespace ${status.namespace}\n`];
  for (const why of status.unreadable) parts.push(`warning: ${why}\n`);
  parts.push(
    table(
      ['MANAGER', 'NODE', 'PHASE', 'URL', 'CONNECTIONS'],
      status.managers.map((m) => [
        m.pod,
        m.node,
        m.phase,
        m.url,
        m.error ? `not shown: ${m.error}` : 'shown',
      ]),
    ),
    servicesTable(status.services),
    endpointsTable(status.endpoints),
    table(
      ['CLIENT', 'ENDPOINT', 'SERVICE', 'MECH', 'MANAGERS', 'STATE'],
      status.connections.map((c) => [
        c.client,
        c.endpoint,
        c.service,
        c.mechanism,
        c.managers.join('→'),
        c.state,
      ]),
    ),
  );
  return parts.join('\n') + '\n';
}

/** Every table of `nsm status`, as text. */
export function statusText(status: LabStatus): string {
  const parts: string[] = [];
  if (!status.supervisor.running)
    parts.push(
      `warning: the lab's supervisor is not running (${status.supervisor.error ?? 'no answer'}): states are its last report and nothing is restarted; "nsm down" removes the lab\n`,
    );
  if (status.registryError)
    parts.push(
      `warning: the registry cannot be read (${status.registryError}); endpoints and services are not shown\n`,
    );
  parts.push(
    table(
      ['COMPONENT', 'NODE', 'STATE', 'PID', 'RESTARTS', 'AGE', 'LAST EXIT', 'METRICS (IN ITS NETNS)'],
      status.components.map((c) => [
        c.name,
        c.node ?? '',
        c.state,
        c.pid === undefined ? '' : String(c.pid),
        String(c.restarts),
        c.state === 'running' ? since(c.startedAt) : '',
        c.lastExit ? `${exitText(c.lastExit)}, ${since(c.lastExit.at)} ago` : '',
        c.metrics?.url ?? '',
      ]),
    ),
  );
  parts.push(
    table(
      ['NODE', 'TUNNEL IP', 'NETNS'],
      status.nodes.map((n) => [n.name, n.tunnelIp, n.netns]),
    ),
  );
  parts.push(
    table(
      ['POD', 'NODE', 'ROLE', 'STATE', 'PID', 'RESTARTS', 'WAITING FOR'],
      status.pods.map((p) => [
        p.name,
        p.node,
        p.role,
        p.state,
        p.pid === undefined ? '' : String(p.pid),
        String(p.restarts),
        p.state === 'failed' && p.lastExit
          ? `${exitText(p.lastExit)}; see "nsm logs ${p.name}"`
          : p.pending.map((w) => (w.ifname ? `${w.service}/${w.ifname}: ${w.reason}` : w.reason)).join('; '),
      ]),
    ),
  );
  parts.push(servicesTable(status.services), endpointsTable(status.endpoints));
  parts.push(
    table(
      ['CLIENT', 'IF', 'ADDRESS', 'ENDPOINT', 'IF', 'ADDRESS', 'SERVICE', 'LABELS', 'MECH', 'WHERE', 'STATE'],
      status.links.map((l) => [
        l.client,
        l.clientInterface,
        l.clientIps.join(','),
        l.chain.join('→'),
        l.endpointMemif ? 'memif' : l.endpointInterface,
        l.endpointIps.join(','),
        l.service,
        Object.entries(l.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
        l.mechanism,
        l.locality === 'local' ? 'local' : `remote (${l.nodes.join('→')})`,
        l.reason ? `${l.state}: ${l.reason}` : l.state,
      ]),
    ),
  );
  const memifs = status.links.flatMap((l) => [
    ...(l.clientMemif ? [{ pod: l.client, m: l.clientMemif }] : []),
    ...(l.endpointMemif ? [{ pod: l.endpoint, m: l.endpointMemif }] : []),
  ]);
  if (memifs.length > 0)
    parts.push(
      table(
        ['MEMIF OF', 'NETNS', 'SOCKET', 'ROLE', 'LINK', 'ADDRESS', 'PINGS TO PEER'],
        memifs.map(({ pod, m }) => [
          pod,
          m.netns,
          m.socket,
          m.role,
          m.up ? 'up' : 'down',
          m.ip,
          `${m.probe.answered}/${m.probe.sent} answered (${m.peerIp})`,
        ]),
      ),
    );
  return parts.join('\n') + '\n';
}

/** The link table of `nsm check` and the main job. */
export function checkTable(results: LinkCheck[]): string {
  return table(
    ['CLIENT', 'IF', 'ADDRESS', '', 'ENDPOINT', 'IF', 'ADDRESS', 'WHERE', 'RESULT'],
    results.map((r) => [
      r.client,
      r.clientInterface,
      r.pairs.length > 1 ? r.pairs.map((p) => p.clientIp).join(',') : r.clientIp,
      '→',
      r.endpoint,
      r.endpointInterface,
      r.pairs.length > 1 ? r.pairs.map((p) => p.endpointIp).join(',') : r.endpointIp,
      r.locality,
      (r.ok ? 'ok' : `FAIL: ${r.problems.join('; ')}`) +
        (r.notes.length > 0 ? ` (${r.notes.join('; ')})` : ''),
    ]),
  );
}
